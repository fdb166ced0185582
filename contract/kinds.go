package contract

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/internal/media"
)

// What the suite checks of each kind of task, read from the spec.

// kindPlan is what the spec says of one kind of task that the suite
// needs: the operations that serve its runs and how their answers look.
type kindPlan struct {
	kind *cambmock.Kind
	// results are the result operations that serve its runs: its own,
	// then those whose also-kinds name it, by operationId.
	results []*resultOp
	// bulk is its bulk operation, else the first whose also-kinds name it;
	// nil when there is none.
	bulk *cambmock.Operation
	// bulkURLs are where a bulk entry holds URLs (see uriPaths).
	bulkURLs []string
	// isDefault is true for the spec's default kind, whose results keep
	// the check names as IDs.
	isDefault bool
}

// resultOp is a result operation and the answers it declares.
type resultOp struct {
	op *cambmock.Operation
	// audio is the first audio/* type of its 200 answer, "" when it
	// declares none; jsonSchema the schema of its JSON answer, nil when
	// it declares none.
	audio      string
	jsonSchema *openapi3.Schema
	urls       []string // where the JSON answer holds URLs (see uriPaths)
}

// jsonQuery is the query that asks the operation for its JSON answer:
// json-when's when it also answers audio (whose query is none), else none.
func (r *resultOp) jsonQuery() map[string]string {
	if r.audio == "" {
		return nil
	}
	return r.op.JSONWhen
}

// hasJSON reports whether the JSON answer can be asked for.
func (r *resultOp) hasJSON() bool {
	return r.jsonSchema != nil && (r.audio == "" || len(r.op.JSONWhen) > 0)
}

func newKindPlan(spec *cambmock.Spec, k *cambmock.Kind) *kindPlan {
	p := &kindPlan{kind: k, isDefault: spec.DefaultKind() != nil && spec.DefaultKind().Name == k.Name}
	var others []*cambmock.Operation
	for _, other := range spec.Kinds() {
		for _, op := range []*cambmock.Operation{other.Result, other.Bulk} {
			if op != nil && other.Name != k.Name && slices.Contains(op.AlsoKinds, k.Name) {
				others = append(others, op)
			}
		}
	}
	slices.SortFunc(others, func(a, b *cambmock.Operation) int { return strings.Compare(a.ID, b.ID) })
	if k.Result != nil {
		p.results = append(p.results, newResultOp(k.Result))
	}
	p.bulk = k.Bulk
	for _, op := range others {
		switch {
		case op.Role == cambmock.RoleResult:
			p.results = append(p.results, newResultOp(op))
		case op.Role == cambmock.RoleBulk && p.bulk == nil:
			p.bulk = op
		}
	}
	if p.bulk != nil {
		if s := p.bulk.JSONSchema(http.StatusOK); s != nil && s.AdditionalProperties.Schema != nil {
			p.bulkURLs = uriPaths(s.AdditionalProperties.Schema.Value)
		}
	}
	return p
}

func newResultOp(op *cambmock.Operation) *resultOp {
	r := &resultOp{op: op, jsonSchema: op.JSONSchema(http.StatusOK)}
	if ref := op.Op.Responses.Status(http.StatusOK); ref != nil && ref.Value != nil {
		var types []string
		for ct := range ref.Value.Content {
			if strings.HasPrefix(ct, "audio/") {
				types = append(types, ct)
			}
		}
		// A WAV first: it is what the suite can check best.
		slices.SortFunc(types, func(a, b string) int {
			if media.IsWAV(a) != media.IsWAV(b) {
				if media.IsWAV(a) {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		if len(types) > 0 {
			r.audio = types[0]
		}
	}
	if r.jsonSchema != nil {
		r.urls = uriPaths(r.jsonSchema)
	}
	return r
}

// id is the ID of the kind's result of check.
func (p *kindPlan) id(check string) string {
	if p.isDefault {
		return check
	}
	return p.kind.Name + "/" + check
}

// unknownRunOp is the result operation the unknown-run check asks.
func (p *kindPlan) unknownRunOp() *cambmock.Operation {
	if len(p.results) == 0 {
		return nil
	}
	return p.results[0].op
}

// opNames lists operations' ids for a message, such as
// "getTtsResult and getTranslationResult".
func opNames(ops []*resultOp) string {
	var names []string
	for _, r := range ops {
		names = append(names, r.op.ID)
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// purpose is what check does for this kind. The default kind's purposes
// are the checks' own; another kind's name its own operations.
func (p *kindPlan) purpose(c Check) string {
	if p.isDefault {
		return c.Purpose
	}
	switch c.Name {
	case CheckResultAudio:
		var audio []string
		for _, r := range p.results {
			if r.audio != "" {
				audio = append(audio, r.op.ID)
			}
		}
		if len(audio) == 0 {
			return "an audio result is what its Content-Type says (openapi.yaml declares none for " + p.kind.Name + ")"
		}
		what := "the audio result of " + strings.Join(audio, " and ") + " is what its Content-Type says: for audio/wav a well-formed WAV"
		if al := p.kind.Create.AudioLength; al != nil && al.Field != "" {
			what += fmt.Sprintf(" whose length matches the requested %s within 0.1 s", al.Field)
		}
		return what
	case CheckResultFileURL:
		var parts []string
		for _, r := range p.results {
			if !r.hasJSON() {
				continue
			}
			q := ""
			for _, k := range sortedKeys(r.jsonQuery()) {
				q = fmt.Sprintf(" (%s=%s)", k, r.jsonQuery()[k])
			}
			parts = append(parts, r.op.ID+q)
		}
		if len(parts) == 0 {
			return "every URL of a JSON result downloads without the key and serves what its Content-Type says (openapi.yaml declares no JSON result for " + p.kind.Name + ")"
		}
		return "every URL in the JSON result of " + strings.Join(parts, " and ") + " downloads without the key and serves what its Content-Type says"
	case CheckBulkAnswers:
		if p.bulk == nil {
			return "the bulk endpoint answers for the run id with its entry (openapi.yaml declares none for " + p.kind.Name + ")"
		}
		return p.bulk.ID + " answers for the run id with its entry, each of its URLs an http(s) URL"
	}
	return c.Purpose
}

// A Creation is a task [Verify] creates when [Target.AllowSpend] is set.
type Creation struct {
	Kind      string  // the kind of task, such as "tts"
	Operation string  // the create operation's operationId
	Tasks     int     // how many tasks of the kind: 1
	Seconds   float64 // the audio length the request asks for; 0 when it cannot say
	AudioType string  // the request's audio_type, such as "sound"; "" when it has none
	Upload    float64 // the seconds of the WAV uploaded as the file part; 0 for none
}

// String describes the creation as --allow-spend announces it, such as
// "1 text-to-sound task (2s of sound)".
func (c Creation) String() string {
	tasks := "task"
	if c.Tasks != 1 {
		tasks = "tasks"
	}
	s := fmt.Sprintf("%d %s %s", c.Tasks, c.Kind, tasks)
	var notes []string
	if c.Seconds > 0 {
		what := "audio"
		if c.AudioType != "" {
			what = c.AudioType
		}
		notes = append(notes, fmt.Sprintf("%ss of %s", strconv.FormatFloat(c.Seconds, 'f', -1, 64), what))
	}
	if c.Upload > 0 {
		notes = append(notes, fmt.Sprintf("uploading a %ss WAV", strconv.FormatFloat(c.Upload, 'f', -1, 64)))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// Plan returns the tasks [Verify] creates for tg, one per kind checked, in
// the order it checks them: none without tg.AllowSpend. The error is
// Verify's for the same Target when it cannot run.
func Plan(tg Target) ([]Creation, error) {
	if err := tg.validate(); err != nil {
		return nil, err
	}
	spec, err := tg.spec()
	if err != nil {
		return nil, err
	}
	kinds, err := tg.kinds(spec)
	if err != nil {
		return nil, err
	}
	if _, err := tg.taskIDs(spec, kinds); err != nil {
		return nil, err
	}
	if !tg.AllowSpend {
		return nil, nil
	}
	var out []Creation
	for _, k := range kinds {
		c := Creation{Kind: k.Name, Operation: k.Create.ID, Tasks: 1}
		pl, err := createBody(k.Create, tg.duration(), tg.Prompt)
		if err == nil {
			c.Seconds = requestedSeconds(k.Create, pl)
			c.AudioType, _ = pl.fields["audio_type"].(string)
			c.Upload = pl.upload
		}
		out = append(out, c)
	}
	return out, nil
}

// requestedSeconds is the audio length a create request asks for, where
// its kind's audio-length names the field that says it; 0 otherwise.
func requestedSeconds(op *cambmock.Operation, pl *payload) float64 {
	al := op.AudioLength
	if al == nil || al.Field == "" {
		return 0
	}
	if _, ok := pl.fields[al.Field]; !ok {
		return 0
	}
	secs, _, fixed := al.Seconds(pl.fields)
	if fixed {
		return 0
	}
	return secs
}

// duration is the audio length the suite asks for.
func (tg *Target) duration() float64 {
	if tg.Duration == 0 {
		return 2
	}
	return tg.Duration
}

// spec returns the spec tg checks against.
func (tg *Target) spec() (*cambmock.Spec, error) {
	if tg.Spec != nil {
		return tg.Spec, nil
	}
	spec, err := cambmock.LoadSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTarget, err)
	}
	return spec, nil
}
