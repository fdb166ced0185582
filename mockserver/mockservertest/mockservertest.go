// Package mockservertest starts cambmock's mock server for Go tests, as
// net/http/httptest does for an http.Handler: [NewTestServer] listens on
// 127.0.0.1 for the length of a test, and [Intercept] serves an
// *http.Client that calls https://client.camb.ai/apis without opening a
// port. It lives apart from package mockserver so that the testing
// package and httpmock stay out of programs that only serve the mock.
package mockservertest

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/internal/inproc"
	"github.com/cambmock/cambmock/scenarios"
)

// Start is the time a test server's manual clock starts at.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestServer is a mock server listening on a port of 127.0.0.1 for the
// length of a test. Create one with [NewTestServer].
type TestServer struct {
	// URL is the server's root URL, such as http://127.0.0.1:41234, with
	// no trailing slash. The API is under URL + "/apis": see [TestServer.BaseURL].
	URL string

	t      testing.TB
	srv    *mockserver.Server
	http   *httptest.Server
	manual *scenarios.ManualClock
}

// NewTestServer starts a mock server on 127.0.0.1 and closes it when the
// test ends. Setup errors fail the test.
//
// Unlike [mockserver.New], it runs on a [scenarios.ManualClock] (starting
// at [Start]) so the test moves time with [TestServer.Advance], validates
// its own responses ([mockserver.WithStrict]), and logs warnings (faults,
// 5xx answers, strict violations) to the test's output. Options given
// override these.
//
// On the manual clock a step's latency does not wait: the answer goes out
// at once and the task's history records it as sent that much later on
// the scenario clock. A client that sleeps real time between polls while
// the test never advances the clock is judged on real time for those
// intervals, and its discipline says the clock stood still.
func NewTestServer(t testing.TB, opts ...mockserver.Option) *TestServer {
	t.Helper()
	srv := newForTest(t, opts)
	ts := &TestServer{t: t, srv: srv, manual: srv.ManualClock(), http: httptest.NewServer(srv)}
	ts.URL = ts.http.URL
	t.Cleanup(ts.Close)
	return ts
}

func newForTest(t testing.TB, opts []mockserver.Option) *mockserver.Server {
	t.Helper()
	manual := scenarios.NewManualClock(Start)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	all := append([]mockserver.Option{mockserver.WithClock(manual), mockserver.WithStrict(true), mockserver.WithLogger(logger), mockserver.WithTaskTTL(0)}, opts...)
	srv, err := mockserver.New(all...)
	if err != nil {
		t.Fatalf("mockservertest.NewTestServer: %v", err)
	}
	return srv
}

// BaseURL returns the API's base URL, URL + "/apis": what a client uses in
// place of https://client.camb.ai/apis.
func (ts *TestServer) BaseURL() string { return ts.URL + "/apis" }

// Client returns an HTTP client for the server.
func (ts *TestServer) Client() *http.Client { return ts.http.Client() }

// Close shuts the server down, ending requests held by hang faults first.
// The test's cleanup calls it; calling it again does nothing.
func (ts *TestServer) Close() {
	ts.srv.Close()
	ts.http.Close()
}

// Server returns the mock server behind the listener.
func (ts *TestServer) Server() *mockserver.Server { return ts.srv }

// Clock returns the server's manual clock, or nil if [mockserver.WithClock]
// gave it another clock.
func (ts *TestServer) Clock() *scenarios.ManualClock { return ts.manual }

// Advance moves the server's manual clock forward by d. It fails the test
// if the server has no manual clock or d is negative.
func (ts *TestServer) Advance(d time.Duration) {
	ts.t.Helper()
	if ts.manual == nil {
		ts.t.Fatalf("TestServer.Advance: the server runs on a clock given with WithClock, not its manual clock")
	}
	if _, err := ts.manual.Advance(d); err != nil {
		ts.t.Fatalf("TestServer.Advance: %v", err)
	}
}

// Task returns a handle on the task with the given id, failing the test if
// there is none.
func (ts *TestServer) Task(id string) *mockserver.Task {
	ts.t.Helper()
	task, err := ts.srv.Task(id)
	if err != nil {
		ts.t.Fatalf("TestServer.Task: %v", err)
	}
	return task
}

// CreateTask creates a task as [mockserver.Server.CreateTask] does,
// failing the test on error.
func (ts *TestServer) CreateTask(nt mockserver.NewTask) *mockserver.Task {
	ts.t.Helper()
	task, err := ts.srv.CreateTask(nt)
	if err != nil {
		ts.t.Fatalf("TestServer.CreateTask: %v", err)
	}
	return task
}

// Intercept makes client serve every request to https://client.camb.ai
// from a new mock server, in process, without opening a port: for code
// that hard-codes the live base URL. Requests to any other host fail. The
// client's transport is restored when the test ends.
//
// It returns the server, configured as [NewTestServer] configures one.
// Faults are played as the client would see them on a socket: a reset is
// an ECONNRESET error, an empty response an EOF, a hang blocks until the
// request's context ends, a truncated body ends in io.ErrUnexpectedEOF.
//
// Intercept changes only the client it is given; it never touches
// http.DefaultTransport or httpmock's global state.
func Intercept(t testing.TB, client *http.Client, opts ...mockserver.Option) *mockserver.Server {
	t.Helper()
	if client == nil {
		t.Fatalf("mockservertest.Intercept: client is nil; pass the *http.Client your code uses")
	}
	srv := newForTest(t, opts)
	mt := httpmock.NewMockTransport()
	live := strings.TrimSuffix(cambmock.LiveBaseURL, "/apis")
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		if req.URL.Scheme+"://"+req.URL.Host != live {
			return nil, fmt.Errorf("cambmock intercepts only %s; this client asked for %s://%s", live, req.URL.Scheme, req.URL.Host)
		}
		return inproc.Serve(srv, req)
	})
	old := client.Transport
	client.Transport = mt
	t.Cleanup(func() {
		client.Transport = old
		srv.Close()
	})
	return srv
}
