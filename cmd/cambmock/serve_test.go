package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serving is a run of cambmock serve in a goroutine.
type serving struct {
	url    string // the root URL the server logged, such as http://127.0.0.1:41234
	logs   *syncBuffer
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	ended  bool
}

// startServe runs "cambmock serve args..." with the environment env until
// [serving.stop] or the end of the test, and learns its address from the
// "cambmock serving" log line.
func startServe(t *testing.T, env map[string]string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &serving{
		logs:   &syncBuffer{},
		client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	go func() {
		s.done <- run(ctx, append([]string{"serve"}, args...), io.Discard, s.logs, getenv(env))
	}()
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		if !s.ended {
			cancel()
			<-s.done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for s.url == "" {
		for _, l := range logLines(t, s.logs.String()) {
			if l["msg"] == "cambmock serving" {
				base, ok := strings.CutSuffix(l["base_url"], "/apis")
				if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
					t.Fatalf("cambmock serve logged base_url=%q; want http://127.0.0.1:PORT/apis with the port it listens on", l["base_url"])
				}
				s.url = base
			}
		}
		select {
		case err := <-s.done:
			s.ended = true
			t.Fatalf("cambmock serve %q ended at start: %v\nlogs:\n%s", args, err, s.logs)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cambmock serve %q logged no \"cambmock serving\" line in 5s; logs:\n%s", args, s.logs)
		}
	}
	return s
}

// stop cancels the server's context and returns what run returned. It
// fails the test if run takes more than 5 seconds to return.
func (s *serving) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.ended = true
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("run did not return within 5s of the context's end; logs:\n%s", s.logs)
		return nil
	}
}

// do sends a request to the server; key "" sends no x-api-key.
func (s *serving) do(t *testing.T, method, path, key string, header http.Header, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// createTask creates a task playing scenario ("" for the default) and
// returns its id.
func (s *serving) createTask(t *testing.T, key, scenario string) string {
	t.Helper()
	h := http.Header{}
	if scenario != "" {
		h.Set("X-Cambmock-Scenario", scenario)
	}
	code, body := s.do(t, http.MethodPost, "/apis/text-to-sound", key, h, `{"prompt":"rain on a tin roof","duration":3}`)
	var created struct {
		TaskID string `json:"task_id"`
	}
	if err := json.Unmarshal(body, &created); code != http.StatusOK || err != nil || created.TaskID == "" {
		t.Fatalf("POST /apis/text-to-sound (scenario %q) = %d %s; want 200 and a task_id", scenario, code, body)
	}
	return created.TaskID
}

// pollStatus polls a task once and returns the status body it got.
func (s *serving) pollStatus(t *testing.T, key, id string) map[string]any {
	t.Helper()
	code, body := s.do(t, http.MethodGet, "/apis/text-to-sound/"+id, key, nil, "")
	var status map[string]any
	if err := json.Unmarshal(body, &status); code != http.StatusOK || err != nil {
		t.Fatalf("GET /apis/text-to-sound/%s = %d %q; want 200 and a status body", id, code, body)
	}
	return status
}

// logLines parses log output, text (logfmt) or JSON lines, into maps of
// key to value. A line that is neither fails the test.
func logLines(t *testing.T, logs string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSuffix(logs, "\n"), "\n") {
		if line == "" {
			continue
		}
		l, err := parseLogLine(line)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

func parseLogLine(line string) (map[string]string, error) {
	l := map[string]string{}
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("not JSON: %v", err)
		}
		for k, v := range m {
			l[k] = fmt.Sprint(v)
		}
		return l, nil
	}
	rest := line
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, ` "`) {
			return nil, fmt.Errorf("not key=value at %q", rest)
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, fmt.Errorf("bad quoted value at %q", after)
			}
			value, _ = strconv.Unquote(q)
			after = after[len(q):]
		} else {
			value, after, _ = strings.Cut(after, " ")
			after = " " + after
		}
		l[key] = value
		rest = strings.TrimPrefix(after, " ")
	}
	return l, nil
}

// requestLine is what the tests compare of a request's log line.
type requestLine struct {
	Method, Path, Status, Task, Scenario, Step string
}

// requestLines returns the "request" log lines, checking that each has
// every key and a duration.
func requestLines(t *testing.T, logs string) []requestLine {
	t.Helper()
	var out []requestLine
	for _, l := range logLines(t, logs) {
		if l["msg"] != "request" {
			continue
		}
		for _, k := range []string{"method", "path", "status", "task", "scenario", "step", "dur"} {
			if _, ok := l[k]; !ok {
				t.Errorf("request log line %v has no %q", l, k)
			}
		}
		if _, err := time.ParseDuration(l["dur"]); err != nil {
			if n, err2 := strconv.ParseFloat(l["dur"], 64); err2 != nil || n < 0 {
				t.Errorf("request log line %v: dur %q is not a duration: %v", l, l["dur"], err)
			}
		}
		out = append(out, requestLine{l["method"], l["path"], l["status"], l["task"], l["scenario"], l["step"]})
	}
	return out
}

func TestServe(t *testing.T) {
	t.Parallel()
	const key = "sk-cambmock-serve-test-5c2e71d9"
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--api-key", key)

	code, body := s.do(t, http.MethodGet, "/__admin/health", "", nil, "")
	var health struct {
		Status string `json:"status"`
		Clock  string `json:"clock"`
	}
	if err := json.Unmarshal(body, &health); code != http.StatusOK || err != nil || health.Status != "ok" || health.Clock != "real" {
		t.Errorf("GET /__admin/health = %d %s; want 200 with status ok and clock real", code, body)
	}

	id := s.createTask(t, key, "success")
	var statuses []string
	var runID any
	for range 3 {
		st := s.pollStatus(t, key, id)
		statuses = append(statuses, fmt.Sprint(st["status"]))
		runID = st["run_id"]
	}
	if diff := cmp.Diff([]string{"PENDING", "PENDING", "SUCCESS"}, statuses); diff != "" {
		t.Errorf("polls of a success task mismatch (-want +got):\n%s", diff)
	}
	if n, ok := runID.(float64); !ok || n != float64(int64(n)) {
		t.Errorf("SUCCESS run_id = %v; want an integer", runID)
	}

	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v after the context ended; want nil", err)
	}
	logs := s.logs.String()
	poll := "/apis/text-to-sound/" + id
	want := []requestLine{
		{"GET", "/__admin/health", "200", "", "", ""},
		{"POST", "/apis/text-to-sound", "200", id, "success", "create normal"},
		{"GET", poll, "200", id, "success", "poll 1"},
		{"GET", poll, "200", id, "success", "poll 1"},
		{"GET", poll, "200", id, "success", "poll 2"},
	}
	if diff := cmp.Diff(want, requestLines(t, logs)); diff != "" {
		t.Errorf("request log lines mismatch (-want +got):\n%s\nlogs:\n%s", diff, logs)
	}
	if strings.Contains(logs, key) {
		t.Errorf("the logs hold the API key %q:\n%s", key, logs)
	}
	for _, msg := range []string{"cambmock serving", "cambmock stopped"} {
		if !strings.Contains(logs, `msg="`+msg+`"`) {
			t.Errorf("the logs have no %q line:\n%s", msg, logs)
		}
	}
}

func TestServeJSONLogs(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--log-format", "json")
	s.do(t, http.MethodGet, "/__admin/health", "", nil, "")
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v; want nil", err)
	}
	logs := s.logs.String()
	for _, line := range strings.Split(strings.TrimSuffix(logs, "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("--log-format json wrote a line that is not JSON: %q", line)
		}
	}
	want := []requestLine{{"GET", "/__admin/health", "200", "", "", ""}}
	if diff := cmp.Diff(want, requestLines(t, logs)); diff != "" {
		t.Errorf("request log lines mismatch (-want +got):\n%s\nlogs:\n%s", diff, logs)
	}
}

// TestServeEnvironment sets every flag the test needs through its
// environment variable.
func TestServeEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CAMBMOCK_ADDR":       "127.0.0.1:0",
		"CAMBMOCK_SCENARIO":   "error",
		"CAMBMOCK_API_KEY":    "env-key-1, env-key-2",
		"CAMBMOCK_LOG_FORMAT": "json",
		"CAMBMOCK_CLOCK":      "manual",
	}
	s := startServe(t, env)
	id := s.createTask(t, "env-key-2", "")
	s.pollStatus(t, "env-key-1", id)
	if got := s.pollStatus(t, "env-key-1", id); got["status"] != "ERROR" {
		t.Errorf("second poll of a task of $CAMBMOCK_SCENARIO=error = %v; want status ERROR", got)
	}
	if code, _ := s.do(t, http.MethodGet, "/apis/text-to-sound/"+id, "env-key-3", nil, ""); code != http.StatusForbidden {
		t.Errorf("poll with a key $CAMBMOCK_API_KEY does not list = %d; want 403", code)
	}
	code, body := s.do(t, http.MethodGet, "/__admin/clock", "", nil, "")
	var clock struct {
		Clock string `json:"clock"`
	}
	if err := json.Unmarshal(body, &clock); code != http.StatusOK || err != nil || clock.Clock != "manual" {
		t.Errorf("GET /__admin/clock with $CAMBMOCK_CLOCK=manual = %d %s; want the manual clock", code, body)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v; want nil", err)
	}
	for _, l := range requestLines(t, s.logs.String()) {
		if l.Task == id && l.Scenario != "error" {
			t.Errorf("request log line %+v; want scenario error, from $CAMBMOCK_SCENARIO", l)
		}
	}
}

// TestServeFlagBeatsEnvironment checks that a flag wins over its variable.
func TestServeFlagBeatsEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CAMBMOCK_ADDR": "nonsense", "CAMBMOCK_SCENARIO": "nope", "CAMBMOCK_API_KEY": "env-key"}
	s := startServe(t, env, "--addr", "127.0.0.1:0", "--scenario", "stuck", "--api-key", "flag-key")
	if code, _ := s.do(t, http.MethodGet, "/apis/text-to-sound/x", "env-key", nil, ""); code != http.StatusForbidden {
		t.Errorf("a key from $CAMBMOCK_API_KEY, with --api-key given = %d; want 403 (the flag replaces the list)", code)
	}
	id := s.createTask(t, "flag-key", "")
	if got := s.pollStatus(t, "flag-key", id); got["status"] != "PENDING" {
		t.Errorf("poll of a task of --scenario stuck = %v; want PENDING", got)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v; want nil", err)
	}
}

func TestServeAPIKeys(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--api-key", "k1", "--api-key", "k2")
	tests := []struct {
		key  string
		want int
	}{
		{"k1", http.StatusNotFound}, // accepted: the task is unknown
		{"k2", http.StatusNotFound},
		{"k3", http.StatusForbidden},
		{"", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		code, body := s.do(t, http.MethodGet, "/apis/text-to-sound/no-such-task", tt.key, nil, "")
		if code != tt.want {
			t.Errorf("GET /apis/text-to-sound/no-such-task with key %q = %d %s; want %d", tt.key, code, body, tt.want)
		}
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v; want nil", err)
	}
	if logs := s.logs.String(); strings.Contains(logs, "k3") || !strings.Contains(logs, `api_keys="2 key(s) given"`) {
		t.Errorf("logs show a key, or do not say 2 keys were given:\n%s", logs)
	}
}

// TestServeDrains cancels the server while a poll is held by a step's
// latency: the poll must still get its answer.
func TestServeDrains(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil, "--addr", "127.0.0.1:0")
	id := s.createTask(t, "k", "slow-poll")

	type answer struct {
		code int
		body []byte
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/apis/text-to-sound/"+id, nil)
		req.Header.Set("X-Api-Key", "k")
		resp, err := s.client.Do(req)
		if err != nil {
			answered <- answer{0, []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			b = []byte(err.Error())
		}
		answered <- answer{resp.StatusCode, b}
	}()
	// Wait until the server holds the poll: the task has counted it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, body := s.do(t, http.MethodGet, "/__admin/tasks/"+id, "", nil, "")
		var info struct {
			Polls int `json:"polls"`
		}
		json.Unmarshal(body, &info)
		if info.Polls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the poll did not reach the server in 5s: %s", body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.client.CloseIdleConnections()

	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v with a poll in flight; want nil", err)
	}
	a := <-answered
	var status struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(a.body, &status); a.code != http.StatusOK || err != nil || status.Status != "PENDING" {
		t.Errorf("the poll in flight at shutdown got %d %q; want 200 and a PENDING status body", a.code, a.body)
	}
}

// writeScenario writes a file in dir and returns its path.
func writeScenario(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const userScenario = `description: a user's scenario; PENDING once, then SUCCESS
poll:
  - status: PENDING
    polls: 1
  - status: SUCCESS
`

func TestServeUserScenarios(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeScenario(t, dir, "my-beep.yaml", userScenario)
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--scenarios", dir)
	id := s.createTask(t, "k", "my-beep")
	var statuses []string
	for range 2 {
		statuses = append(statuses, fmt.Sprint(s.pollStatus(t, "k", id)["status"]))
	}
	if diff := cmp.Diff([]string{"PENDING", "SUCCESS"}, statuses); diff != "" {
		t.Errorf("polls of a my-beep task mismatch (-want +got):\n%s", diff)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v; want nil", err)
	}
}

func TestServeBadScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  func(dir string) string // the error, word for word
	}{
		{
			name: "unknown-key",
			files: map[string]string{"typo.yaml": `description: a typo on line 3
poll:
  - latncy: 10ms
    status: SUCCESS
`},
			want: func(dir string) string {
				return "loading scenarios:\n" + filepath.Join(dir, "typo.yaml") +
					`:3:5: unknown key "latncy" in poll step 1; allowed: polls, for, forever, status, run_id, exception_reason, message, extra, error, fault, latency`
			},
		},
		{
			name:  "builtin-name",
			files: map[string]string{"success.yaml": userScenario},
			want: func(dir string) string {
				return `mockserver: scenario "success" from ` + filepath.Join(dir, "success.yaml") +
					" is already defined by scenarios/success.yaml; give it another name"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, text := range tt.files {
				writeScenario(t, dir, name, text)
			}
			want := tt.want(dir)
			// scenarios lists what serve would play, so it fails alike.
			for _, args := range [][]string{
				{"serve", "--addr", "127.0.0.1:0", "--scenarios", dir},
				{"scenarios", "--scenarios", dir},
			} {
				cmd := args[0]
				r := runCmd(t, nil, args...)
				if r.err == nil {
					t.Errorf("cambmock %s --scenarios DIR: no error; want %q", cmd, want)
					continue
				}
				if diff := cmp.Diff(want, r.err.Error()); diff != "" {
					t.Errorf("cambmock %s --scenarios DIR error mismatch (-want +got):\n%s", cmd, diff)
				}
				if r.code != 2 {
					t.Errorf("cambmock %s --scenarios DIR: exit %d; want 2, as for any bad input of the user's", cmd, r.code)
				}
			}
		})
	}
}

// TestServeDashboard: serve serves the dashboard at the address its
// "cambmock serving" line gives.
func TestServeDashboard(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil, "--addr", "127.0.0.1:0")
	var dash string
	for _, l := range logLines(t, s.logs.String()) {
		if l["msg"] == "cambmock serving" {
			dash = l["dashboard"]
		}
	}
	if dash != s.url+"/__admin/ui/" {
		t.Errorf("the serving line gives dashboard=%q, want %s/__admin/ui/", dash, s.url)
	}
	code, body := s.do(t, http.MethodGet, "/__admin/ui/", "", nil, "")
	if code != http.StatusOK || !strings.Contains(string(body), "data-journal") {
		t.Errorf("GET /__admin/ui/ = %d %.80q; want 200 with the dashboard", code, body)
	}
}
