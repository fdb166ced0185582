package mockserver

import (
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

// fault plays f on the connection of w.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f scenarios.Fault) {
	if f == scenarios.FaultMalformedJSON {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(malformedBody)))
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(malformedBody))
		return
	}
	if f == scenarios.FaultHang {
		timer := time.NewTimer(s.cfg.hangLimit)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
		case <-s.closing:
		case <-timer.C:
		}
	}
	if fw, ok := underlying[inproc.Faulter](w); ok {
		fw.PlayFault(f)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
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
