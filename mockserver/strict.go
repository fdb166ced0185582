package mockserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// strictCache is what strict mode knows before it is asked: which
// answers were checked when the server started, and the verdicts on
// answers whose validity depends only on their operation, code and shape.
type strictCache struct {
	// exactRunIDs is true when every integer is a valid run_id of the
	// status answer, so that a reply checked with one run id holds for all.
	exactRunIDs bool
	mu          sync.Mutex
	verdicts    map[string]string // operation, code and shape -> "" or the violation
}

// prepareStrict settles what strict mode can settle at start. On-spec
// scenarios were checked against every kind's operations when they
// loaded (scenarios.Scenario.Check), so their status bodies and errors
// need no checking as they go out, but for the run id each carries.
func (s *Server) prepareStrict() error {
	s.strict.verdicts = map[string]string{}
	s.strict.exactRunIDs = true
	for _, k := range s.kinds {
		sch := k.Status.JSONSchema(http.StatusOK)
		if sch == nil || sch.Properties["run_id"] == nil || sch.Properties["run_id"].Value == nil {
			continue
		}
		p := sch.Properties["run_id"].Value
		if p.Min != nil || p.Max != nil || len(p.Enum) > 0 || p.MultipleOf != nil || p.Format != "" && p.Format != "int64" ||
			len(p.OneOf)+len(p.AnyOf)+len(p.AllOf) > 0 || p.Not != nil {
			s.strict.exactRunIDs = false
		}
	}
	pending := s.spec.InProgressStatuses()
	if len(pending) == 0 {
		return errors.New("mockserver: the spec declares no status in progress")
	}
	s.pendingBody = (&scenarios.Reply{Status: pending[0]}).Body(0)
	return nil
}

// strictOK checks an answer against the spec before it goes out. On a
// violation it logs it, answers 500 naming it, and reports false.
func (s *Server) strictOK(ex *exchange, code int, ct []string, body []byte, shape string, headers []string) bool {
	if ex.scenario != nil && ex.scenario.OffSpec {
		return true
	}
	key := ""
	if shape != "" {
		key = ex.op.ID + " " + strconv.Itoa(code) + " " + shape
		for i := 0; i+1 < len(headers); i += 2 {
			key += " " + http.CanonicalHeaderKey(headers[i])
		}
		s.strict.mu.Lock()
		v, ok := s.strict.verdicts[key]
		s.strict.mu.Unlock()
		if ok {
			return s.strictVerdict(ex, code, v)
		}
	}
	h := http.Header{}
	for k, v := range ex.Header() {
		h[k] = v
	}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	h["Content-Type"] = ct
	req, _ := http.NewRequest(ex.op.Method, ex.op.URL("1"), nil)
	verdict := ""
	if err := s.spec.ValidateResponse(context.Background(), req, code, h, body); err != nil {
		verdict = err.Error()
		var v *cambmock.Violations
		if errors.As(err, &v) {
			verdict = strings.Join(v.Problems, "; ")
		}
	}
	if key != "" {
		s.strict.mu.Lock()
		s.strict.verdicts[key] = verdict
		s.strict.mu.Unlock()
	}
	return s.strictVerdict(ex, code, verdict)
}

func (s *Server) strictVerdict(ex *exchange, code int, verdict string) bool {
	if verdict == "" {
		return true
	}
	s.log.Error("strict: the mock's own response violates the spec", "method", ex.method, "path", ex.path, "operation", ex.op.ID, "status", code, "violation", verdict)
	for k := range ex.Header() {
		delete(ex.Header(), k)
	}
	writeJSON(ex, http.StatusInternalServerError, detailBody("cambmock --strict: the mock's "+strconv.Itoa(code)+" answer violates the spec: "+verdict))
	return false
}
