package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/cambmock/cambmock"
)

// CheckRequestConforms is the check a [Monitor] makes of requests: each
// conforms to openapi.yaml. The suite's own requests need no such check.
const CheckRequestConforms = "request-conforms"

// A Monitor checks traffic it is shown but did not make, as cambmock proxy
// shows it what it forwards: every request and response against
// openapi.yaml, and the suite's checks that need no request of their own
// (a SUCCESS carries an integer run_id, a terminal status stays terminal, a
// 429 carries Retry-After, audio is a well-formed WAV). It keeps a running
// summary in which each problem appears once, with a count.
//
// A Monitor is safe for concurrent use.
type Monitor struct {
	mu        sync.Mutex
	obs       *observer
	terminal  map[string]terminalSeen // task id -> its first terminal status
	order     []string                // task ids in terminal, oldest first
	findings  []Finding
	index     map[string]int // finding key -> index in findings
	requests  int
	responses int
}

type terminalSeen struct {
	status string
	runID  string
}

// maxTracked bounds how many tasks a Monitor remembers.
const maxTracked = 100_000

// NewMonitor returns a Monitor that checks against spec, or the embedded
// openapi.yaml if spec is nil.
func NewMonitor(spec *cambmock.Spec) (*Monitor, error) {
	if spec == nil {
		var err error
		if spec, err = cambmock.LoadSpec(); err != nil {
			return nil, err
		}
	}
	return &Monitor{obs: newObserver(spec), terminal: map[string]terminalSeen{}, index: map[string]int{}}, nil
}

// A Finding is a problem a Monitor saw, with how often and an example.
type Finding struct {
	Check     string    `json:"check"`
	Operation string    `json:"operation"`
	Problem   string    `json:"problem"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Example   Failure   `json:"example"`
}

// Summary is what a Monitor has seen so far.
type Summary struct {
	Requests  int       `json:"requests"`
	Responses int       `json:"responses"`
	Findings  []Finding `json:"findings"`
	Drift     Drift     `json:"drift"`
}

// Summary returns a copy of what the monitor has seen.
func (m *Monitor) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal(m.obs.drift)
	var d Drift
	json.Unmarshal(b, &d)
	findings := append([]Finding{}, m.findings...) // [] rather than null in JSON
	return Summary{Requests: m.requests, Responses: m.responses, Findings: findings, Drift: d}
}

// operation names the operation req (its URL path relative to the base
// URL) calls, or "" if none.
func (m *Monitor) operation(req *http.Request) string {
	route, _, err := m.obs.spec.Router.FindRoute(req)
	if err != nil || route.Operation == nil {
		return ""
	}
	return route.Operation.OperationID
}

// record adds findings to the summary and returns them as Findings.
func (m *Monitor) record(e *exchange, fs []finding) []Finding {
	now := time.Now()
	var out []Finding
	for _, f := range fs {
		if f.problem == "" {
			continue
		}
		check := f.check
		if check == "" {
			check = conforms[e.op]
		}
		key := check + "\x00" + e.op + "\x00" + f.problem
		if i, ok := m.index[key]; ok {
			m.findings[i].Count++
			m.findings[i].Last = now
			out = append(out, m.findings[i])
			continue
		}
		example := Failure{Problem: f.problem, Request: e.describeRequest(), Diff: f.diff, Count: 1}
		if e.code != 0 {
			example.Response = e.describeResponse()
		}
		nf := Finding{Check: check, Operation: e.op, Problem: f.problem, Count: 1, First: now, Last: now, Example: example}
		m.index[key] = len(m.findings)
		m.findings = append(m.findings, nf)
		out = append(out, nf)
	}
	return out
}

// Request checks a request before it is forwarded. rel is its URL path
// relative to the API's base URL; body is its body, which Request does not
// consume from req.
func (m *Monitor) Request(req *http.Request, rel string, body []byte) []Finding {
	r := req.Clone(context.Background())
	r.URL.Path = rel
	r.Body = io.NopCloser(bytes.NewReader(body))
	e := &exchange{req: req, rel: rel}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	e.op = m.operation(r)
	var fs []finding
	if e.op == "" {
		fs = append(fs, finding{check: CheckRequestConforms, problem: fmt.Sprintf("%s %s matches no operation of openapi.yaml", req.Method, rel)})
	} else {
		in, err := m.obs.spec.Route(r)
		if err == nil {
			in.Options.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				for _, p := range cambmock.Problems(err) {
					fs = append(fs, finding{check: CheckRequestConforms, problem: "the request violates openapi.yaml: " + p})
				}
			}
		}
		if req.Header.Get("X-Api-Key") == "" {
			fs = append(fs, finding{check: CheckRequestConforms, problem: "the request has no x-api-key header, which every operation requires"})
		}
	}
	return m.record(e, fs)
}

// Response checks an answer. rel is the request's URL path relative to
// the API's base URL. For an audio answer streamed past without being
// held, give a nil body and report the audio with [Monitor.Audio].
func (m *Monitor) Response(req *http.Request, rel string, code int, header http.Header, body []byte) []Finding {
	r := req.Clone(context.Background())
	r.URL.Path = rel
	m.mu.Lock()
	defer m.mu.Unlock()
	m.responses++
	e := &exchange{req: req, rel: rel, code: code, header: header, body: body, op: m.operation(r)}
	if e.op == "" {
		return nil
	}
	fs := m.obs.observe(e)
	fs = append(fs, m.semantics(e)...)
	return m.record(e, fs)
}

// semantics makes the checks of a status answer that span answers.
func (m *Monitor) semantics(e *exchange) []finding {
	if e.op != opStatus || e.code != http.StatusOK {
		return nil
	}
	var body map[string]any
	if json.Unmarshal(e.body, &body) != nil {
		return nil
	}
	status, _ := body["status"].(string)
	runID := jsonText(body["run_id"])
	var out []finding
	if status == string(cambmock.StatusSuccess) {
		if f, ok := body["run_id"].(float64); !ok || f != math.Trunc(f) || f < 0 {
			out = append(out, finding{check: CheckSuccessRunID, problem: fmt.Sprintf("SUCCESS carries run_id %s, not an integer", runID)})
		}
	}
	id := e.rel[len("/text-to-sound/"):]
	if prev, ok := m.terminal[id]; ok {
		if prev.status != status || prev.runID != runID {
			out = append(out, finding{check: CheckTerminalIsFinal, problem: fmt.Sprintf("a task reported %s, then %s", prev.status, orNo(status))})
		}
	} else if status != "" && cambmock.Status(status).Terminal() {
		if len(m.order) >= maxTracked {
			delete(m.terminal, m.order[0])
			m.order = m.order[1:]
		}
		m.terminal[id] = terminalSeen{status: status, runID: runID}
		m.order = append(m.order, id)
	}
	return out
}

// Audio reports the outcome of checking an audio answer that streamed
// past: err is what reading it as a WAV found, or nil.
func (m *Monitor) Audio(req *http.Request, rel string, code int, header http.Header, err error) []Finding {
	if err == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &exchange{req: req, rel: rel, code: code, header: header, op: opResult}
	return m.record(e, []finding{{check: CheckResultAudio, problem: "the audio is not a well-formed WAV: " + err.Error()}})
}
