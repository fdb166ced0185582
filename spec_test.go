package cambmock_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
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
	if n < 15 {
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
