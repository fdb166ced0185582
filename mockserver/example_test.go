package mockserver_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// The mock on a port of its own, on a manual clock: a client creates a
// task that plays "slow-success" (PENDING for 10 seconds), polls it every
// 4 seconds of the mock's clock without sleeping, then fetches the audio.
func ExampleNew() {
	clock := scenarios.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, err := mockserver.New(mockserver.WithClock(clock), mockserver.WithDefaultScenario("slow-success"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	base := hs.URL + "/apis" // in place of https://client.camb.ai/apis

	call := func(method, path, body string) []byte {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("x-api-key", "any-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := hs.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	var task struct {
		ID string `json:"task_id"`
	}
	json.Unmarshal(call("POST", "/text-to-sound", `{"prompt":"rain on a tin roof","duration":3}`), &task)
	start := clock.Now()
	for {
		var status struct {
			Status string `json:"status"`
			RunID  int64  `json:"run_id"`
		}
		json.Unmarshal(call("GET", "/text-to-sound/"+task.ID, ""), &status)
		fmt.Println(clock.Now().Sub(start), status.Status)
		if status.Status != "PENDING" {
			wav := call("GET", fmt.Sprint("/text-to-sound-result/", status.RunID), "")
			fmt.Printf("%s audio, %d bytes\n", wav[:4], len(wav))
			break
		}
		clock.Advance(4 * time.Second)
	}
	// Output:
	// 0s PENDING
	// 4s PENDING
	// 8s PENDING
	// 12s SUCCESS
	// RIFF audio, 132344 bytes
}

// A scenario built in Go: a 429 with Retry-After, then PENDING once, then
// SUCCESS. New checks it against openapi.yaml as it checks a file.
func ExampleWithScenarios() {
	flaky := &scenarios.Scenario{
		Name:        "flaky",
		Description: "a 429 with Retry-After, then PENDING once, then SUCCESS",
		Poll: scenarios.Script{
			{Polls: 1, Error: &scenarios.HTTPError{
				Code:   http.StatusTooManyRequests,
				Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
				Body:   `{"detail":"Too many requests"}`,
			}},
			{Polls: 1, Reply: &scenarios.Reply{Status: cambmock.StatusPending}},
			{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}},
		},
	}
	srv, err := mockserver.New(mockserver.WithScenarios(flaky))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	// Create the task directly, as a test of a client that only polls does.
	task, err := srv.CreateTask(mockserver.NewTask{Scenario: "flaky", ID: "my-task"})
	if err != nil {
		log.Fatal(err)
	}
	for range 4 {
		req, _ := http.NewRequest("GET", hs.URL+"/apis/text-to-sound/"+task.ID(), nil)
		req.Header.Set("x-api-key", "any-key")
		resp, err := hs.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if after := resp.Header.Get("Retry-After"); after != "" {
			fmt.Printf("%d (retry after %ss) %s\n", resp.StatusCode, after, body)
			continue
		}
		fmt.Printf("%d %s\n", resp.StatusCode, body)
	}
	// Output:
	// 429 (retry after 1s) {"detail":"Too many requests"}
	// 200 {"status":"PENDING","run_id":null,"exception_reason":null,"message":null}
	// 200 {"status":"SUCCESS","run_id":100001,"exception_reason":null,"message":null}
	// 200 {"status":"SUCCESS","run_id":100001,"exception_reason":null,"message":null}
}

// What a task has answered, for a test's assertions: Task.Info.
func ExampleTask_Info() {
	clock := scenarios.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, err := mockserver.New(mockserver.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	task, _ := srv.CreateTask(mockserver.NewTask{Scenario: "rate-limited"})
	for range 4 {
		req, _ := http.NewRequest("GET", hs.URL+"/apis/text-to-sound/"+task.ID(), nil)
		req.Header.Set("x-api-key", "any-key")
		if resp, err := hs.Client().Do(req); err == nil {
			resp.Body.Close()
		}
		clock.Advance(1500 * time.Millisecond)
	}
	info := task.Info()
	fmt.Printf("%s: %d polls, step %d of %d, last status %s\n", info.Scenario, info.Polls, info.Step, info.Steps, info.Status)
	for _, e := range info.History {
		fmt.Printf("%v %s step %d: %d %s\n", time.Duration(e.At), e.Endpoint, e.Step, e.Code, cmp.Or(e.Status, "-"))
	}
	// Output:
	// rate-limited: 4 polls, step 3 of 3, last status SUCCESS
	// 0s poll step 1: 429 -
	// 1.5s poll step 1: 429 -
	// 3s poll step 2: 200 PENDING
	// 4.5s poll step 3: 200 SUCCESS
}

// The server logs a line per request to the logger WithLogger gives it;
// faults and 5xx answers at Warn. This one drops the time and duration
// so that the output is stable.
func ExampleWithLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "dur" {
				return slog.Attr{}
			}
			return a
		},
	}))
	srv, err := mockserver.New(mockserver.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	srv.CreateTask(mockserver.NewTask{Scenario: "server-error", ID: "my-task"})
	for range 2 {
		req, _ := http.NewRequest("GET", hs.URL+"/apis/text-to-sound/my-task", nil)
		req.Header.Set("x-api-key", "a key that is never logged")
		if resp, err := hs.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}
	// Output:
	// level=WARN msg=request method=GET path=/apis/text-to-sound/my-task status=500 task=my-task scenario=server-error step="poll 1"
	// level=WARN msg=request method=GET path=/apis/text-to-sound/my-task status=503 task=my-task scenario=server-error step="poll 2"
}

// exampleT stands in for the *testing.T an Example does not get: it runs
// cleanups at finish and panics on a fatal error.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (e *exampleT) Helper()                           {}
func (e *exampleT) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleT) Output() io.Writer                 { return io.Discard }
func (e *exampleT) Context() context.Context          { return context.Background() }
func (e *exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (e *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (e *exampleT) finish() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// pollStatus polls a task once and returns its status, failing the test
// on an error.
func pollStatus(t testing.TB, c *http.Client, baseURL, id string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", baseURL+"/text-to-sound/"+id, nil)
	req.Header.Set("x-api-key", "any-key")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var status struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatalf("GET %s: %s: %v", req.URL, resp.Status, err)
	}
	return status.Status
}

// Discipline judges how a client polled a task: here one that ignores
// Retry-After and polls on after SUCCESS.
func ExampleTask_Discipline() {
	t := newExampleT() // in a test: the test's t
	defer t.finish()
	ts := mockservertest.NewTestServer(t)

	task := ts.CreateTask(mockserver.NewTask{Scenario: "rate-limited"})
	for range 5 { // 429, 429, PENDING, SUCCESS, SUCCESS
		pollStatus(t, ts.Client(), ts.BaseURL(), task.ID())
		ts.Advance(500 * time.Millisecond)
	}
	d := task.Discipline(mockserver.Rules{})
	fmt.Println(d.Polls, d.MedianInterval, d.Clean)
	for _, v := range d.Violations {
		fmt.Println(v)
	}
	// Output:
	// 5 500ms false
	// poll-interval: 4 poll(s) came less than 1s after the one before (fastest 500ms)
	// retry-after: 2 poll(s) came before Retry-After allowed (the worst 500ms early)
	// after-terminal: 1 poll(s) after the task reported SUCCESS
}
