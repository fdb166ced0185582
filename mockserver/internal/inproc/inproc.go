// Package inproc serves an http.Handler in process, without a socket:
// [Serve] turns one request into the *http.Response a client would read
// from a connection, and faults the handler plays on its ResponseWriter
// become the errors a socket would give. mockservertest.Intercept uses it.
package inproc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"

	"github.com/cambmock/cambmock/scenarios"
)

// A Faulter is a ResponseWriter with no socket beneath it, which plays
// faults its own way. The mock's fault code looks for one in the writer
// chain before it hijacks a connection.
type Faulter interface {
	PlayFault(f scenarios.Fault)
}

// Serve runs h for req and streams its answer back as an *http.Response,
// as a socket would: the response is returned when the headers are
// written, and its body reads what the handler writes after them.
func Serve(h http.Handler, req *http.Request) (*http.Response, error) {
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

// pipeWriter is the ResponseWriter of [Serve].
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

// PlayFault ends the exchange as the fault would end a connection.
func (w *pipeWriter) PlayFault(f scenarios.Fault) {
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
