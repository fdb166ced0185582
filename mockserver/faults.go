package mockserver

import (
	"crypto/hmac"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cambmock/cambmock/mockserver/internal/inproc"
	"github.com/cambmock/cambmock/scenarios"
)

// malformedBody is the JSON a malformed-json fault serves: a status body
// cut off in the middle.
const malformedBody = `{"status":"SUCCESS","run_id":12`

// fault plays f on the connection of ex.
func (s *Server) fault(ex *exchange, r *http.Request, f scenarios.Fault) {
	ex.fault = f
	if f == scenarios.FaultMalformedJSON {
		h := ex.Header()
		h["Content-Type"] = ctJSON
		h.Set("Content-Length", strconv.Itoa(len(malformedBody)))
		ex.WriteHeader(http.StatusOK)
		ex.Write([]byte(malformedBody))
		return
	}
	if f == scenarios.FaultHang {
		s.hang(r)
	}
	if fw, ok := underlying[inproc.Faulter](ex); ok {
		fw.PlayFault(f)
		return
	}
	conn, _, err := http.NewResponseController(ex.ResponseWriter).Hijack()
	if err != nil {
		// No socket to break (HTTP/2, or a recorder): abort the handler,
		// which drops the stream or connection.
		panic(http.ErrAbortHandler)
	}
	if f == scenarios.FaultReset {
		if tcp, ok := conn.(*net.TCPConn); ok {
			// Linger 0 makes Close send a RST instead of a FIN.
			tcp.SetLinger(0)
		}
	}
	conn.Close()
}

// hang holds a request until the client gives up, the server closes, or
// the hang limit passes on the scenario clock: on a manual clock, when the
// clock is moved past it, and at the latest when it passes in real time.
func (s *Server) hang(r *http.Request) {
	limit := s.cfg.hangLimit
	real := time.NewTimer(time.Duration(float64(limit) * s.scale))
	defer real.Stop()
	if s.manual == nil {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		case <-real.C:
		}
		return
	}
	until := s.manual.Now().Add(limit)
	for {
		changed := s.manual.Changed()
		if !s.manual.Now().Before(until) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-real.C:
			return
		case <-changed:
		}
	}
}

// truncate plays a truncated fault where no audio is served: the headers
// and half of partial (a body of the endpoint's shape), then the
// connection drops.
func (s *Server) truncate(ex *exchange, r *http.Request, partial []byte) {
	h := ex.Header()
	h["Content-Type"] = ctJSON
	h.Set("Content-Length", strconv.Itoa(len(partial)))
	ex.WriteHeader(http.StatusOK)
	ex.Write(partial[:len(partial)/2])
	ex.flush()
	s.fault(ex, r, scenarios.FaultTruncated)
}

func hmacEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
