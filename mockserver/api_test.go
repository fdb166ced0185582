package mockserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// goScenario returns an on-spec scenario built in Go: PENDING for one poll,
// then SUCCESS.
func goScenario(name string) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name:        name,
		Description: "PENDING once, then SUCCESS",
		Poll: scenarios.Script{
			{Polls: 1, Reply: &scenarios.Reply{Status: cambmock.StatusPending}},
			{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}},
		},
	}
}

// detail returns the JSON body {"detail": msg}.
func detail(msg string) string {
	b, _ := json.Marshal(map[string]string{"detail": msg})
	return string(b)
}

// wantAnswer is the status and body a request must get; the body is
// compared byte for byte, and must be JSON.
type wantAnswer struct {
	Code int
	Body string
}

func checkAnswer(t *testing.T, r req, a answer, want wantAnswer) {
	t.Helper()
	got := wantAnswer{Code: a.Code, Body: string(a.Body)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s %s mismatch (-want +got):\n%s", r.Method, r.Path, diff)
	}
	checkJSON(t, r.Method+" "+r.Path, a)
}

func TestScenarioSelection(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario("timeout"))
	plain := mockservertest.NewTestServer(t)
	tests := []struct {
		name   string
		ts     *mockservertest.TestServer
		header string // X-Cambmock-Scenario; empty: none
		prompt string
		want   string
	}{
		{name: "header", ts: ts, header: "error", prompt: "a dog barking", want: "error"},
		{name: "prompt token", ts: ts, prompt: "a dog barking [scenario:stuck]", want: "stuck"},
		{name: "token anywhere in the prompt", ts: ts, prompt: "[scenario:slow-success] a dog barking", want: "slow-success"},
		{name: "header wins over token", ts: ts, header: "error", prompt: "a dog [scenario:stuck]", want: "error"},
		{name: "default", ts: ts, prompt: "a dog barking", want: "timeout"},
		{name: "empty token means default", ts: ts, prompt: "a dog [scenario:]", want: "timeout"},
		{name: "default of a server without options", ts: plain, prompt: "a dog barking", want: "success"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string][]string{}
			if tc.header != "" {
				h[mockserver.ScenarioHeader] = []string{tc.header}
			}
			body, _ := json.Marshal(map[string]string{"prompt": tc.prompt})
			a := mustSend(t, tc.ts.Client(), tc.ts.URL, req{Method: "POST", Path: "/apis/text-to-sound", Body: string(body), Header: h})
			id := taskID(t, a)
			if got := tc.ts.Task(id).Info().Scenario; got != tc.want {
				t.Errorf("the task plays %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScenarioSelectionUnknown(t *testing.T) {
	two := mockservertest.NewTestServer(t, mockserver.WithoutBuiltins(),
		mockserver.WithScenarios(goScenario("beta"), goScenario("alpha")), mockserver.WithDefaultScenario("alpha"))
	builtins := mockservertest.NewTestServer(t)
	var names []string
	for _, sc := range builtins.Server().Scenarios() {
		names = append(names, sc.Name)
	}
	tests := []struct {
		name   string
		ts     *mockservertest.TestServer
		header string
		prompt string
		want   wantAnswer
	}{
		{
			name: "header", ts: two, header: "nope", prompt: "rain",
			want: wantAnswer{400, detail(`the X-Cambmock-Scenario header names an unknown scenario "nope"; known scenarios: alpha, beta`)},
		},
		{
			name: "prompt token", ts: two, prompt: "rain [scenario:nope]",
			want: wantAnswer{400, detail(`the [scenario:NAME] token in the prompt names an unknown scenario "nope"; known scenarios: alpha, beta`)},
		},
		{
			name: "unknown header, known token", ts: two, header: "nope", prompt: "rain [scenario:alpha]",
			want: wantAnswer{400, detail(`the X-Cambmock-Scenario header names an unknown scenario "nope"; known scenarios: alpha, beta`)},
		},
		{
			name: "the built-ins are all listed", ts: builtins, header: "Success",
			prompt: "rain",
			want:   wantAnswer{400, detail(`the X-Cambmock-Scenario header names an unknown scenario "Success"; known scenarios: ` + strings.Join(names, ", "))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string][]string{}
			if tc.header != "" {
				h[mockserver.ScenarioHeader] = []string{tc.header}
			}
			body, _ := json.Marshal(map[string]string{"prompt": tc.prompt})
			r := req{Method: "POST", Path: "/apis/text-to-sound", Body: string(body), Header: h}
			checkAnswer(t, r, mustSend(t, tc.ts.Client(), tc.ts.URL, r), tc.want)
		})
	}
	if n := len(two.Server().Tasks()); n != 0 {
		t.Errorf("after refused creates, the server holds %d tasks, want none", n)
	}
}

func TestAuth(t *testing.T) {
	anyKey := mockservertest.NewTestServer(t)
	listed := mockservertest.NewTestServer(t, mockserver.WithAPIKeys("key-one", "key-two"))
	noKey := detail("Not authenticated: send your API key in the x-api-key header")
	badKey := detail("Invalid API key")
	endpoints := []req{
		{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`},
		{Method: "GET", Path: "/apis/text-to-sound/some-task"},
		{Method: "GET", Path: "/apis/text-to-sound-result/100001"},
		{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[100001]}`},
	}
	tests := []struct {
		name string
		ts   *mockservertest.TestServer
		key  []string // nil: no header
		want wantAnswer
	}{
		{name: "missing key", ts: anyKey, key: nil, want: wantAnswer{401, noKey}},
		{name: "empty key", ts: anyKey, key: []string{""}, want: wantAnswer{401, noKey}},
		{name: "missing key, keys listed", ts: listed, key: nil, want: wantAnswer{401, noKey}},
		{name: "empty key, keys listed", ts: listed, key: []string{""}, want: wantAnswer{401, noKey}},
		{name: "unlisted key", ts: listed, key: []string{"key-three"}, want: wantAnswer{403, badKey}},
		{name: "a listed key's prefix", ts: listed, key: []string{"key-"}, want: wantAnswer{403, badKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range endpoints {
				r.Header = map[string][]string{"X-Api-Key": tc.key}
				checkAnswer(t, r, mustSend(t, tc.ts.Client(), tc.ts.URL, r), tc.want)
			}
		})
	}

	accepted := []struct {
		name string
		ts   *mockservertest.TestServer
		key  string
	}{
		{name: "any key by default", ts: anyKey, key: "anything at all"},
		{name: "first listed key", ts: listed, key: "key-one"},
		{name: "second listed key", ts: listed, key: "key-two"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			r := req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`,
				Header: map[string][]string{"X-Api-Key": {tc.key}}}
			id := taskID(t, mustSend(t, tc.ts.Client(), tc.ts.URL, r))
			r = req{Method: "GET", Path: "/apis/text-to-sound/" + id, Header: r.Header}
			if a := mustSend(t, tc.ts.Client(), tc.ts.URL, r); a.Code != http.StatusOK {
				t.Errorf("poll with key %q: got %d %s, want 200", tc.key, a.Code, a.Body)
			}
		})
	}

	t.Run("the admin API needs no key", func(t *testing.T) {
		for _, path := range []string{"/__admin/health", "/__admin/scenarios", "/__admin/tasks", "/__admin/clock", "/__admin/requests"} {
			r := req{Method: "GET", Path: path, Header: map[string][]string{"X-Api-Key": nil}}
			a := mustSend(t, listed.Client(), listed.URL, r)
			if a.Code != http.StatusOK {
				t.Errorf("GET %s without a key: got %d %s, want 200", path, a.Code, a.Body)
			}
			checkJSON(t, "GET "+path, a)
		}
	})
}

func TestValidation(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	tests := []struct {
		name   string
		reason string
		req    req
		want   wantAnswer
	}{
		{
			name: "missing prompt",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"duration":5}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}`},
		},
		{
			name: "empty prompt",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":""}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","prompt"],"msg":"String should have at least 1 character","type":"string_too_short"}]}`},
		},
		{
			name: "prompt not a string",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":42}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","prompt"],"msg":"Input should be a valid string","type":"string_type"}]}`},
		},
		{
			name: "duration as a string",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":"5"}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","duration"],"msg":"Input should be a valid number","type":"float_type"}]}`},
		},
		{
			name: "duration 0",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":0}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","duration"],"msg":"Input should be greater than 0","type":"greater_than"}]}`},
		},
		{
			name: "duration below 0",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":-1}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","duration"],"msg":"Input should be greater than 0","type":"greater_than"}]}`},
		},
		{
			name:   "duration 11 for sound",
			reason: "sound is capped at 10 seconds",
			req:    req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":11,"audio_type":"sound"}`},
			want:   wantAnswer{422, `{"detail":[{"loc":["body","duration"],"msg":"Input should be less than or equal to 10 unless audio_type is music","type":"less_than_equal"}]}`},
		},
		{
			name:   "duration 11 without audio_type",
			reason: "audio_type defaults to sound",
			req:    req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":11}`},
			want:   wantAnswer{422, `{"detail":[{"loc":["body","duration"],"msg":"Input should be less than or equal to 10 unless audio_type is music","type":"less_than_equal"}]}`},
		},
		{
			name: "bad audio_type",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","audio_type":"noise"}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","audio_type"],"msg":"Input should be 'sound' or 'music'","type":"enum"}]}`},
		},
		{
			name:   "every problem at once",
			reason: "FastAPI lists every problem, in the order of the fields",
			req:    req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"duration":"x","audio_type":"noise"}`},
			want: wantAnswer{422, `{"detail":[` +
				`{"loc":["body","audio_type"],"msg":"Input should be 'sound' or 'music'","type":"enum"},` +
				`{"loc":["body","duration"],"msg":"Input should be a valid number","type":"float_type"},` +
				`{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}`},
		},
		{
			name: "invalid JSON",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":`},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"JSON decode error: unexpected end of JSON input","type":"json_invalid"}]}`},
		},
		{
			name: "two JSON values",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"} {}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"JSON decode error: invalid character '{' after top-level value","type":"json_invalid"}]}`},
		},
		{
			name: "not an object",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `["rain"]`},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"Input should be a valid dictionary","type":"dict_type"}]}`},
		},
		{
			name: "empty body",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Header: map[string][]string{"Content-Type": {jsonType}}},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"Field required","type":"missing"}]}`},
		},
		{
			name: "wrong Content-Type",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`, Header: map[string][]string{"Content-Type": {"text/plain"}}},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"Input should be a JSON object sent with Content-Type: application/json, not \"text/plain\"","type":"model_attributes_type"}]}`},
		},
		{
			name: "no Content-Type",
			req:  req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`, Header: map[string][]string{"Content-Type": nil}},
			want: wantAnswer{422, `{"detail":[{"loc":["body"],"msg":"Input should be a JSON object sent with Content-Type: application/json, not \"\"","type":"model_attributes_type"}]}`},
		},
		{
			name: "create: run_id query not an integer",
			req:  req{Method: "POST", Path: "/apis/text-to-sound?run_id=abc", Body: `{"prompt":"rain"}`},
			want: wantAnswer{422, `{"detail":[{"loc":["query","run_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`},
		},
		{
			name: "create: run_id query empty, as the SDK sends a null one",
			req:  req{Method: "POST", Path: "/apis/text-to-sound?run_id=", Body: `{"prompt":"rain"}`},
			want: wantAnswer{422, `{"detail":[{"loc":["query","run_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`},
		},
		{
			name: "bulk: run_ids missing",
			req:  req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","run_ids"],"msg":"Field required","type":"missing"}]}`},
		},
		{
			name: "bulk: empty list",
			req:  req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[]}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","run_ids"],"msg":"List should have at least 1 item","type":"too_short"}]}`},
		},
		{
			name: "bulk: strings",
			req:  req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":["100001"]}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","run_ids",0],"msg":"Input should be a valid integer","type":"int_type"}]}`},
		},
		{
			name: "bulk: a fraction",
			req:  req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[100001,1.5]}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","run_ids",1],"msg":"Input should be a valid integer","type":"int_type"}]}`},
		},
		{
			name: "bulk: not a list",
			req:  req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":100001}`},
			want: wantAnswer{422, `{"detail":[{"loc":["body","run_ids"],"msg":"Input should be a valid list","type":"list_type"}]}`},
		},
		{
			name: "result: run_id not an integer",
			req:  req{Method: "GET", Path: "/apis/text-to-sound-result/abc"},
			want: wantAnswer{422, `{"detail":[{"loc":["path","run_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`},
		},
		{
			name: "result: bad output_type",
			req:  req{Method: "GET", Path: "/apis/text-to-sound-result/100001?output_type=MP3"},
			want: wantAnswer{422, `{"detail":[{"loc":["query","output_type"],"msg":"Input should be 'RAW_BYTES' or 'FILE_URL'","type":"enum"}]}`},
		},
		{
			name: "poll: run_id query not an integer",
			req:  req{Method: "GET", Path: "/apis/text-to-sound/some-task?run_id=abc"},
			want: wantAnswer{422, `{"detail":[{"loc":["query","run_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`},
		},
		{
			name:   "form: a field that is not an integer",
			reason: "the field is named, as FastAPI names it",
			req: req{Method: "POST", Path: "/apis/transcribe",
				Body:   "--b\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nabc\r\n--b\r\nContent-Disposition: form-data; name=\"media_url\"\r\n\r\nhttps://example.org/a.wav\r\n--b--\r\n",
				Header: map[string][]string{"Content-Type": {"multipart/form-data; boundary=b"}}},
			want: wantAnswer{422, `{"detail":[{"loc":["body","language"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`},
		},
		{
			name:   "poll: an integer run_id query is fine",
			reason: "the task is unknown, so the answer is its 404",
			req:    req{Method: "GET", Path: "/apis/text-to-sound/some-task?run_id=12"},
			want:   wantAnswer{404, detail(`Task not found: no task with id "some-task" on this server`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkAnswer(t, tc.req, mustSend(t, ts.Client(), ts.URL, tc.req), tc.want)
		})
	}
	if n := len(ts.Server().Tasks()); n != 0 {
		t.Errorf("refused creates made %d tasks", n)
	}
}

func TestMusicIsNotCapped(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario("slow-success"))
	r := req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"slow piano","duration":30,"audio_type":"music"}`}
	id := taskID(t, mustSend(t, ts.Client(), ts.URL, r))
	info := ts.Task(id).Info()
	if info.AudioType != "music" || time.Duration(info.Length) != mockserver.MusicLength {
		t.Errorf("Task(%s).Info(): audio %q of %v, want music of %v", id, info.AudioType, time.Duration(info.Length), mockserver.MusicLength)
	}
	ts.Advance(10 * time.Second)
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, id, 10*time.Second); err != nil || s.Status != "SUCCESS" {
		t.Fatalf("poll: %+v, %v; want SUCCESS", s, err)
	}
	a := mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound-result/" + strconv.FormatInt(info.RunID, 10)})
	checkWAV(t, a.Body, mockserver.MusicLength)
}

func TestBodyTooLarge(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	big := `{"prompt":"` + strings.Repeat("a", mockserver.MaxBodySize) + `"}`
	tests := []struct {
		name   string
		path   string
		length int64 // the request's ContentLength: -1 sends it chunked
		want   wantAnswer
	}{
		{
			name: "create, with Content-Length", path: "/apis/text-to-sound", length: int64(len(big)),
			want: wantAnswer{413, detail("Request body too large: 1048589 bytes; the limit is 1048576 bytes")},
		},
		{
			name: "create, chunked", path: "/apis/text-to-sound", length: -1,
			want: wantAnswer{413, detail("Request body too large; the limit is 1048576 bytes")},
		},
		{
			name: "bulk, chunked", path: "/apis/text-to-sound-results", length: -1,
			want: wantAnswer{413, detail("Request body too large; the limit is 1048576 bytes")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hr, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+tc.path, io.NopCloser(strings.NewReader(big)))
			hr.ContentLength = tc.length
			hr.Header.Set("X-Api-Key", testKey)
			hr.Header.Set("Content-Type", jsonType)
			resp, err := ts.Client().Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			checkAnswer(t, req{Method: "POST", Path: tc.path}, answer{Code: resp.StatusCode, Header: resp.Header, Body: b}, tc.want)
		})
	}
}

func TestRouting(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	noRoute := func(method, path string) string {
		return detail("no route for " + method + " " + path +
			"; the API is under /apis (for example POST /apis/text-to-sound), the admin API under /__admin/; did you leave /apis out of the base URL?")
	}
	noTask := func(id string) string {
		return detail("Task not found: no task with id " + strconv.Quote(id) + " on this server")
	}
	long := strings.Repeat("x", 4000)
	tests := []struct {
		name      string
		method    string
		path      string
		want      wantAnswer
		wantAllow string // the Allow header of a 405
	}{
		{name: "root", method: "GET", path: "/", want: wantAnswer{404, noRoute("GET", "/")}},
		{name: "base URL without /apis", method: "POST", path: "/text-to-sound", want: wantAnswer{404, noRoute("POST", "/text-to-sound")}},
		{name: "poll without /apis", method: "GET", path: "/text-to-sound/x", want: wantAnswer{404, noRoute("GET", "/text-to-sound/x")}},
		{name: "unknown API route", method: "GET", path: "/apis/text-to-speech/x", want: wantAnswer{404, noRoute("GET", "/apis/text-to-speech/x")}},
		{name: "the base URL itself", method: "GET", path: "/apis", want: wantAnswer{404, noRoute("GET", "/apis")}},
		{name: "unknown admin route", method: "GET", path: "/__admin/nope", want: wantAnswer{404, noRoute("GET", "/__admin/nope")}},

		{name: "GET the create endpoint", method: "GET", path: "/apis/text-to-sound",
			want: wantAnswer{405, detail("GET is not allowed on /apis/text-to-sound; use POST")}, wantAllow: "POST"},
		{name: "DELETE a task", method: "DELETE", path: "/apis/text-to-sound/x",
			want: wantAnswer{405, detail("DELETE is not allowed on /apis/text-to-sound/x; use GET")}, wantAllow: "GET"},
		{name: "POST a result", method: "POST", path: "/apis/text-to-sound-result/1",
			want: wantAnswer{405, detail("POST is not allowed on /apis/text-to-sound-result/1; use GET")}, wantAllow: "GET"},
		{name: "GET the bulk endpoint", method: "GET", path: "/apis/text-to-sound-results",
			want: wantAnswer{405, detail("GET is not allowed on /apis/text-to-sound-results; use POST")}, wantAllow: "POST"},
		{name: "POST admin health", method: "POST", path: "/__admin/health",
			want: wantAnswer{405, detail("POST is not allowed on /__admin/health; use GET")}, wantAllow: "GET"},
		{name: "DELETE admin tasks", method: "DELETE", path: "/__admin/tasks",
			want: wantAnswer{405, detail("DELETE is not allowed on /__admin/tasks; use GET, POST")}, wantAllow: "GET, POST"},
		{name: "GET admin reset", method: "GET", path: "/__admin/reset",
			want: wantAnswer{405, detail("GET is not allowed on /__admin/reset; use POST")}, wantAllow: "POST"},
		{name: "PUT a file", method: "PUT", path: "/__files/1.wav",
			want: wantAnswer{405, detail("PUT is not allowed on /__files/1.wav; use GET, HEAD")}, wantAllow: "GET, HEAD"},

		{name: "encoded slash in a task id", method: "GET", path: "/apis/text-to-sound/a%2Fb", want: wantAnswer{404, noRoute("GET", "/apis/text-to-sound/a/b")}},
		{name: "unicode task id", method: "GET", path: "/apis/text-to-sound/%E2%9C%93-%F0%9F%94%8A", want: wantAnswer{404, noTask("✓-🔊")}},
		{name: "very long task id", method: "GET", path: "/apis/text-to-sound/" + long, want: wantAnswer{404, noTask(long)}},
		{name: "task id ..", method: "GET", path: "/apis/text-to-sound/..", want: wantAnswer{404, noTask("..")}},
		{name: "task id . encoded", method: "GET", path: "/apis/text-to-sound/%2E", want: wantAnswer{404, noTask(".")}},
		{name: "task id with a NUL", method: "GET", path: "/apis/text-to-sound/a%00b", want: wantAnswer{404, noTask("a\x00b")}},
		{name: "task id with a space", method: "GET", path: "/apis/text-to-sound/a%20b", want: wantAnswer{404, noTask("a b")}},
		{name: "double slash", method: "GET", path: "/apis//text-to-sound/x", want: wantAnswer{404, noRoute("GET", "/apis//text-to-sound/x")}},
		{name: "run id ..", method: "GET", path: "/apis/text-to-sound-result/..",
			want: wantAnswer{422, `{"detail":[{"loc":["path","run_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}`}},
		{name: "unknown run id", method: "GET", path: "/apis/text-to-sound-result/-1", want: wantAnswer{404, detail("Run not found: no run with id -1 on this server")}},
		{name: "file of an unknown run", method: "GET", path: "/__files/5.wav",
			want: wantAnswer{403, detail("the file URL's token is missing or wrong; use the URL the result endpoint returned")}},
	}
	c := noKeepAlive(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req{Method: tc.method, Path: tc.path}
			a := mustSend(t, c, ts.URL, r)
			checkAnswer(t, r, a, tc.want)
			if got := a.Header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.wantAllow)
			}
		})
	}
}

// TestAnswersAreJSON sends requests of every kind, good and bad, to every
// route and checks that each answer is JSON with a JSON Content-Type, but
// the audio (audio/wav) and the HTML error pages scenarios serve.
func TestAnswersAreJSON(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(testKey))
	c := noKeepAlive(t)
	id := createTask(t, c, ts.URL, "success")
	for range 3 {
		mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id})
	}
	run := strconv.FormatInt(ts.Task(id).Info().RunID, 10)
	var requests []req
	for _, path := range []string{"/", "/apis", "/apis/text-to-sound", "/apis/text-to-sound/" + id, "/apis/text-to-sound/nope",
		"/apis/text-to-sound-result/" + run, "/apis/text-to-sound-result/1", "/apis/text-to-sound-result/x",
		"/apis/text-to-sound-results", "/__admin/health", "/__admin/scenarios", "/__admin/tasks", "/__admin/tasks/" + id,
		"/__admin/tasks/nope", "/__admin/clock", "/__admin/requests", "/__admin/reset", "/__files/" + run + ".wav"} {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			for _, body := range []string{"", `{}`, `{"prompt":"rain","run_ids":[` + run + `],"by":"1s"}`, `{`} {
				requests = append(requests, req{Method: method, Path: path, Body: body})
			}
		}
		requests = append(requests,
			req{Method: "GET", Path: path, Header: map[string][]string{"X-Api-Key": nil}},
			req{Method: "GET", Path: path, Header: map[string][]string{"X-Api-Key": {"wrong"}}},
			req{Method: "GET", Path: path + "?run_id=x&output_type=y&limit=z"})
	}
	for _, r := range requests {
		a := mustSend(t, ts.Client(), ts.URL, r)
		if a.Type() == wavType && a.Code == http.StatusOK &&
			(strings.HasPrefix(r.Path, "/apis/text-to-sound-result/") || strings.HasPrefix(r.Path, "/__files/")) {
			continue
		}
		checkJSON(t, r.Method+" "+r.Path+" "+r.Body, a)
	}

	// The scenarios' answers are JSON but for the HTML pages their steps give.
	for _, sc := range ts.Server().Scenarios() {
		if hasLatency(sc.Poll) {
			continue
		}
		task := ts.CreateTask(mockserver.NewTask{Scenario: sc.Name})
		for range len(sc.Poll) + 1 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond) // ends a hang
			a, err := send(ctx, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + task.ID()})
			cancel()
			if err != nil {
				continue // a fault
			}
			st := sc.Poll[task.Info().Step-1]
			what := fmt.Sprintf("%s poll step %d", sc.Name, task.Info().Step)
			switch {
			case st.Error != nil && strings.HasPrefix(st.Error.Header.Get("Content-Type"), "text/html"):
				if a.Type() != htmlType {
					t.Errorf("%s: Content-Type %q, want %q", what, a.Type(), htmlType)
				}
			case st.Fault == scenarios.FaultMalformedJSON:
				if a.Type() != jsonType || json.Valid(a.Body) {
					t.Errorf("%s: %s %q, want a cut JSON body", what, a.Type(), a.Body)
				}
			default:
				checkJSON(t, what, a)
			}
		}
	}
}

// TestResultListFollowsRequest: a translation's result holds a text for
// each text the create request sent.
func TestResultListFollowsRequest(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	r := req{Method: "POST", Path: "/apis/translate", Body: `{"texts":["one","two","three"],"source_language":1,"target_language":2}`,
		Header: map[string][]string{mockserver.ScenarioHeader: {"success"}}}
	id := taskID(t, mustSend(t, ts.Client(), ts.URL, r))
	for range 3 {
		mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/translate/" + id})
	}
	run := ts.Task(id).Info().RunID
	a := mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/translation-result/" + strconv.FormatInt(run, 10)})
	var got struct {
		Texts []string `json:"texts"`
	}
	if err := json.Unmarshal(a.Body, &got); err != nil || a.Code != 200 || len(got.Texts) != 3 {
		t.Errorf("translation result: %d %s; want 3 texts for the 3 sent", a.Code, a.Body)
	}
}

// TestTruncatedJSONResult: a truncated result asked for as JSON
// (output_type=FILE_URL) sends half of the JSON answer it would have
// sent, as JSON, then drops the connection; asked for as audio, half of
// the audio. The next request gets the whole JSON.
func TestTruncatedJSONResult(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	c := noKeepAlive(t)
	id := createTask(t, c, ts.URL, "result-truncated")
	mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id})
	run := strconv.FormatInt(ts.Task(id).Info().RunID, 10)
	a, err := send(t.Context(), c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run + "?output_type=FILE_URL"})
	if err == nil {
		t.Fatalf("truncated JSON result: read the whole answer %d %q; want the connection to drop partway", a.Code, a.Body)
	}
	if a.Code != 200 || a.Type() != jsonType || !bytes.HasPrefix(a.Body, []byte(`{"`)) || json.Valid(a.Body) {
		t.Errorf("truncated JSON result: %d %q %q; want 200, %s and the first half of a JSON object", a.Code, a.Type(), a.Body, jsonType)
	}
	whole := mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run + "?output_type=FILE_URL"})
	checkJSON(t, "the result after the truncated one", whole)
	if len(a.Body) == 0 || !bytes.HasPrefix(whole.Body, a.Body) {
		t.Errorf("the truncated answer %.200q is not the start of the whole one %.200q", a.Body, whole.Body)
	}
}
