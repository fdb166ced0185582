package mockserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// TestStart is the time a test server's manual clock starts at.
var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestServer is a mock server listening on a port of 127.0.0.1 for the
// length of a test. Create one with [NewTestServer].
type TestServer struct {
	// URL is the server's root URL, such as http://127.0.0.1:41234, with
	// no trailing slash. The API is under URL + "/apis": see [TestServer.BaseURL].
	URL string

	t      testing.TB
	srv    *Server
	http   *httptest.Server
	manual *scenarios.ManualClock
}

// NewTestServer starts a mock server on 127.0.0.1 and closes it when the
// test ends. Setup errors fail the test.
//
// Unlike [New], it runs on a [scenarios.ManualClock] (starting at
// 2026-01-01T00:00:00Z) so the test moves time with [TestServer.Advance],
// validates its own responses ([WithStrict]), and logs warnings (faults,
// 5xx answers, strict violations) to the test's output. Options given
// override these.
func NewTestServer(t testing.TB, opts ...Option) *TestServer {
	t.Helper()
	srv, manual := newForTest(t, opts)
	ts := &TestServer{t: t, srv: srv, manual: manual, http: httptest.NewServer(srv)}
	ts.URL = ts.http.URL
	t.Cleanup(ts.Close)
	return ts
}

func newForTest(t testing.TB, opts []Option) (*Server, *scenarios.ManualClock) {
	t.Helper()
	manual := scenarios.NewManualClock(testStart)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	all := append([]Option{WithClock(manual), WithStrict(true), WithLogger(logger)}, opts...)
	srv, err := New(all...)
	if err != nil {
		t.Fatalf("mockserver.NewTestServer: %v", err)
	}
	return srv, srv.manual
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
func (ts *TestServer) Server() *Server { return ts.srv }

// Clock returns the server's manual clock, or nil if [WithClock] gave it
// another clock.
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
func (ts *TestServer) Task(id string) *Task {
	ts.t.Helper()
	task, err := ts.srv.Task(id)
	if err != nil {
		ts.t.Fatalf("TestServer.Task: %v", err)
	}
	return task
}

// CreateTask creates a task as [Server.CreateTask] does, failing the test
// on error.
func (ts *TestServer) CreateTask(nt NewTask) *Task {
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
func Intercept(t testing.TB, client *http.Client, opts ...Option) *Server {
	t.Helper()
	if client == nil {
		t.Fatalf("mockserver.Intercept: client is nil; pass the *http.Client your code uses")
	}
	srv, _ := newForTest(t, opts)
	mt := httpmock.NewMockTransport()
	live := strings.TrimSuffix(cambmock.LiveBaseURL, "/apis")
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		if req.URL.Scheme+"://"+req.URL.Host != live {
			return nil, fmt.Errorf("cambmock intercepts only %s; this client asked for %s://%s", live, req.URL.Scheme, req.URL.Host)
		}
		return serveInProcess(srv, req)
	})
	old := client.Transport
	client.Transport = mt
	t.Cleanup(func() {
		client.Transport = old
		srv.Close()
	})
	return srv
}

// serveInProcess runs the handler for req and streams its answer back as
// an *http.Response, as a socket would.
func serveInProcess(h http.Handler, req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{}), ctx: req.Context()}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				err := io.ErrUnexpectedEOF
				if v != http.ErrAbortHandler {
					err = fmt.Errorf("cambmock: the handler panicked: %v", v)
				}
				w.abort(err)
				return
			}
			w.commit()
			pw.Close()
		}()
		h.ServeHTTP(w, req)
	}()
	<-w.ready
	if w.err != nil {
		return nil, w.err
	}
	resp := &http.Response{
		Status:        strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode:    w.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	if req.Method == http.MethodHead {
		pr.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
}

// pipeWriter is the ResponseWriter of [serveInProcess].
type pipeWriter struct {
	header http.Header
	sent   http.Header
	code   int
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}   // closed when the headers are sent or the request failed
	err    error           // why the request failed before headers; set before ready closes
	ctx    context.Context // the request's, which ends a hang
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.code = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) commit() { w.WriteHeader(http.StatusOK) }

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.body.Write(b)
}

// Flush is a no-op: writes reach the reader at once.
func (w *pipeWriter) Flush() {}

func (w *pipeWriter) abort(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.ready)
	})
	w.body.CloseWithError(err)
}

func (w *pipeWriter) playFault(f scenarios.Fault) {
	switch f {
	case scenarios.FaultReset:
		w.abort(fmt.Errorf("read tcp: %w", syscall.ECONNRESET))
	case scenarios.FaultHang:
		// The client's own error when its context ended the hang, as on a
		// socket: the transport may see this one before the context's.
		if err := w.ctx.Err(); err != nil {
			w.abort(fmt.Errorf("cambmock: the request hung until it was cancelled: %w", err))
			return
		}
		w.abort(fmt.Errorf("cambmock: the request hung until the server gave up: %w", io.EOF))
	case scenarios.FaultEmpty:
		w.abort(io.EOF)
	default:
		w.abort(io.ErrUnexpectedEOF)
	}
}
