package contract

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/cambmock/cambmock"
)

// Request bodies built from the spec: the create body of each kind, the
// invalid one the read-only 422 check sends, and the bulk body.

// payload is a request body: its bytes, its Content-Type, and the fields
// it holds (for a form, its text parts), from which the audio length is
// read.
type payload struct {
	contentType string
	data        []byte
	fields      map[string]any
	upload      float64 // the seconds of the WAV uploaded as a file part; 0 for none
}

func jsonPayload(v map[string]any) *payload {
	b, _ := json.Marshal(v)
	return &payload{contentType: "application/json", data: b, fields: v}
}

// The media types a create body can be sent as, in the order the suite
// prefers them.
const (
	mediaJSON      = "application/json"
	mediaMultipart = "multipart/form-data"
	mediaForm      = "application/x-www-form-urlencoded"
)

// bodySchema returns the media type and schema of op's request body: JSON
// if the operation takes it, else a multipart form, else a URL-encoded
// form; "" and nil when it takes no body the suite can build.
func bodySchema(op *cambmock.Operation) (string, *openapi3.Schema) {
	if op == nil || op.Op.RequestBody == nil || op.Op.RequestBody.Value == nil {
		return "", nil
	}
	for _, media := range []string{mediaJSON, mediaMultipart, mediaForm} {
		if mt := op.Op.RequestBody.Value.Content.Get(media); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			return media, mt.Schema.Value
		}
	}
	return "", nil
}

// uploadSeconds is the length of the WAV the suite uploads where a create
// takes a file: long enough to be a sound, small enough to cost nothing
// to send.
const uploadSeconds = 0.5

// createBody builds the body of a create request of kind: every required
// field from the schema's example, default or first enum value (else from
// the request body's own example, else one built from its type); prompt,
// if not empty, in a required string field named prompt or text; the
// audio length field set to duration; each field an audio-length case
// looks at set to its default, so the case that applies is explicit; and,
// for a form with a file part, a tiny generated WAV.
func createBody(op *cambmock.Operation, duration float64, prompt string) (*payload, error) {
	media, schema := bodySchema(op)
	if schema == nil {
		return nil, fmt.Errorf("%s takes no JSON or form body the suite can build", op.ID)
	}
	props := properties(schema)
	whole := bodyExample(op, media)
	fields := map[string]any{}
	for _, name := range required(schema) {
		p := props[name]
		if p == nil || isBinary(p) {
			continue
		}
		v := sample(p, 0)
		if ev, ok := whole[name]; ok && !hasOwnValue(p) {
			v = ev
		}
		if prompt != "" && (name == "prompt" || name == "text") && p.Type.Is("string") {
			v = prompt
		}
		fields[name] = v
	}
	if al := op.AudioLength; al != nil {
		if al.Field != "" {
			fields[al.Field] = duration
		}
		for _, c := range al.Cases {
			for _, k := range sortedKeys(c.When) {
				if _, ok := fields[k]; !ok && props[k] != nil && props[k].Default != nil {
					fields[k] = props[k].Default
				}
			}
		}
	}
	switch media {
	case mediaJSON:
		return jsonPayload(fields), nil
	case mediaMultipart:
		file := fileField(schema)
		pl, err := multipartPayload(fields, file)
		if err != nil {
			return nil, err
		}
		if file != "" {
			pl.upload = uploadSeconds
		}
		return pl, nil
	default:
		return formPayload(fields), nil
	}
}

// bodyExample returns the example of op's request body of media type
// media, as an object: its example, else the first of its examples by
// name; nil if it has none.
func bodyExample(op *cambmock.Operation, media string) map[string]any {
	mt := op.Op.RequestBody.Value.Content.Get(media)
	if mt == nil {
		return nil
	}
	if m, ok := mt.Example.(map[string]any); ok {
		return m
	}
	for _, name := range sortedKeys(mt.Examples) {
		if ref := mt.Examples[name]; ref != nil && ref.Value != nil {
			if m, ok := ref.Value.Value.(map[string]any); ok {
				return m
			}
		}
	}
	return nil
}

// hasOwnValue reports whether a schema gives a value of its own: an
// example, a default or an enum.
func hasOwnValue(s *openapi3.Schema) bool {
	return s.Example != nil || s.Default != nil || len(s.Enum) > 0
}

// invalidBody is a create body no API can make a task of, and the fields
// whose fault it is: its required fields left out; for a JSON body, the
// audio length given as a string; for a body with no required field, a
// number field given as a string. It is nil when the schema allows every
// body.
func invalidBody(op *cambmock.Operation) (pl *payload, atFault []string) {
	media, schema := bodySchema(op)
	if schema == nil {
		return nil, nil
	}
	props := properties(schema)
	fields := map[string]any{}
	atFault = slices.Clone(required(schema))
	mistype := ""
	if al := op.AudioLength; al != nil && al.Field != "" && media == mediaJSON {
		mistype = al.Field
	}
	if mistype == "" && len(atFault) == 0 {
		for _, name := range sortedKeys(props) {
			if p := props[name]; p.Type.Is("integer") || p.Type.Is("number") {
				mistype = name
				break
			}
		}
	}
	if mistype != "" {
		fields[mistype] = "not-a-number"
		atFault = append(atFault, mistype)
	}
	if len(atFault) == 0 {
		return nil, nil
	}
	switch media {
	case mediaJSON:
		return jsonPayload(fields), atFault
	case mediaMultipart:
		pl, _ := multipartPayload(fields, "")
		return pl, atFault
	default:
		return formPayload(fields), atFault
	}
}

// bulkBody is the body of a bulk request for runs: the one array of
// integers its schema requires (run_ids in camb.ai's API).
func bulkBody(op *cambmock.Operation, runs []int64) *payload {
	name := "run_ids"
	if _, schema := bodySchema(op); schema != nil {
		props := properties(schema)
		for _, n := range append(required(schema), sortedKeys(props)...) {
			if p := props[n]; p != nil && p.Type.Is("array") && p.Items != nil && p.Items.Value != nil && p.Items.Value.Type.Is("integer") {
				name = n
				break
			}
		}
	}
	return jsonPayload(map[string]any{name: runs})
}

// conforms checks a body the suite built against op's request schema, so
// that a spec whose examples do not satisfy it is told apart from a
// target that refuses a good request.
func conforms(spec *cambmock.Spec, op *cambmock.Operation, pl *payload) error {
	req, _ := http.NewRequest(op.Method, op.URL("x"), bytes.NewReader(pl.data))
	req.Header.Set("Content-Type", pl.contentType)
	in, err := spec.Route(req)
	if err != nil {
		return err
	}
	in.Options.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s", strings.Join(cambmock.Problems(err), "; "))
	}
	return nil
}

// properties returns a schema's properties, those of its allOf parts
// included.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	for _, ref := range s.AllOf {
		if ref.Value != nil {
			for k, v := range properties(ref.Value) {
				out[k] = v
			}
		}
	}
	for k, ref := range s.Properties {
		if ref != nil && ref.Value != nil {
			out[k] = ref.Value
		}
	}
	return out
}

// required returns the properties a schema (and its allOf parts) requires,
// sorted.
func required(s *openapi3.Schema) []string {
	out := slices.Clone(s.Required)
	for _, ref := range s.AllOf {
		if ref.Value != nil {
			out = append(out, required(ref.Value)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isBinary(s *openapi3.Schema) bool { return s.Type.Is("string") && s.Format == "binary" }

// fileField returns the form's file part: its first binary property not
// deprecated, preferring a required one; "" if it has none.
func fileField(s *openapi3.Schema) string {
	props := properties(s)
	var best string
	for _, name := range sortedKeys(props) {
		p := props[name]
		if !isBinary(p) || p.Deprecated {
			continue
		}
		if slices.Contains(required(s), name) {
			return name
		}
		if best == "" {
			best = name
		}
	}
	return best
}

// sample returns a value for schema s: its example, default or first enum
// value, else one built from its type (an object of its required
// properties, an array of one item).
func sample(s *openapi3.Schema, depth int) any {
	if s == nil || depth > 8 {
		return nil
	}
	for _, v := range []any{s.Example, s.Default} {
		if v != nil {
			return v
		}
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, ref := range s.AllOf {
			if m, ok := sample(ref.Value, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		for _, ref := range alts {
			if ref.Value != nil && !ref.Value.Type.Is("null") {
				return sample(ref.Value, depth+1)
			}
		}
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		out := map[string]any{}
		props := properties(s)
		for _, name := range required(s) {
			out[name] = sample(props[name], depth+1)
		}
		return out
	case s.Type.Is("array"):
		var items *openapi3.Schema
		if s.Items != nil {
			items = s.Items.Value
		}
		out := []any{sample(items, depth+1)}
		for uint64(len(out)) < s.MinItems {
			out = append(out, out[0])
		}
		return out
	case s.Type.Is("string"):
		switch s.Format {
		case "uri", "url":
			return "https://example.org/cambmock-contract-check"
		case "email":
			return "contract-check@example.org"
		}
		return strings.Repeat("x", max(int(s.MinLength), 1))
	case s.Type.Is("integer"), s.Type.Is("number"):
		if s.Min != nil {
			if s.ExclusiveMin.IsTrue() {
				return math.Floor(*s.Min) + 1
			}
			return *s.Min
		}
		return 1
	case s.Type.Is("boolean"):
		return false
	}
	return nil
}

// formText writes a form field's value as text.
func formText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func formPayload(fields map[string]any) *payload {
	var parts []string
	for _, k := range sortedKeys(fields) {
		parts = append(parts, urlEscape(k)+"="+urlEscape(formText(fields[k])))
	}
	return &payload{contentType: mediaForm, data: []byte(strings.Join(parts, "&")), fields: fields}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// multipartPayload writes fields as text parts and, if file is not "", a
// generated WAV as the file part of that name.
func multipartPayload(fields map[string]any, file string) (*payload, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range sortedKeys(fields) {
		if err := w.WriteField(k, formText(fields[k])); err != nil {
			return nil, err
		}
	}
	if file != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="cambmock-contract-check.wav"`, file))
		h.Set("Content-Type", "audio/wav")
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := part.Write(toneWAV(uploadSeconds)); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &payload{contentType: w.FormDataContentType(), data: b.Bytes(), fields: fields}, nil
}

// toneWAV is a WAV of a soft 440 Hz tone: 8 kHz, 16-bit, mono.
func toneWAV(seconds float64) []byte {
	const rate = 8000
	n := int(seconds * rate)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := range n {
		binary.Write(&b, binary.LittleEndian, int16(3000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}

// uriPaths returns where a value of schema s holds format: uri strings,
// as JSON pointer-like paths ("/file_url", "/previews/*"), sorted.
func uriPaths(s *openapi3.Schema) []string {
	var out []string
	var walk func(s *openapi3.Schema, path string, depth int)
	walk = func(s *openapi3.Schema, path string, depth int) {
		if s == nil || depth > 8 {
			return
		}
		if s.Type.Is("string") && (s.Format == "uri" || s.Format == "url") {
			out = append(out, path)
			return
		}
		for _, ref := range s.AllOf {
			walk(ref.Value, path, depth+1)
		}
		for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
			for _, ref := range alts {
				walk(ref.Value, path, depth+1)
			}
		}
		for name, ref := range s.Properties {
			walk(ref.Value, path+"/"+name, depth+1)
		}
		if s.Items != nil {
			walk(s.Items.Value, path+"/*", depth+1)
		}
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema.Value, path+"/*", depth+1)
		}
	}
	walk(s, "", 0)
	sort.Strings(out)
	return slices.Compact(out)
}

// located is a value found at a path of a JSON document.
type located struct {
	path  string // the concrete path, such as "/previews/0"
	value any
}

// lookup returns the values at a uriPaths path in v: "*" stands for every
// element of an array or every member of an object. A path v does not
// hold gives nothing.
func lookup(v any, path string) []located {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if path == "" {
		segs = nil
	}
	var out []located
	var walk func(v any, at string, segs []string)
	walk = func(v any, at string, segs []string) {
		if len(segs) == 0 {
			out = append(out, located{at, v})
			return
		}
		switch v := v.(type) {
		case map[string]any:
			if segs[0] == "*" {
				for _, k := range sortedKeys(v) {
					walk(v[k], at+"/"+k, segs[1:])
				}
			} else if e, ok := v[segs[0]]; ok {
				walk(e, at+"/"+segs[0], segs[1:])
			}
		case []any:
			if segs[0] == "*" {
				for i, e := range v {
					walk(e, at+"/"+strconv.Itoa(i), segs[1:])
				}
			}
		}
	}
	walk(v, "", segs)
	return out
}
