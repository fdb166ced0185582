package mockserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// The helpers of the package's tests: a client that sends one request and
// reads the whole answer, and what a client sees of a task's poll.

const (
	testKey  = "test-key"
	jsonType = "application/json"
	htmlType = "text/html; charset=utf-8"
	wavType  = "audio/wav"
)

// answer is a complete HTTP answer.
type answer struct {
	Code   int
	Header http.Header
	Body   []byte
}

// Type returns the answer's Content-Type.
func (a answer) Type() string { return a.Header.Get("Content-Type") }

// req is a request of a test. Header holds extra headers; a nil value
// removes a default one (x-api-key, Content-Type).
type req struct {
	Method, Path string
	Body         string
	Header       map[string][]string
}

// noKeepAlive returns a client that opens a connection per request, so that
// the Go transport never retries a request whose reused connection broke,
// which would hide a reset or an empty answer.
func noKeepAlive(t testing.TB) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer to check, not to follow
		},
	}
}

// send sends r to the server at root (its URL without /apis) with the
// test's key and a JSON Content-Type, and reads the whole answer. A failed
// request or body is returned as the error.
func send(ctx context.Context, c *http.Client, root string, r req) (answer, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, r.Method, root+r.Path, body)
	if err != nil {
		return answer{}, err
	}
	hr.Header.Set("X-Api-Key", testKey)
	if r.Body != "" {
		hr.Header.Set("Content-Type", jsonType)
	}
	for k, v := range r.Header {
		if v == nil {
			hr.Header.Del(k)
			continue
		}
		hr.Header[http.CanonicalHeaderKey(k)] = v
	}
	resp, err := c.Do(hr)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := answer{Code: resp.StatusCode, Header: resp.Header, Body: b}
	return a, err
}

// mustSend is send that fails the test on a transport error.
func mustSend(t testing.TB, c *http.Client, root string, r req) answer {
	t.Helper()
	a, err := send(t.Context(), c, root, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	return a
}

// checkJSON reports an answer that is not JSON with a JSON Content-Type.
func checkJSON(t testing.TB, what string, a answer) {
	t.Helper()
	if got := a.Type(); got != jsonType {
		t.Errorf("%s: Content-Type = %q, want %q (body %.200q)", what, got, jsonType, a.Body)
	}
	if !json.Valid(a.Body) {
		t.Errorf("%s: the body is not valid JSON: %.200q", what, a.Body)
	}
}

// createTask creates a task that plays scenario over HTTP and returns its id.
func createTask(t testing.TB, c *http.Client, root, scenario string) string {
	t.Helper()
	a := mustSend(t, c, root, req{Method: "POST", Path: "/apis/text-to-sound",
		Body:   `{"prompt":"rain on a tin roof","duration":2}`,
		Header: map[string][]string{mockserver.ScenarioHeader: {scenario}}})
	return taskID(t, a)
}

// taskID returns the task_id of a 200 answer to a create request.
func taskID(t testing.TB, a answer) string {
	t.Helper()
	var created struct {
		TaskID string `json:"task_id"`
	}
	if a.Code != http.StatusOK || json.Unmarshal(a.Body, &created) != nil || created.TaskID == "" {
		t.Fatalf("create: got %d %q, want 200 with a task_id", a.Code, a.Body)
	}
	return created.TaskID
}

// seen is what a client sees of one answer: its status, its Content-Type
// and Retry-After headers, and for a 200 status body its fields (as JSON,
// with extra fields by name). A request that failed has Fault set to the
// fault its error shows, as [classify] reads it.
type seen struct {
	Code       int
	Type       string
	RetryAfter string
	Status     string   // "status", unquoted
	RunID      string   // "run_id" as JSON
	Reason     string   // "exception_reason" as JSON
	Message    string   // "message" as JSON
	Extra      []string // other fields' names, sorted
	Fault      scenarios.Fault
}

// runIDPlaceholder stands for the run id a task was given, in wanted
// sequences: the server picks it.
const runIDPlaceholder = "<run>"

// status is a 200 status body with status s and every other field null.
func status(s string) seen {
	return seen{Code: 200, Type: jsonType, Status: s, RunID: "null", Reason: "null", Message: "null"}
}

// success is a 200 SUCCESS body with the task's run id.
func success() seen {
	s := status("SUCCESS")
	s.RunID = runIDPlaceholder
	return s
}

// failed is a 200 body of a failed task.
func failed(s, reason, message string) seen {
	f := status(s)
	f.Reason, f.Message = reason, message
	return f
}

// httpError is an error answer, with its Retry-After header if any.
func httpError(code int, ctype, retryAfter string) seen {
	return seen{Code: code, Type: ctype, RetryAfter: retryAfter}
}

// fault is a request that failed as f fails it.
func fault(f scenarios.Fault) seen {
	if f == scenarios.FaultMalformedJSON {
		return seen{Code: 200, Type: jsonType, Fault: f}
	}
	return seen{Fault: f}
}

// classify names the fault a client's error shows: a reset connection is
// ECONNRESET, an empty answer EOF, a hang the request's deadline and a cut
// body an unexpected EOF. Any other error is returned.
func classify(err error) (scenarios.Fault, error) {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return scenarios.FaultReset, nil
	case errors.Is(err, context.DeadlineExceeded):
		return scenarios.FaultHang, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return scenarios.FaultTruncated, nil
	case errors.Is(err, io.EOF):
		return scenarios.FaultEmpty, nil
	}
	return "", fmt.Errorf("an error no fault explains: %w", err)
}

// see turns an answer, or its error, into what the client saw of it,
// without reading the body.
func see(a answer, err error) (seen, error) {
	if err != nil {
		f, err := classify(err)
		if err != nil {
			return seen{}, err
		}
		if f == scenarios.FaultTruncated {
			return seen{Code: a.Code, Type: a.Type(), Fault: f}, nil
		}
		return seen{Fault: f}, nil
	}
	return seen{Code: a.Code, Type: a.Type(), RetryAfter: a.Header.Get("Retry-After")}, nil
}

// seeStatus is see for the answer to a status poll: it reads the fields of
// a 200 JSON body.
func seeStatus(a answer, err error) (seen, error) {
	s, err := see(a, err)
	if err != nil || s.Fault != "" || s.Code != http.StatusOK || s.Type != jsonType {
		return s, err
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(a.Body, &body); err != nil {
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) {
			return seen{}, fmt.Errorf("the 200 body %q: %w", a.Body, err)
		}
		s.Fault = scenarios.FaultMalformedJSON
		return s, nil
	}
	if err := json.Unmarshal(body["status"], &s.Status); err != nil {
		return seen{}, fmt.Errorf("the 200 body %q has no string status", a.Body)
	}
	s.RunID, s.Reason, s.Message = string(body["run_id"]), string(body["exception_reason"]), string(body["message"])
	for k := range body {
		switch k {
		case "status", "run_id", "exception_reason", "message":
		default:
			s.Extra = append(s.Extra, k)
		}
	}
	slices.Sort(s.Extra)
	return s, nil
}

// pollTask polls a task once, giving up after timeout.
func pollTask(ctx context.Context, c *http.Client, root, id string, timeout time.Duration) (seen, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return seeStatus(send(ctx, c, root, req{Method: "GET", Path: "/apis/text-to-sound/" + id}))
}

// lockedBuffer is a bytes.Buffer that a server's logger writes to while a
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLines waits until b holds at least n lines and returns them. The
// server logs a request after its answer has gone out, so a client can see
// the answer first.
func (b *lockedBuffer) waitLines(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if lines[0] == "" {
			lines = nil
		}
		if len(lines) >= n || time.Now().After(deadline) {
			if len(lines) < n {
				t.Fatalf("the log holds %d lines after 5s, want %d:\n%s", len(lines), n, b.String())
			}
			return lines
		}
		time.Sleep(time.Millisecond)
	}
}

// waitInFlight waits until task id has a request in flight, for at most
// 10 s; done is where the request's goroutine sends what it saw, so that
// a poll that ended at once fails the test rather than leaving it waiting.
func waitInFlight(t *testing.T, ts *mockservertest.TestServer, id string, done <-chan seen) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ts.Task(id).Info().InFlight == 0 {
		select {
		case s := <-done:
			t.Fatalf("the poll of task %s ended before it was in flight: %+v", id, s)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s had no request in flight after 10 s", id)
		}
	}
}
