package mockserver

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// strictly validates every on-spec answer of the API against openapi.yaml
// before it is sent ([WithStrict]). A violation is logged and answered
// with a 500 that names it.
func (s *Server) strictly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &strictWriter{ResponseWriter: w, s: s, r: r, header: http.Header{}}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

// strictWriter holds a response until it is validated. Audio is validated
// by its headers when they are written, then streamed.
type strictWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	header  http.Header
	code    int
	body    bytes.Buffer
	through bool // the headers were checked when written; the body streams
	sent    bool // the response went out
}

func (w *strictWriter) Header() http.Header {
	if w.through {
		return w.ResponseWriter.Header()
	}
	return w.header
}

func (w *strictWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	if strings.HasPrefix(w.header.Get("Content-Type"), "audio/") && code < 300 {
		// The audio is binary: its schema accepts any bytes, so the
		// headers are all there is to check, and the body can stream.
		w.through = true
		if w.skip() || w.valid(nil) {
			w.send(nil)
		}
	}
}

func (w *strictWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.through {
		if !w.sent {
			return 0, errors.New("cambmock: response replaced after a strict violation")
		}
		return w.ResponseWriter.Write(b)
	}
	return w.body.Write(b)
}

// Unwrap lets a fault reach the connection.
func (w *strictWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *strictWriter) finish() {
	if w.through {
		return
	}
	if e, ok := underlying[*exchange](w.ResponseWriter); ok && e.fault != "" && e.fault != scenarios.FaultMalformedJSON {
		return // the fault took the connection
	}
	if w.code == 0 && w.body.Len() == 0 {
		return // the handler wrote nothing: the client has gone
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.skip() || w.valid(w.body.Bytes()) {
		w.send(w.body.Bytes())
	}
}

func (w *strictWriter) send(body []byte) {
	h := w.ResponseWriter.Header()
	for k, v := range w.header {
		h[k] = v
	}
	w.ResponseWriter.WriteHeader(w.code)
	if len(body) > 0 {
		w.ResponseWriter.Write(body)
	}
	w.sent = true
}

// skip reports whether the response is exempt from validation: it belongs
// to an off-spec scenario, or plays a fault.
func (w *strictWriter) skip() bool {
	e, ok := underlying[*exchange](w.ResponseWriter)
	if !ok {
		return false
	}
	if e.fault != "" {
		return true
	}
	sc := w.s.scenarios[e.scenario]
	return sc != nil && sc.OffSpec
}

// valid validates the held response; on a violation it logs it, answers
// 500 naming it, and reports false.
func (w *strictWriter) valid(body []byte) bool {
	// kin-openapi only reads the request: a shallow copy with its own URL
	// is enough, where Clone would copy the headers on every response.
	rel, u := *w.r, *w.r.URL
	u.Path = strings.TrimPrefix(u.Path, "/apis")
	rel.URL = &u
	err := w.s.spec.ValidateResponse(w.r.Context(), &rel, w.code, w.header, body)
	if err == nil {
		return true
	}
	detail := err.Error()
	var v *cambmock.Violations
	if errors.As(err, &v) {
		detail = strings.Join(v.Problems, "; ")
	}
	w.s.log.Error("strict: the mock's own response violates openapi.yaml",
		"method", w.r.Method, "path", w.r.URL.Path, "status", w.code, "violation", detail)
	writeError(w.ResponseWriter, http.StatusInternalServerError,
		"cambmock --strict: the mock's "+strconv.Itoa(w.code)+" answer violates openapi.yaml: "+detail)
	return false
}
