package mockserver_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/scenarios"
)

// FuzzHandlers sends the mock requests of any method, path, query, header
// and body, on every endpoint (the API's, the admin API's, the files'),
// and checks that each gets an answer (never a dropped connection or a
// hang) in JSON or audio, and never a 500: the server runs strict, so a
// 500 would be an answer the spec forbids. The scenarios play no faults.
//
//	go test ./mockserver -run X -fuzz FuzzHandlers -fuzztime 30s
func FuzzHandlers(f *testing.F) {
	for _, s := range [][5]string{
		{"POST", "apis/text-to-sound", "", "", `{"prompt":"rain","duration":3}`},
		{"POST", "apis/text-to-sound", "X-Cambmock-Scenario", "error", `{"prompt":"[scenario:rate-limited]"}`},
		{"POST", "apis/text-to-sound", "", "", `{"prompt":"x","duration":1e400}`},
		{"POST", "apis/text-to-sound", "", "", `{"prompt":"x","duration":-1,"audio_type":"music"}`},
		{"POST", "apis/tts", "", "", `{"text":"hi","voice_id":1,"language":1}`},
		{"POST", "apis/translate", "", "", `{"texts":["a"],"source_language":1,"target_language":2}`},
		{"POST", "apis/audio-separation", "Content-Type", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"media_file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--x--\r\n"},
		{"GET", "apis/text-to-sound/%2e%2e%2f", "", "", ""},
		{"GET", "apis/text-to-sound/x?run_id=9999999999999999999999", "", "", ""},
		{"GET", "apis/text-to-sound-result/9223372036854775807?output_type=FILE_URL", "", "", ""},
		{"GET", "apis/tts-result/-1?output_type=file_url", "", "", ""},
		{"POST", "apis/text-to-sound-results", "", "", `{"run_ids":[1,2,-3,1e20]}`},
		{"POST", "apis/dubbing-results", "", "", `{"run_ids":"all"}`},
		{"PUT", "apis/text-to-sound", "", "", ""},
		{"GET", "__files/100001.wav?token=x", "", "", ""},
		{"GET", "__files/1/../../x.wav", "", "", ""},
		{"POST", "__admin/tasks", "", "", `{"scenario":"success","task_id":"mine","duration":"2s","kind":"tts"}`},
		{"POST", "__admin/tasks", "", "", `{"task_id":"` + strings.Repeat("a", 300) + `"}`},
		{"POST", "__admin/clock", "", "", `{"by":"-1s"}`},
		{"POST", "__admin/clock", "", "", `{"by":"2562047h"}`},
		{"GET", "__admin/tasks?limit=1000000&offset=-1&status=%00", "", "", ""},
		{"GET", "__admin/tasks/mine/wait?polls=999999999999999999999&timeout=1ms", "", "", ""},
		{"GET", "__admin/wait?tasks=1&timeout=1ms", "", "", ""},
		{"GET", "__admin/tasks/mine/discipline?min_interval=-9999999h", "", "", ""},
		{"POST", "__admin/reset", "Content-Type", "text/plain", "x"},
		{"GET", "__admin/requests?limit=-5", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	sc := func(name string, steps ...scenarios.Step) *scenarios.Scenario {
		return &scenarios.Scenario{Name: name, Description: name, Poll: steps}
	}
	pending := &scenarios.Reply{Status: cambmock.StatusPending}
	success := &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}
	tooMany := &scenarios.HTTPError{Code: 429, Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}}, Body: `{"detail":"Too Many Requests"}`}
	srv, err := mockserver.New(
		mockserver.WithoutBuiltins(),
		mockserver.WithScenarios(
			sc("success", scenarios.Step{Polls: 1, Reply: pending}, scenarios.Step{Reply: success}),
			sc("error", scenarios.Step{Reply: &scenarios.Reply{Status: cambmock.StatusError, ExceptionReason: "PROCESSING_ERROR"}}),
			sc("rate-limited", scenarios.Step{Polls: 1, Error: tooMany}, scenarios.Step{Reply: success}),
		),
		mockserver.WithClock(scenarios.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))),
		mockserver.WithStrict(true),
		mockserver.WithLogger(slog.New(slog.DiscardHandler)),
		mockserver.WithMaxTasks(100000),
		mockserver.WithTaskTTL(0),
	)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	f.Cleanup(hs.Close)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	f.Fuzz(func(t *testing.T, method, path, hname, hvalue, body string) {
		req, err := http.NewRequest(method, hs.URL+"/"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		if strings.HasSuffix(req.URL.Path, "/wait") {
			// A long poll may wait as long as it is asked to: ask for little.
			q := req.URL.Query()
			q.Set("timeout", "1ms")
			req.URL.RawQuery = q.Encode()
		}
		req.Header.Set("X-Api-Key", "fuzz-key")
		req.Header.Set("Content-Type", "application/json")
		if hname != "" {
			if !validHeader(hname, hvalue) {
				return
			}
			req.Header.Set(hname, hvalue)
		}
		resp, err := client.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "net/http: invalid") || strings.Contains(err.Error(), "unsupported protocol") {
				return
			}
			t.Fatalf("%s /%s: no answer: %v", method, path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s /%s: %d, the body broke off: %v", method, path, resp.StatusCode, err)
		}
		if resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(string(b), "400 Bad Request") {
			return // net/http refused the request line before the mock saw it
		}
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("%s /%s: 500 %s", method, path, b)
		}
		switch ct := resp.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "audio/"), strings.HasPrefix(ct, "application/yaml"), strings.HasPrefix(ct, "text/event-stream"):
		case ct == "application/json":
			if len(b) > 0 && !json.Valid(b) && method != http.MethodHead {
				t.Fatalf("%s /%s: %d application/json that is not JSON: %q", method, path, resp.StatusCode, b)
			}
		default:
			if method != http.MethodHead {
				t.Fatalf("%s /%s: %d with Content-Type %q: %q", method, path, resp.StatusCode, ct, b)
			}
		}
	})
}

func validHeader(name, value string) bool {
	if name == "" || strings.ContainsAny(value, "\r\n\x00") {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return !strings.EqualFold(name, "Content-Length") && !strings.EqualFold(name, "Transfer-Encoding") &&
		!strings.EqualFold(name, "Host") && !strings.EqualFold(name, "Connection") && !strings.EqualFold(name, "Expect") &&
		!strings.EqualFold(name, "Te") && !strings.EqualFold(name, "Upgrade")
}
