package mockserver

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cambmock/cambmock"
)

// kind is a kind of task of the spec, and what serving it needs.
type kind struct {
	*cambmock.Kind
	index uint8
	// resultKinds and bulkKinds are the kinds whose runs the result and
	// bulk operations serve: this one, and those their also-kinds name.
	resultKinds []uint8
	bulkKinds   []uint8
	// audioType is the content type of the result's audio answer ("" when
	// it has none); resultJSON the schema of its JSON answer (nil when it
	// has none).
	audioType  string
	resultJSON *openapi3.Schema
	bulkEntry  *openapi3.Schema
	createOK   *openapi3.Schema // the create answer's schema
	// urls counts the uri-format strings of a JSON result: with one, it is
	// the run's own audio file.
	resultURLs, bulkURLs int
	// itemsField names a list the create request and the JSON result both
	// hold at their top (translation's texts): the result holds as many
	// items as the request sent.
	itemsField string
}

func (s *Server) loadKinds() error {
	specKinds := s.spec.Kinds()
	if len(specKinds) > math.MaxUint8 {
		return fmt.Errorf("mockserver: the spec declares %d kinds of task; cambmock serves at most %d", len(specKinds), math.MaxUint8)
	}
	byName := map[string]uint8{}
	for i, sk := range specKinds {
		byName[sk.Name] = uint8(i)
	}
	var errs []string
	for i, sk := range specKinds {
		k := &kind{Kind: sk, index: uint8(i)}
		for _, op := range sk.Operations() {
			if !simplePath(op.Path) {
				errs = append(errs, fmt.Sprintf("%s %s (%s): cambmock serves paths of the form /NAME or /NAME/{param}", op.Method, op.Path, op.ID))
			}
		}
		k.createOK = sk.Create.JSONSchema(http.StatusOK)
		if k.createOK == nil {
			errs = append(errs, fmt.Sprintf("%s: the create operation's 200 answer has no JSON schema; cambmock answers it with the new task's id", sk.Create.ID))
		}
		if op := sk.Result; op != nil {
			k.resultKinds = kindsOf(sk.Name, op.AlsoKinds, byName)
			if ref := op.Op.Responses.Status(http.StatusOK); ref != nil && ref.Value != nil {
				k.audioType = audioTypeOf(ref.Value.Content)
			}
			k.resultJSON = op.JSONSchema(http.StatusOK)
			if k.audioType == "" && k.resultJSON == nil {
				errs = append(errs, fmt.Sprintf("%s: the result operation's 200 answer is neither audio/* nor application/json; cambmock cannot build it", op.ID))
			}
			k.resultURLs = countURLs(k.resultJSON)
		}
		if k.resultJSON != nil {
			k.itemsField = sharedList(sk.Create, k.resultJSON)
		}
		if op := sk.Bulk; op != nil {
			k.bulkKinds = kindsOf(sk.Name, op.AlsoKinds, byName)
			if sch := op.JSONSchema(http.StatusOK); sch != nil && sch.AdditionalProperties.Schema != nil {
				k.bulkEntry = sch.AdditionalProperties.Schema.Value
				k.bulkURLs = countURLs(k.bulkEntry)
			} else {
				errs = append(errs, fmt.Sprintf("%s: the bulk operation's 200 answer is not a JSON object whose additionalProperties give each run's entry", op.ID))
			}
		}
		s.kinds = append(s.kinds, k)
	}
	if len(errs) > 0 {
		return fmt.Errorf("mockserver: the spec cannot be served:\n  %s", strings.Join(errs, "\n  "))
	}
	// Every generated answer must conform: a spec whose schemas the
	// generator cannot satisfy is refused here, not answered off-spec.
	// For the embedded spec this package's tests check it instead
	// (TestGeneratedAnswersConform), so that a start-up spends nothing on it.
	if s.spec.Embedded() {
		return nil
	}
	return s.checkGenerated()
}

// checkGenerated validates the answers the generator builds for each kind
// (the create answer, the JSON result, the bulk entry) against the spec.
func (s *Server) checkGenerated() error {
	for _, k := range s.kinds {
		checks := []struct {
			op     *cambmock.Operation
			schema *openapi3.Schema
			urls   int
			bulk   bool
		}{{k.Create, k.createOK, 0, false}}
		if k.Result != nil && k.resultJSON != nil {
			checks = append(checks, struct {
				op     *cambmock.Operation
				schema *openapi3.Schema
				urls   int
				bulk   bool
			}{k.Result, k.resultJSON, k.resultURLs, false})
		}
		if k.Bulk != nil && k.bulkEntry != nil {
			checks = append(checks, struct {
				op     *cambmock.Operation
				schema *openapi3.Schema
				urls   int
				bulk   bool
			}{k.Bulk, k.bulkEntry, k.bulkURLs, true})
		}
		for _, c := range checks {
			g := generator{task: "2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1e", run: 100001, base: "http://127.0.0.1:8080", single: c.urls == 1, s: s}
			var body []byte
			if c.bulk {
				body = g.bulk([]int64{100001}, c.schema)
			} else {
				body = g.json(c.schema)
			}
			req, _ := http.NewRequest(c.op.Method, c.op.URL("1"), nil)
			if err := s.spec.ValidateResponse(context.Background(), req, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body); err != nil {
				return fmt.Errorf("mockserver: kind %s: the answer cambmock builds for %s from the spec's schema and examples does not conform to it: %v; give the schema examples that conform", k.Name, c.op.ID, err)
			}
		}
	}
	return nil
}

// audioTypeOf returns the media type a result's audio is served with: a
// WAV type if the answer declares one, since the mock's audio is always
// WAV, else the first audio/* type in sorted order; "" if none. (tts's
// result declares audio/flac, as camb.ai documents, and audio/wav.)
func audioTypeOf(content openapi3.Content) string {
	var audio []string
	for ct := range content {
		if strings.HasPrefix(ct, "audio/") {
			audio = append(audio, ct)
		}
	}
	sort.Strings(audio)
	for _, ct := range audio {
		switch ct {
		case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
			return ct
		}
	}
	if len(audio) > 0 {
		return audio[0]
	}
	return ""
}

// sharedList returns the first (by name) top-level array property that the
// create operation's request body and the result schema both have, or "".
func sharedList(create *cambmock.Operation, result *openapi3.Schema) string {
	if create.Op.RequestBody == nil || create.Op.RequestBody.Value == nil {
		return ""
	}
	var names []string
	for _, mt := range create.Op.RequestBody.Value.Content {
		if mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		for n, p := range mt.Schema.Value.Properties {
			r := result.Properties[n]
			if p.Value != nil && p.Value.Type.Is("array") && r != nil && r.Value != nil && r.Value.Type.Is("array") {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func kindsOf(own string, also []string, byName map[string]uint8) []uint8 {
	out := []uint8{byName[own]}
	for _, a := range also {
		out = append(out, byName[a])
	}
	return out
}

func simplePath(p string) bool {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch len(segs) {
	case 1:
		return segs[0] != "" && !strings.Contains(segs[0], "{")
	case 2:
		return segs[0] != "" && !strings.Contains(segs[0], "{") && strings.HasPrefix(segs[1], "{") && strings.HasSuffix(segs[1], "}")
	}
	return false
}

// kindByName returns the server's kind with the given name.
func (s *Server) kindByName(name string) (*kind, error) {
	for _, k := range s.kinds {
		if k.Name == name {
			return k, nil
		}
	}
	var names []string
	for _, k := range s.kinds {
		names = append(names, k.Name)
	}
	return nil, fmt.Errorf("%w %q; the spec declares %s", ErrUnknownKind, name, strings.Join(names, ", "))
}

// generator builds the JSON answers of a run from the spec's schemas:
// each property from its example, default or first enum value, the ids of
// the task and run where the schema names task_id or run_id, and every
// uri-format string a URL of a file the mock serves for the run.
type generator struct {
	s      *Server
	task   string
	run    int64
	base   string // scheme and host of the request
	single bool   // the answer holds one URL: the run's own audio
	// items, for the list named itemsField at the top of the answer, is
	// how many items it holds; 0 leaves it to the schema.
	itemsField string
	items      int
}

func (g *generator) json(schema *openapi3.Schema) []byte {
	b, _ := marshalJSON(g.value(schema, ""))
	return b
}

// bulk builds a bulk answer: an entry per run.
func (g *generator) bulk(runs []int64, entry *openapi3.Schema) []byte {
	out := make(map[string]any, len(runs))
	for _, run := range runs {
		gg := *g
		gg.run = run
		out[strconv.FormatInt(run, 10)] = gg.value(entry, "")
	}
	b, _ := marshalJSON(out)
	return b
}

func (g *generator) fileURL(name string) string {
	if g.single {
		name = ""
	}
	return g.s.fileURL(g.base, g.run, name)
}

func (g *generator) value(s *openapi3.Schema, path string) any {
	if s == nil {
		return nil
	}
	if len(s.AllOf) > 0 {
		merged := map[string]any{}
		for _, ref := range s.AllOf {
			if m, ok := g.value(ref.Value, path).(map[string]any); ok {
				for k, v := range m {
					merged[k] = v
				}
			}
		}
		return merged
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 {
			// The first alternative that is not null.
			for _, ref := range alts {
				if ref.Value != nil && !ref.Value.Type.Is("null") {
					return g.value(ref.Value, path)
				}
			}
		}
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		out := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := s.Properties[n].Value
			switch {
			case n == "task_id" && p != nil && p.Type.Is("string"):
				out[n] = g.task
			case n == "run_id" && p != nil && p.Type.Is("integer"):
				out[n] = g.run
			case path == "" && n == g.itemsField && g.items > 0 && p != nil:
				one := g.value(p, path+"/"+n)
				list, _ := one.([]any)
				var item any
				if len(list) > 0 {
					item = list[0]
				}
				items := make([]any, g.items)
				for i := range items {
					items[i] = item
				}
				out[n] = items
			default:
				out[n] = g.value(p, path+"/"+n)
			}
		}
		return out
	case s.Type.Is("array"):
		if arr, ok := s.Example.([]any); ok && (s.Items == nil || s.Items.Value == nil || s.Items.Value.Format != "uri") {
			return arr
		}
		var item any
		if s.Items != nil {
			item = g.value(s.Items.Value, path+"/0")
		}
		out := []any{item}
		for n := uint64(1); n < s.MinItems; n++ {
			out = append(out, item)
		}
		return out
	case s.Type.Is("string"):
		if s.Format == "uri" {
			return g.fileURL(strings.ReplaceAll(strings.Trim(path, "/"), "/", "-"))
		}
		for _, v := range []any{s.Example, s.Default} {
			if str, ok := v.(string); ok {
				return str
			}
		}
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		return strings.Repeat("x", max(int(s.MinLength), 1))
	case s.Type.Is("integer"), s.Type.Is("number"):
		for _, v := range []any{s.Example, s.Default} {
			if v != nil {
				return v
			}
		}
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		if s.Min != nil {
			return *s.Min
		}
		return 0
	case s.Type.Is("boolean"):
		if b, ok := s.Example.(bool); ok {
			return b
		}
		if b, ok := s.Default.(bool); ok {
			return b
		}
		return false
	}
	if s.Example != nil {
		return s.Example
	}
	return nil
}

// countURLs counts the uri-format strings a value of schema holds (an
// array's items count once).
func countURLs(s *openapi3.Schema) int {
	seen := map[*openapi3.Schema]bool{}
	var count func(s *openapi3.Schema) int
	count = func(s *openapi3.Schema) int {
		if s == nil || seen[s] {
			return 0
		}
		seen[s] = true
		defer delete(seen, s)
		n := 0
		if s.Type.Is("string") && s.Format == "uri" {
			return 1
		}
		for _, p := range s.Properties {
			n += count(p.Value)
		}
		if s.Items != nil {
			n += count(s.Items.Value)
		}
		for _, refs := range []openapi3.SchemaRefs{s.AllOf} {
			for _, r := range refs {
				n += count(r.Value)
			}
		}
		for _, refs := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
			if len(refs) > 0 {
				n += count(refs[0].Value)
			}
		}
		return n
	}
	return count(s)
}

// fileURL is where a run's audio can be downloaded without a key; name
// tells apart the files of a result that holds several.
func (s *Server) fileURL(base string, run int64, name string) string {
	if name == "" {
		return fmt.Sprintf("%s/__files/%d.wav?token=%s", base, run, s.fileToken(run, ""))
	}
	return fmt.Sprintf("%s/__files/%d/%s.wav?token=%s", base, run, name, s.fileToken(run, name))
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return scheme + "://" + host
}

func containsKind(list []uint8, k uint8) bool { return slices.Contains(list, k) }
