package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/internal/media"
)

// CheckRequestConforms is the check a [Monitor] makes of requests: each
// conforms to openapi.yaml. The suite's own requests need no such check.
const CheckRequestConforms = "request-conforms"

// A Monitor checks traffic it is shown but did not make, as cambmock proxy
// shows it what it forwards: every request and response against
// openapi.yaml, and the suite's checks that need no request of their own
// (a SUCCESS carries an integer run_id, a terminal status stays terminal, a
// 429 carries Retry-After, audio is what its Content-Type says), for every
// kind of task: each request's operation, kind and role come from the
// spec's router and x-cambmock extensions. It keeps a running summary in
// which each problem appears once, with a count.
//
// What a Monitor keeps is bounded, since clients and upstreams choose the
// paths, statuses and field names it sees: at most 200 findings (50 of any
// one check, so a flood of odd paths cannot hide the upstream's
// violations), 100 distinct values in each drift map, 200 warnings, values
// cut to 120 bytes and problems to 300; what did not fit is counted in
// [Summary.DroppedFindings] and [Drift.Dropped]. However odd the traffic,
// a Summary's JSON stays under about 1 MB.
//
// A Monitor learns each request's API key from the header the spec names
// (x-api-key), and scrubs the key (as sent, URL-encoded and JSON-escaped)
// from everything it keeps and returns: problems, examples, warnings and
// drift. Query parameters that hold secrets are redacted by their decoded
// names, in any case.
//
// A Monitor is safe for concurrent use.
type Monitor struct {
	mu        sync.Mutex
	obs       *observer
	terminal  map[string]terminalSeen // task -> its first terminal status
	order     []string                // tasks in terminal, oldest first
	findings  []Finding
	index     map[string]int // finding key -> index in findings
	perCheck  map[string]int // check -> how many of findings are its
	dropped   int
	requests  int
	responses int
}

type terminalSeen struct {
	status string
	runID  string
}

// The bounds on what a Monitor keeps beyond its observer's.
const (
	// maxTracked bounds how many tasks a Monitor remembers.
	maxTracked = 100_000
	// maxFindings bounds how many distinct findings a Monitor keeps, and
	// maxCheckFindings how many of one check, so that a flood of one kind
	// (odd paths a client sends) cannot crowd out the others.
	maxFindings      = 200
	maxCheckFindings = 50
	// maxProblem is the longest problem kept, in bytes.
	maxProblem = 300
	// maxTaskKey is the longest task id kept as it is; a longer one is
	// remembered by its hash.
	maxTaskKey = 256
)

// NewMonitor returns a Monitor that checks against spec, or the embedded
// openapi.yaml if spec is nil.
func NewMonitor(spec *cambmock.Spec) (*Monitor, error) {
	if spec == nil {
		var err error
		if spec, err = cambmock.LoadSpec(); err != nil {
			return nil, err
		}
	}
	obs := newObserver(spec, ", and a client that follows it may send its API key to another host")
	return &Monitor{obs: obs, terminal: map[string]terminalSeen{}, index: map[string]int{}, perCheck: map[string]int{}}, nil
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
	// DroppedFindings counts the problems seen but not kept in Findings
	// because it was full: it keeps at most 200 distinct problems, 50 of
	// any one check. Each time such a problem is seen counts.
	DroppedFindings int   `json:"dropped_findings,omitempty"`
	Drift           Drift `json:"drift"`
}

// Summary returns a copy of what the monitor has seen.
func (m *Monitor) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal(m.obs.drift)
	var d Drift
	json.Unmarshal(b, &d)
	findings := append([]Finding{}, m.findings...) // [] rather than null in JSON
	return Summary{Requests: m.requests, Responses: m.responses, Findings: findings, DroppedFindings: m.dropped, Drift: d}
}

// route finds the operation req (its URL path relative to the base URL)
// calls: its operationId and path parameters, or "" if none.
func (m *Monitor) route(req *http.Request) (string, map[string]string) {
	route, params, err := m.obs.spec.Router.FindRoute(req)
	if err != nil || route.Operation == nil {
		return "", nil
	}
	return route.Operation.OperationID, params
}

// newExchange readies an exchange of req, which scrubs req's key.
func (m *Monitor) newExchange(req *http.Request, rel string) *exchange {
	header := m.obs.spec.APIKeyHeader()
	return &exchange{req: req, rel: rel, keyHeader: header, scrub: newScrubber(requestSecrets(req, header)...)}
}

// record adds findings to the summary and returns them as Findings. A
// finding the summary has no room for is returned, without an example,
// and counted, but not kept.
func (m *Monitor) record(e *exchange, fs []finding) []Finding {
	now := time.Now()
	var out []Finding
	for _, f := range fs {
		if f.problem == "" {
			continue
		}
		check := f.check
		if check == "" {
			check = m.obs.conforms(e.op)
		}
		problem := clip(e.scrub.text(f.problem), maxProblem)
		key := check + "\x00" + e.op + "\x00" + problem
		if i, ok := m.index[key]; ok {
			m.findings[i].Count++
			m.findings[i].Last = now
			out = append(out, m.findings[i])
			continue
		}
		nf := Finding{Check: check, Operation: e.op, Problem: problem, Count: 1, First: now, Last: now}
		if len(m.findings) >= maxFindings || m.perCheck[check] >= maxCheckFindings {
			m.dropped++
			out = append(out, nf)
			continue
		}
		nf.Example = Failure{Problem: problem, Request: e.describeRequest(), Diff: clip(e.scrub.text(f.diff), maxProblem), Count: 1}
		if e.code != 0 {
			nf.Example.Response = e.describeResponse()
		}
		out = append(out, nf)
		m.index[key] = len(m.findings)
		m.findings = append(m.findings, nf)
		m.perCheck[check]++
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
	e := m.newExchange(req, rel)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	e.op, _ = m.route(r)
	var fs []finding
	if e.op == "" {
		fs = append(fs, finding{check: CheckRequestConforms, problem: fmt.Sprintf("%s %s matches no operation of openapi.yaml", req.Method, clip(rel, 2*maxValue))})
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
		if h := m.obs.spec.APIKeyHeader(); req.Header.Get(h) == "" {
			fs = append(fs, finding{check: CheckRequestConforms, problem: fmt.Sprintf("the request has no %s header, which every operation requires", h)})
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
	e := m.newExchange(req, rel)
	e.code, e.header, e.body = code, header, body
	m.mu.Lock()
	defer m.mu.Unlock()
	m.responses++
	var params map[string]string
	e.op, params = m.route(r)
	if e.op == "" {
		return nil
	}
	fs := m.obs.observe(e)
	fs = append(fs, m.semantics(e, params)...)
	return m.record(e, fs)
}

// semantics makes the checks of a status answer that span answers.
func (m *Monitor) semantics(e *exchange, params map[string]string) []finding {
	op := m.obs.spec.OperationByID(e.op)
	if op == nil || op.Role != cambmock.RoleStatus || e.code != http.StatusOK {
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
			out = append(out, finding{check: CheckSuccessRunID, problem: fmt.Sprintf("SUCCESS carries run_id %s, not an integer", clip(runID, maxValue))})
		}
	}
	id := op.Kind + "\x00" + params[op.Param]
	if len(id) > maxTaskKey {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:])
	}
	if prev, ok := m.terminal[id]; ok {
		if prev.status != status || prev.runID != runID {
			out = append(out, finding{check: CheckTerminalIsFinal, problem: fmt.Sprintf("a task reported %s, then %s",
				clip(prev.status, maxValue), clip(orNo(status), maxValue))})
		}
	} else if status != "" && m.obs.spec.Terminal(cambmock.Status(status)) {
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
// past: err is what reading it as a file of its Content-Type (a WAV for
// audio/wav) found, or nil.
func (m *Monitor) Audio(req *http.Request, rel string, code int, header http.Header, err error) []Finding {
	if err == nil {
		return nil
	}
	r := req.Clone(context.Background())
	r.URL.Path = rel
	e := m.newExchange(req, rel)
	e.code, e.header = code, header
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.op, _ = m.route(r); e.op == "" {
		if op := m.obs.spec.DefaultKind().Result; op != nil {
			e.op = op.ID
		}
	}
	what := "the audio is not a well-formed WAV: "
	if ct := header.Get("Content-Type"); ct != "" && !media.IsWAV(ct) {
		what = "the audio is not what its Content-Type says: "
	}
	return m.record(e, []finding{{check: CheckResultAudio, problem: what + err.Error()}})
}
