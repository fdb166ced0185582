package cambmock_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
)

func loadSpec(t *testing.T) *cambmock.Spec {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestSpecValidates checks the document with kin-openapi, examples included.
func TestSpecValidates(t *testing.T) {
	spec := loadSpec(t)
	if err := spec.Doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	if got := spec.Doc.OpenAPI; got != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", got)
	}
}

// TestEveryExampleValidates checks each example of each response against
// its schema, one by one, so that a bad example is named.
func TestEveryExampleValidates(t *testing.T) {
	spec := loadSpec(t)
	n := 0
	for path, item := range spec.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				for ct, mt := range ref.Value.Content {
					if mt.Schema == nil {
						continue
					}
					check := func(name string, v any) {
						n++
						if err := mt.Schema.Value.VisitJSON(v); err != nil {
							t.Errorf("%s %s %s %s example %s: %v", method, path, code, ct, name, err)
						}
					}
					if mt.Example != nil {
						check("example", mt.Example)
					}
					for name, ex := range mt.Examples {
						check(name, ex.Value.Value)
					}
				}
			}
		}
	}
	if n < 300 {
		t.Errorf("checked %d examples; openapi.yaml has more", n)
	}
}

// TestStatusExamples: the status endpoint shows an example for every status.
func TestStatusExamples(t *testing.T) {
	spec := loadSpec(t)
	mt := spec.Doc.Paths.Value("/text-to-sound/{task_id}").Get.Responses.Status(200).Value.Content.Get("application/json")
	var got []cambmock.Status
	for _, ex := range mt.Examples {
		got = append(got, cambmock.Status(ex.Value.Value.(map[string]any)["status"].(string)))
	}
	for _, s := range cambmock.Statuses() {
		if !slices.Contains(got, s) {
			t.Errorf("no example of status %s", s)
		}
	}
}

// TestRouterReachesEveryOperation finds each operation through the router,
// by a path relative to the base URL, on any host.
func TestRouterReachesEveryOperation(t *testing.T) {
	spec := loadSpec(t)
	tests := []struct{ method, url, want string }{
		{"POST", "/text-to-sound", "createTextToSound"},
		{"GET", "/text-to-sound/2f1c6b0e", "getTextToSoundStatus"},
		{"GET", "http://127.0.0.1:41234/text-to-sound/abc?run_id=3", "getTextToSoundStatus"},
		{"GET", "https://client.camb.ai/text-to-sound-result/123?output_type=FILE_URL", "getTextToSoundResult"},
		{"POST", "/text-to-sound-results", "getTextToSoundResults"},
		{"POST", "/tts?run_id=1", "createTts"},
		{"GET", "/tts/2f1c6b0e", "getTtsStatus"},
		{"GET", "/tts-result/123?output_type=file_url", "getTtsResult"},
		{"POST", "/tts-results", "getTtsResults"},
		{"POST", "/text-to-voice", "createTextToVoice"},
		{"GET", "/text-to-voice/2f1c6b0e", "getTextToVoiceStatus"},
		{"GET", "/text-to-voice-result/123", "getTextToVoiceResult"},
		{"POST", "/audio-separation", "createAudioSeparation"},
		{"GET", "/audio-separation/2f1c6b0e", "getAudioSeparationStatus"},
		{"GET", "/audio-separation-result/123", "getAudioSeparationResult"},
		{"POST", "/audio-separation-results", "getAudioSeparationResults"},
		{"POST", "/dub", "createDub"},
		{"GET", "/dub/2f1c6b0e", "getDubStatus"},
		{"GET", "/dub-result/123", "getDubResult"},
		{"POST", "/dubbing-results", "getDubResults"},
		{"POST", "/transcribe", "createTranscription"},
		{"GET", "/transcribe/2f1c6b0e", "getTranscriptionStatus"},
		{"GET", "/transcription-result/123?word_level_timestamps=true", "getTranscriptionResult"},
		{"POST", "/transcription-results", "getTranscriptionResults"},
		{"POST", "/translate", "createTranslation"},
		{"GET", "/translate/2f1c6b0e", "getTranslationStatus"},
		{"GET", "/translation-result/123", "getTranslationResult"},
		{"POST", "/translation-results", "getTranslationResults"},
		{"POST", "/translated-tts", "createTranslatedTts"},
		{"GET", "https://client.camb.ai/translated-tts/2f1c6b0e", "getTranslatedTtsStatus"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, tt.url, nil)
		in, err := spec.Route(req)
		if err != nil {
			t.Errorf("Route(%s %s): %v", tt.method, tt.url, err)
			continue
		}
		if got := in.Route.Operation.OperationID; got != tt.want {
			t.Errorf("Route(%s %s) = %s, want %s", tt.method, tt.url, got, tt.want)
		}
		seen[tt.want] = true
	}
	var all []string
	for _, item := range spec.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			all = append(all, op.OperationID)
		}
	}
	for _, id := range all {
		if !seen[id] {
			t.Errorf("operation %s is not reached by this test", id)
		}
	}
	for _, tt := range []struct {
		method, url string
		want        error
	}{
		{"DELETE", "/text-to-sound/x", routers.ErrMethodNotAllowed},
		{"GET", "/apis/text-to-sound/x", routers.ErrPathNotFound},
		{"GET", "/translated-tts-result/123", routers.ErrPathNotFound},
		{"GET", "/dubbing-results", routers.ErrMethodNotAllowed},
		{"POST", "/translation", routers.ErrPathNotFound},
	} {
		req, _ := http.NewRequest(tt.method, tt.url, nil)
		if _, err := spec.Route(req); !errors.Is(err, tt.want) {
			t.Errorf("Route(%s %s) = %v, want %v", tt.method, tt.url, err, tt.want)
		}
	}
}

// TestEnumsMatchSpec keeps the Go constants and openapi.yaml in step.
func TestEnumsMatchSpec(t *testing.T) {
	spec := loadSpec(t)
	enum := func(name string) []string {
		var out []string
		for _, v := range spec.Doc.Components.Schemas[name].Value.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	var statuses, reasons []string
	for _, s := range cambmock.Statuses() {
		statuses = append(statuses, string(s))
	}
	for _, r := range cambmock.ExceptionReasons() {
		reasons = append(reasons, string(r))
	}
	if diff := cmp.Diff(enum("TaskStatus"), statuses); diff != "" {
		t.Errorf("Statuses() mismatch with TaskStatus (-spec +Go):\n%s", diff)
	}
	if diff := cmp.Diff(enum("ExceptionReason"), reasons); diff != "" {
		t.Errorf("ExceptionReasons() mismatch with ExceptionReason (-spec +Go):\n%s", diff)
	}
	if cambmock.StatusFailed.Known() || !cambmock.StatusFailed.Terminal() || cambmock.StatusPending.Terminal() {
		t.Error("FAILED must be unknown and terminal; PENDING not terminal")
	}
}

func wav() []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+4))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(4))
	b.Write([]byte{0, 1, 0, 0xff})
	return b.Bytes()
}

// TestValidateResponse shows what ValidateResponse accepts and how it
// words what it does not. The audio is declared audio/wav with
// format: binary: kin-openapi decodes it as raw bytes, with no body decoder
// registered for audio/wav (openapi3filter registers none, and cambmock
// registers nothing process-wide).
func TestValidateResponse(t *testing.T) {
	spec := loadSpec(t)
	jsonH := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		method string
		path   string
		code   int
		header http.Header
		body   string
		want   []string
	}{
		{name: "pending", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"PENDING","run_id":null,"exception_reason":null,"message":null}`},
		{name: "extra field allowed", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"SUCCESS","run_id":1,"progress":100}`},
		{name: "unlisted reason allowed", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"ERROR","exception_reason":"GPU_QUOTA_EXCEEDED","message":{"code":7}}`},
		{name: "FAILED", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"FAILED"}`,
			want: []string{`body /status: value is not one of the allowed values ["SUCCESS","PENDING","TIMEOUT","ERROR","PAYMENT_REQUIRED"]`}},
		{name: "run_id string", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"SUCCESS","run_id":"1"}`,
			want: []string{"body /run_id: value must be an integer"}},
		{name: "no status", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"run_id":1}`,
			want: []string{`body /status: property "status" is missing`}},
		{name: "not JSON", method: "GET", path: "/text-to-sound/x", code: 200, header: jsonH,
			body: `{"status":"SUC`,
			want: []string{"body: cannot be decoded: unexpected EOF"}},
		{name: "undeclared code", method: "GET", path: "/text-to-sound/x", code: 418, header: jsonH, body: `{"detail":"x"}`,
			want: []string{"status 418 is not declared for this operation"}},
		{name: "429 without Retry-After", method: "GET", path: "/text-to-sound/x", code: 429, header: jsonH, body: `{"detail":"slow down"}`,
			want: []string{`header "Retry-After" missing`}},
		{name: "429 with Retry-After", method: "GET", path: "/text-to-sound/x", code: 429,
			header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"2"}}, body: `{"detail":"slow down"}`},
		{name: "HTML 502 declared", method: "GET", path: "/text-to-sound/x", code: 502,
			header: http.Header{"Content-Type": {"text/html"}}, body: `<html>502</html>`},
		{name: "HTML 500 not declared", method: "GET", path: "/text-to-sound/x", code: 500,
			header: http.Header{"Content-Type": {"text/html"}}, body: `<html>500</html>`,
			want: []string{`header Content-Type has unexpected value: "text/html"`}},
		{name: "WAV", method: "GET", path: "/text-to-sound-result/1", code: 200,
			header: http.Header{"Content-Type": {"audio/wav"}}, body: string(wav())},
		{name: "file URL", method: "GET", path: "/text-to-sound-result/1", code: 200, header: jsonH,
			body: `{"file_url":"https://storage.example.org/1.wav"}`},
		{name: "output_url instead of file_url", method: "GET", path: "/text-to-sound-result/1", code: 200, header: jsonH,
			body: `{"output_url":"https://storage.example.org/1.wav"}`,
			want: []string{`body /file_url: property "file_url" is missing`}},
		{name: "MP3 not declared", method: "GET", path: "/text-to-sound-result/1", code: 200,
			header: http.Header{"Content-Type": {"audio/mpeg"}}, body: "ID3",
			want: []string{`header Content-Type has unexpected value: "audio/mpeg"`}},
		{name: "tts FLAC", method: "GET", path: "/tts-result/1", code: 200,
			header: http.Header{"Content-Type": {"audio/flac"}}, body: "fLaC"},
		{name: "tts WAV", method: "GET", path: "/tts-result/1?output_type=raw_bytes", code: 200,
			header: http.Header{"Content-Type": {"audio/wav"}}, body: string(wav())},
		{name: "tts file URL is output_url", method: "GET", path: "/tts-result/1?output_type=file_url", code: 200, header: jsonH,
			body: `{"file_url":"https://storage.example.org/1.flac"}`,
			want: []string{`body /output_url: property "output_url" is missing`}},
		{name: "tts status is the shared status", method: "GET", path: "/tts/x", code: 200, header: jsonH,
			body: `{"status":"TIMEOUT","exception_reason":"INTERNAL_ERROR"}`},
		{name: "audio-separation bare status string", method: "GET", path: "/audio-separation/x", code: 200, header: jsonH,
			body: `"SUCCESS"`,
			want: []string{"body: value must be an object"}},
		{name: "dub single result", method: "GET", path: "/dub-result/1", code: 200, header: jsonH,
			body: `{"audio_url":"https://s.example.org/a.mp3","video_url":null,"transcript":[{"start":0,"end":1.5,"text":"Hola","speaker":"A"}]}`},
		{name: "dub results by key", method: "GET", path: "/dub-result/1", code: 200, header: jsonH,
			body: `{"54":{"audio_url":"https://s.example.org/a.mp3","transcript":[]}}`},
		{name: "dub docs' keys", method: "GET", path: "/dub-result/1", code: 200, header: jsonH,
			body: `{"run_id":1,"output_audio_url":"https://s.example.org/a.mp3","transcript":[]}`,
			want: []string{"body: value doesn't match any schema from \"oneOf\""}},
		{name: "transcript as a bare list", method: "GET", path: "/transcription-result/1", code: 200, header: jsonH,
			body: `[{"start":0,"end":1,"text":"Hi","speaker":"A"}]`,
			want: []string{"body: value must be an object"}},
		{name: "translation bulk", method: "POST", path: "/translation-results", code: 200, header: jsonH,
			body: `{"1":{"texts":["Hola"]},"2":{"texts":[]}}`},
		{name: "tts bulk of bare URLs", method: "POST", path: "/tts-results", code: 200, header: jsonH,
			body: `{"1":"https://s.example.org/1.flac"}`,
			want: []string{"body /1: value must be an object"}},
		{name: "422 shape", method: "POST", path: "/text-to-sound", code: 422, header: jsonH,
			body: `{"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}`},
		{name: "422 wrong shape", method: "POST", path: "/text-to-sound", code: 422, header: jsonH,
			body: `{"error":"bad"}`,
			want: []string{`body /detail: property "detail" is missing`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.path, nil)
			err := spec.ValidateResponse(context.Background(), req, tt.code, tt.header, []byte(tt.body))
			var got []string
			var v *cambmock.Violations
			switch {
			case errors.As(err, &v):
				got = v.Problems
				if strings.Contains(v.Error(), tt.body) && len(tt.body) > 20 {
					t.Errorf("the error quotes the body: %v", v)
				}
			case err != nil:
				t.Fatalf("ValidateResponse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateResponse(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestAPIKeyRedacts(t *testing.T) {
	k := cambmock.APIKey("sk-live-0123456789abcdef")
	for _, s := range []string{k.String(), k.GoString(), k.LogValue().String()} {
		if strings.Contains(s, "0123456789") {
			t.Errorf("the key shows: %s", s)
		}
	}
	if cambmock.APIKey("").String() != "" {
		t.Error("an empty key should print as empty")
	}
}

// TestStatusOperationsShareOneSchema: every status operation answers 200
// with the one TaskStatusResponse, by $ref, so the status body is the same
// whatever the kind.
func TestStatusOperationsShareOneSchema(t *testing.T) {
	spec := loadSpec(t)
	for _, k := range spec.Kinds() {
		mt := k.Status.Op.Responses.Status(200).Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			t.Errorf("%s: the 200 answer has no JSON schema", k.Status.ID)
			continue
		}
		if got, want := mt.Schema.Ref, "#/components/schemas/TaskStatusResponse"; got != want {
			t.Errorf("%s: the 200 schema is %q, want a $ref to %s", k.Status.ID, got, want)
		}
	}
}

// TestRolesDeclareTheSameCodes: the mock plays any scenario on any kind,
// so each operation declares the same response codes as text-to-sound's
// operation of the same role, through the same shared responses.
func TestRolesDeclareTheSameCodes(t *testing.T) {
	spec := loadSpec(t)
	codes := func(op *cambmock.Operation) map[string]string {
		out := map[string]string{}
		for code, ref := range op.Op.Responses.Map() {
			out[code] = ref.Ref // "" for an inline answer
		}
		return out
	}
	def := spec.DefaultKind()
	for _, role := range cambmock.Roles() {
		want := codes(def.Operation(role))
		for _, k := range spec.Kinds() {
			op := k.Operation(role)
			if op == nil || k == def {
				continue
			}
			got := codes(op)
			// The 200 answers differ by kind, except the status body.
			delete(got, "200")
			w := maps.Clone(want)
			delete(w, "200")
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s declares other error answers than %s (-%s +%s):\n%s", op.ID, def.Operation(role).ID, def.Operation(role).ID, op.ID, diff)
			}
		}
	}
}

// TestOneSecurityScheme: every operation is under the document's one
// security requirement (ApiKeyAuth, the x-api-key header); none overrides it.
func TestOneSecurityScheme(t *testing.T) {
	spec := loadSpec(t)
	if diff := cmp.Diff(openapi3.SecurityRequirements{{"ApiKeyAuth": {}}}, spec.Doc.Security); diff != "" {
		t.Errorf("security mismatch (-want +got):\n%s", diff)
	}
	for path, item := range spec.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil {
				t.Errorf("%s %s overrides the document's security", method, path)
			}
		}
	}
}

// urlFields walks a JSON schema and returns where its uri-format strings
// are, as paths such as "previews/*" or "oneOf[1]/*/audio_url", and reports
// every string property named like a URL (…url, …urls) that is not
// format: uri: the mock fills each uri-format string of a result with a URL
// it serves itself, so a URL without the format would leak the example's.
func urlFields(t *testing.T, where string, s *openapi3.SchemaRef) []string {
	t.Helper()
	var out []string
	var walk func(path, name string, s *openapi3.SchemaRef)
	walk = func(path, name string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		v := s.Value
		lower := strings.ToLower(name)
		urlish := strings.HasSuffix(lower, "url") || strings.HasSuffix(lower, "urls") || lower == "previews"
		switch {
		case v.Type.Is("string") && v.Format == "uri":
			out = append(out, strings.TrimPrefix(path, "/"))
		case v.Type.Is("string") && urlish:
			t.Errorf("%s: %s holds a URL but is not format: uri", where, path)
		case v.Type.Is("array"):
			if urlish && (v.Items == nil || v.Items.Value.Format != "uri") {
				t.Errorf("%s: %s holds URLs but its items are not format: uri", where, path)
			}
			walk(path+"/*", name, v.Items)
		}
		for _, p := range sortedKeys(v.Properties) {
			walk(path+"/"+p, p, v.Properties[p])
		}
		if v.AdditionalProperties.Schema != nil {
			walk(path+"/*", "", v.AdditionalProperties.Schema)
		}
		for i, sub := range v.OneOf {
			walk(fmt.Sprintf("%s/oneOf[%d]", path, i), name, sub)
		}
		for i, sub := range v.AnyOf {
			walk(fmt.Sprintf("%s/anyOf[%d]", path, i), name, sub)
		}
		for _, sub := range v.AllOf {
			walk(path, name, sub)
		}
	}
	walk("", "", s)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// TestResultShapes: each result and bulk operation answers the content
// types @camb-ai/sdk expects, its JSON answer has an example that
// validates, and every URL in it is format: uri (listed here, for the
// mock's result generator). Bulk answers are maps keyed by run id, and
// bulk requests are the shared {run_ids: [...]}.
func TestResultShapes(t *testing.T) {
	spec := loadSpec(t)
	tests := []struct {
		op           string
		contentTypes []string
		urls         []string // where the JSON answer's uri-format strings are
	}{
		{"getTextToSoundResult", []string{"application/json", "audio/wav"}, []string{"file_url"}},
		{"getTextToSoundResults", []string{"application/json"}, []string{"*/output_url"}},
		{"getTtsResult", []string{"application/json", "audio/flac", "audio/wav"}, []string{"output_url"}},
		{"getTtsResults", []string{"application/json"}, []string{"*/output_url"}},
		{"getTextToVoiceResult", []string{"application/json"}, []string{"previews/*"}},
		{"getAudioSeparationResult", []string{"application/json"}, []string{"background_audio_url", "foreground_audio_url"}},
		{"getAudioSeparationResults", []string{"application/json"}, []string{"*/background_audio_url", "*/foreground_audio_url"}},
		{"getDubResult", []string{"application/json"}, []string{
			"oneOf[0]/audio_url", "oneOf[0]/video_url", "oneOf[1]/*/audio_url", "oneOf[1]/*/video_url"}},
		{"getDubResults", []string{"application/json"}, []string{"*/audio_url", "*/video_url"}},
		{"getTranscriptionResult", []string{"application/json"}, nil},
		{"getTranscriptionResults", []string{"application/json"}, nil},
		{"getTranslationResult", []string{"application/json"}, nil},
		{"getTranslationResults", []string{"application/json"}, nil},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.op] = true
		t.Run(tt.op, func(t *testing.T) {
			op := spec.OperationByID(tt.op)
			if op == nil {
				t.Fatalf("OperationByID(%q) = nil", tt.op)
			}
			ok := op.Op.Responses.Status(200).Value
			var cts []string
			for ct, mt := range ok.Content {
				cts = append(cts, ct)
				if ct != "application/json" && (mt.Schema == nil || !mt.Schema.Value.Type.Is("string") || mt.Schema.Value.Format != "binary") {
					t.Errorf("%s: the %s answer is not type: string, format: binary", tt.op, ct)
				}
			}
			slices.Sort(cts)
			if diff := cmp.Diff(tt.contentTypes, cts); diff != "" {
				t.Errorf("%s: content types mismatch (-want +got):\n%s", tt.op, diff)
			}
			mt := ok.Content.Get("application/json")
			if mt.Example == nil {
				t.Errorf("%s: the JSON answer has no example; the mock builds results from it", tt.op)
			} else if err := mt.Schema.Value.VisitJSON(mt.Example); err != nil {
				t.Errorf("%s: the JSON example does not validate: %v", tt.op, err)
			}
			if diff := cmp.Diff(tt.urls, urlFields(t, tt.op, mt.Schema)); diff != "" {
				t.Errorf("%s: uri-format strings mismatch (-want +got):\n%s", tt.op, diff)
			}
			if op.Role != cambmock.RoleBulk {
				return
			}
			s := mt.Schema.Value
			if len(s.Properties) != 0 || s.AdditionalProperties.Schema == nil {
				t.Errorf("%s: the answer is not a map (additionalProperties: an entry schema)", tt.op)
			} else if entry := s.AdditionalProperties.Schema; entry.Ref == "" || entry.Value.Example == nil {
				t.Errorf("%s: the entry schema is not a named schema with an example", tt.op)
			}
			body := op.Op.RequestBody.Value.Content.Get("application/json")
			if body == nil || body.Schema.Value != spec.Doc.Components.Schemas["BulkResultsRequest"].Value {
				t.Errorf("%s: the request body is not BulkResultsRequest", tt.op)
			}
		})
	}
	for _, k := range spec.Kinds() {
		for _, op := range []*cambmock.Operation{k.Result, k.Bulk} {
			if op != nil && !seen[op.ID] {
				t.Errorf("%s is not checked by this test", op.ID)
			}
		}
	}
}

// TestTextToSoundUnchanged: adding the family left text-to-sound's
// operations as they were: the same parameters, request body, answers and
// schemas.
func TestTextToSoundUnchanged(t *testing.T) {
	spec := loadSpec(t)
	type shape struct {
		Params  []string          // "in name $ref-or-type"
		Body    string            // "content-type $ref"
		Answers map[string]string // code -> $ref, or content types and their schema $refs
	}
	shapeOf := func(op *openapi3.Operation) shape {
		var sh shape
		for _, p := range op.Parameters {
			s := p.Ref
			if s == "" {
				s = p.Value.Schema.Ref
				if s == "" {
					s = p.Value.Schema.Value.Type.Slice()[0]
				}
			}
			sh.Params = append(sh.Params, p.Value.In+" "+p.Value.Name+" "+s)
		}
		if op.RequestBody != nil {
			for ct, mt := range op.RequestBody.Value.Content {
				sh.Body = ct + " " + mt.Schema.Ref
			}
		}
		sh.Answers = map[string]string{}
		for code, ref := range op.Responses.Map() {
			if ref.Ref != "" {
				sh.Answers[code] = ref.Ref
				continue
			}
			var parts []string
			for _, ct := range sortedKeys(ref.Value.Content) {
				s := ref.Value.Content[ct].Schema
				name := s.Ref
				if name == "" {
					name = s.Value.Type.Slice()[0] + "/" + s.Value.Format
				}
				parts = append(parts, ct+" "+name)
			}
			sh.Answers[code] = strings.Join(parts, ", ")
		}
		return sh
	}
	errs := func(codes ...string) map[string]string {
		names := map[string]string{"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
			"413": "PayloadTooLarge", "422": "ValidationFailed", "429": "TooManyRequests", "431": "HeadersTooLarge",
			"500": "InternalServerError", "502": "BadGateway", "503": "ServiceUnavailable"}
		out := map[string]string{}
		for _, c := range codes {
			out[c] = "#/components/responses/" + names[c]
		}
		return out
	}
	with := func(m map[string]string, code, v string) map[string]string { m[code] = v; return m }
	const (
		runID       = "query run_id #/components/parameters/RunIdQuery"
		traceparent = "header traceparent #/components/parameters/Traceparent"
	)
	want := map[string]shape{
		"createTextToSound": {
			Params:  []string{runID, traceparent},
			Body:    "application/json #/components/schemas/CreateTaskRequest",
			Answers: with(errs("400", "401", "403", "413", "422", "429", "431", "500", "502", "503"), "200", "application/json #/components/schemas/CreateTaskResponse"),
		},
		"getTextToSoundStatus": {
			Params:  []string{"path task_id string", runID},
			Answers: with(errs("401", "403", "404", "422", "429", "431", "500", "502", "503"), "200", "application/json #/components/schemas/TaskStatusResponse"),
		},
		"getTextToSoundResult": {
			Params: []string{"path run_id integer", "query output_type #/components/schemas/OutputType"},
			Answers: with(errs("400", "401", "403", "404", "422", "429", "431", "500", "502", "503"), "200",
				"application/json #/components/schemas/FileURLResponse, audio/wav string/binary"),
		},
		"getTextToSoundResults": {
			Params:  []string{runID, traceparent},
			Body:    "application/json #/components/schemas/BulkResultsRequest",
			Answers: with(errs("401", "403", "413", "422", "429", "431", "500", "502", "503"), "200", "application/json #/components/schemas/BulkResultsResponse"),
		},
	}
	got := map[string]shape{}
	for _, op := range spec.Kind("text-to-sound").Operations() {
		got[op.ID] = shapeOf(op.Op)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("text-to-sound operations mismatch (-want +got):\n%s", diff)
	}
	enum := func(name string) []any { return spec.Doc.Components.Schemas[name].Value.Enum }
	if diff := cmp.Diff([]any{"RAW_BYTES", "FILE_URL"}, enum("OutputType")); diff != "" {
		t.Errorf("OutputType mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"sound", "music"}, enum("AudioType")); diff != "" {
		t.Errorf("AudioType mismatch (-want +got):\n%s", diff)
	}
	for name, props := range map[string][]string{
		"CreateTaskRequest":  {"audio_type", "duration", "folder_id", "project_description", "project_name", "prompt"},
		"CreateTaskResponse": {"task_id"},
		"FileURLResponse":    {"file_url"},
		"BulkResultsRequest": {"run_ids"},
		"BulkResult":         {"output_url"},
		"TaskStatusResponse": {"exception_reason", "message", "run_id", "status"},
	} {
		if diff := cmp.Diff(props, sortedKeys(spec.Doc.Components.Schemas[name].Value.Properties)); diff != "" {
			t.Errorf("%s properties mismatch (-want +got):\n%s", name, diff)
		}
	}
}

// multipartBody writes a multipart/form-data body as the SDK's FormData
// does: text fields as plain parts, files as parts with a filename and a
// content type.
func multipartBody(t *testing.T, fields map[string]string, files map[string]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, name := range sortedKeys(fields) {
		if err := w.WriteField(name, fields[name]); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range sortedKeys(files) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="mix.wav"`, name))
		h.Set("Content-Type", files[name])
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(wav())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, w.FormDataContentType()
}

// TestRequestsAsTheSDKSendsThem validates create requests shaped as
// @camb-ai/sdk 1.0.1 sends them, JSON and multipart, against the spec, with
// no body decoder registered beyond kin-openapi's own.
func TestRequestsAsTheSDKSendsThem(t *testing.T) {
	spec := loadSpec(t)
	jsonBody := func(s string) func(t *testing.T) (io.Reader, string) {
		return func(*testing.T) (io.Reader, string) { return strings.NewReader(s), "application/json" }
	}
	form := func(fields, files map[string]string) func(t *testing.T) (io.Reader, string) {
		return func(t *testing.T) (io.Reader, string) { return multipartBody(t, fields, files) }
	}
	tests := []struct {
		name, path string
		body       func(t *testing.T) (io.Reader, string)
		wantErr    bool
	}{
		{name: "tts", path: "/tts?run_id=3", body: jsonBody(`{"text":"Hello","voice_id":147320,"language":1,"gender":2,"age":null}`)},
		{name: "tts without voice", path: "/tts", body: jsonBody(`{"text":"Hello","language":1}`), wantErr: true},
		{name: "text-to-voice", path: "/text-to-voice",
			body: jsonBody(`{"text":"Hi there","voice_description":"A calm, low voice","project_name":null}`)},
		{name: "dub", path: "/dub", body: jsonBody(`{"video_url":"https://youtu.be/x","source_language":1,"target_language":null,"target_languages":[54]}`)},
		{name: "translation", path: "/translate", body: jsonBody(`{"texts":["a","b"],"source_language":1,"target_language":54,"formality":2}`)},
		{name: "translation of a string", path: "/translate", body: jsonBody(`{"texts":"a","source_language":1,"target_language":54}`), wantErr: true},
		{name: "translated-tts", path: "/translated-tts",
			body: jsonBody(`{"text":"Hello","voice_id":1,"source_language":1,"target_language":54,"gender":null,"formality":null}`)},
		{name: "audio-separation", path: "/audio-separation?run_id=3",
			body: form(map[string]string{"project_name": "p", "folder_id": "42"}, map[string]string{"media_file": "audio/wav"})},
		{name: "audio-separation, octet-stream file", path: "/audio-separation",
			body: form(nil, map[string]string{"media_file": "application/octet-stream"})},
		{name: "transcription", path: "/transcribe",
			body: form(map[string]string{"language": "1"}, map[string]string{"media_file": "audio/wav"})},
		{name: "transcription by URL", path: "/transcribe",
			body: form(map[string]string{"language": "1", "media_url": "https://media.example.org/a.mp3"}, nil)},
		{name: "transcription without language", path: "/transcribe",
			body: form(nil, map[string]string{"media_file": "audio/wav"}), wantErr: true},
		{name: "bulk", path: "/dubbing-results", body: jsonBody(`{"run_ids":[1,2]}`)},
		{name: "bulk of strings", path: "/transcription-results", body: jsonBody(`{"run_ids":["1"]}`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body(t)
			req, _ := http.NewRequest("POST", tt.path, body)
			req.Header.Set("Content-Type", ct)
			in, err := spec.Route(req)
			if err != nil {
				t.Fatal(err)
			}
			err = openapi3filter.ValidateRequest(context.Background(), in)
			if (err != nil) != tt.wantErr {
				t.Errorf("ValidateRequest(%s) = %v; want an error: %v", tt.name, cambmock.Problems(err), tt.wantErr)
			}
		})
	}
}
