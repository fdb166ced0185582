package mockservertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// In a test, the mock starts in one line. (An Example has no *testing.T,
// so this one passes a stand-in; in a test, pass the test's t.)
func ExampleNewTestServer() {
	t := newExampleT()
	defer t.finish()

	ts := mockservertest.NewTestServer(t) // on 127.0.0.1, strict, on a manual clock; closed when t ends

	// Point the client under test at ts.BaseURL() in place of
	// https://client.camb.ai/apis. Here, a task the client polls:
	task := ts.CreateTask(mockserver.NewTask{Scenario: "slow-success"})
	fmt.Println(pollStatus(t, ts.Client(), ts.BaseURL(), task.ID()))
	ts.Advance(10 * time.Second) // no sleeping
	fmt.Println(pollStatus(t, ts.Client(), ts.BaseURL(), task.ID()))

	info := ts.Task(task.ID()).Info() // what the mock answered
	fmt.Println(info.Polls, info.Status)
	// Output:
	// PENDING
	// SUCCESS
	// 2 SUCCESS
}

// For code that calls https://client.camb.ai/apis itself, Intercept serves
// its *http.Client in process, with no port.
func ExampleIntercept() {
	t := newExampleT() // in a test: the test's t
	defer t.finish()

	client := &http.Client{} // the client the code under test uses
	srv := mockservertest.Intercept(t, client)

	task, _ := srv.CreateTask(mockserver.NewTask{Scenario: "success"})
	for range 3 {
		fmt.Println(pollStatus(t, client, cambmock.LiveBaseURL, task.ID()))
	}
	// Output:
	// PENDING
	// PENDING
	// SUCCESS
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

// TestNewTestServer_example runs the code of ExampleNewTestServer.
func TestNewTestServer_example(t *testing.T) {
	ts := mockservertest.NewTestServer(t)

	task := ts.CreateTask(mockserver.NewTask{Scenario: "slow-success"})
	if got := pollStatus(t, ts.Client(), ts.BaseURL(), task.ID()); got != "PENDING" {
		t.Errorf("before 10s: status %s, want PENDING", got)
	}
	ts.Advance(10 * time.Second)
	if got := pollStatus(t, ts.Client(), ts.BaseURL(), task.ID()); got != "SUCCESS" {
		t.Errorf("after 10s: status %s, want SUCCESS", got)
	}
	if info := ts.Task(task.ID()).Info(); info.Polls != 2 || info.Status != "SUCCESS" {
		t.Errorf("Task.Info(): %d polls, last status %s; want 2, SUCCESS", info.Polls, info.Status)
	}
	if ts.BaseURL() != ts.URL+"/apis" || strings.HasSuffix(ts.URL, "/") || !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q, BaseURL %q: want http://127.0.0.1:PORT and that plus /apis", ts.URL, ts.BaseURL())
	}
}

// TestIntercept_example runs the code of ExampleIntercept.
func TestIntercept_example(t *testing.T) {
	client := &http.Client{}
	srv := mockservertest.Intercept(t, client)

	task, err := srv.CreateTask(mockserver.NewTask{Scenario: "success"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		got = append(got, pollStatus(t, client, cambmock.LiveBaseURL, task.ID()))
	}
	if want := "PENDING PENDING SUCCESS"; strings.Join(got, " ") != want {
		t.Errorf("statuses %q, want %s", got, want)
	}
}
