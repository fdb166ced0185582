package scenarios

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strconv"
	"time"

	"github.com/cambmock/cambmock"
)

// A Scenario is a named script of how the API behaves for one task: what
// each status poll answers, and optionally what the create and result
// requests answer.
//
// A Scenario built in Go should pass [Scenario.Validate], as every one
// [Parse] returns does, and [Scenario.Check] unless it is OffSpec.
type Scenario struct {
	Name        string // unique within a server; letters, digits and dashes
	Description string // one line, shown by `cambmock scenarios`
	// OffSpec marks a scenario that serves answers openapi.yaml does not
	// allow, to test how clients and the contract suite cope with drift.
	// Loading checks that it really does.
	OffSpec bool
	// Seed picks the latencies of steps whose latency is a range, so that
	// runs repeat. The zero value is a seed like any other.
	Seed uint64

	// Create scripts the create requests that choose this scenario, counted
	// across the server; it may be empty. Poll scripts each task's status
	// polls and is never empty. Result scripts each task's result requests
	// (such as GET /text-to-sound-result/{run_id}); it may be empty. When a
	// Create or Result script runs out, the endpoint answers normally. The
	// scripts play on any kind of task: they answer the create, status and
	// result operations of the kind the task is.
	Create, Poll, Result Script

	// File is where the scenario was loaded from, for messages; empty for
	// scenarios built in Go.
	File string
}

// A Script is the steps one endpoint plays for a task, in order. Each step
// answers requests until its duration is used up, then the next one plays.
//
// The zero Script answers nothing: the endpoint behaves normally.
type Script []Step

// A Step is one stage of a Script: how long it lasts and what it answers.
//
// A step lasts Polls requests, or For time after it begins, or (with both
// zero) forever. A step of time that follows a step of time begins when the
// one before it ends; any other step begins with the first request it
// answers, and the first step begins when the task is created.
//
// A step answers with exactly one of Reply (a status body, poll scripts
// only), Error, Fault or Normal (create and result scripts only).
type Step struct {
	Polls int           // requests the step answers; 0 if it lasts by time or forever
	For   time.Duration // how long the step lasts; 0 if it lasts by requests or forever

	Reply  *Reply     // the status body a poll gets
	Error  *HTTPError // an HTTP error response
	Fault  Fault      // a failure of the connection or the body
	Normal bool       // the endpoint's normal answer

	// Latency delays the response headers; the zero value answers at once.
	Latency Latency

	// Line and Column locate the step in its file; zero for steps built in Go.
	Line, Column int
}

// Forever reports whether the step lasts forever.
func (s Step) Forever() bool { return s.Polls == 0 && s.For == 0 }

// A Reply is the body of a 200 answer to a status poll.
type Reply struct {
	Status          cambmock.Status
	RunID           RunID
	ExceptionReason cambmock.ExceptionReason // empty means null
	Message         json.RawMessage          // a JSON string or object; nil means null
	// Extra holds fields beyond the four the spec names, as the live API
	// might add; the spec allows them and the contract suite warns of them.
	Extra map[string]json.RawMessage

	// Line and Column locate the status value in its file, for messages;
	// zero for replies built in Go.
	Line, Column int
}

// RunID is the run_id a Reply serves.
type RunID struct {
	// Auto serves a run id the server allocates once per task.
	Auto bool
	// Value is the JSON the reply serves when Auto is false: an integer,
	// or in off-spec scenarios anything; nil means null.
	Value json.RawMessage
}

// Body renders the reply as the JSON the status endpoint serves, with
// runID standing for an Auto run id. The keys come in a fixed order: status,
// run_id, exception_reason, message, then Extra's in sorted order.
func (r *Reply) Body(runID int64) []byte {
	return r.AppendBody(make([]byte, 0, 96), runID)
}

// AppendBody is [Reply.Body] appending to b.
func (r *Reply) AppendBody(b []byte, runID int64) []byte {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, string(r.Status))
	b = append(b, `,"run_id":`...)
	switch {
	case r.RunID.Auto:
		b = strconv.AppendInt(b, runID, 10)
	case r.RunID.Value != nil:
		b = append(b, r.RunID.Value...)
	default:
		b = append(b, "null"...)
	}
	b = append(b, `,"exception_reason":`...)
	if r.ExceptionReason == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, string(r.ExceptionReason))
	}
	b = append(b, `,"message":`...)
	if r.Message == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Message...)
	}
	for _, k := range sortedKeys(r.Extra) {
		b = append(b, ',')
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = append(b, r.Extra[k]...)
	}
	return append(b, '}')
}

// An HTTPError is an error response a step serves.
type HTTPError struct {
	Code   int         // 400 to 599
	Header http.Header // always holds Content-Type
	Body   string
}

// A Fault is a failure below HTTP, played on the real socket.
type Fault string

// The faults a step can play.
const (
	// FaultReset closes the connection with a TCP RST before answering.
	FaultReset Fault = "reset"
	// FaultEmpty closes the connection without sending a byte.
	FaultEmpty Fault = "empty"
	// FaultMalformedJSON answers 200 with a JSON body cut off in the middle.
	// It violates the spec, so only off-spec scenarios may play it.
	FaultMalformedJSON Fault = "malformed-json"
	// FaultTruncated sends the headers and part of the body, then closes
	// the connection, as a dropped download does.
	FaultTruncated Fault = "truncated"
	// FaultHang accepts the request and never answers, until the client
	// gives up, the server closes, or the server's hang limit passes (on
	// a ManualClock, once the clock is moved past it; see the package
	// documentation, "Latency and hang on each clock").
	FaultHang Fault = "hang"
)

// Faults returns every fault, in the order the file format lists them.
func Faults() []Fault {
	return []Fault{FaultReset, FaultEmpty, FaultMalformedJSON, FaultTruncated, FaultHang}
}

// Latency is how long a step waits before it answers: Min when Max is not
// above it, else a duration between the two drawn by [Latency.Draw]. It is
// time on the scenario clock: the package documentation ("Latency and hang
// on each clock") says how the real, scaled and manual clocks play it.
type Latency struct {
	Min, Max time.Duration
}

// Draw returns the latency for one request. The same seed always gives the
// same latency, so a scenario replays identically.
func (l Latency) Draw(seed uint64) time.Duration {
	if l.Max <= l.Min {
		return l.Min
	}
	// splitmix64 spreads nearby seeds over the whole range.
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	span := uint64(l.Max - l.Min + 1)
	return l.Min + time.Duration(z%span)
}

// LatencySeed returns the seed for the latency of the n-th request (counting from
// 0) a task makes to an endpoint, so that each draw differs and every run
// draws the same.
func (sc *Scenario) LatencySeed(endpoint string, n int) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	for i := range 8 {
		buf[i] = byte(sc.Seed >> (8 * i))
	}
	h.Write(buf[:])
	h.Write([]byte(endpoint))
	for i := range 8 {
		buf[i] = byte(uint64(n) >> (8 * i))
	}
	h.Write(buf[:])
	return h.Sum64()
}

// Position is where a task stands in a Script: the step that answered last,
// how many requests that step has answered, and when it began (as time since
// the task was created). The zero Position is the start of a script.
type Position struct {
	Step   int
	Served int
	Since  time.Duration
}

// At returns the step that answers a request arriving elapsed after the
// task was created, when the script stands at pos, and where the script
// stands after it. ok is false when the script has run out: the endpoint
// answers normally.
//
// At is a pure function: the same script, position and time give the same
// answer. It does not wait, start goroutines or read a clock.
func (s Script) At(pos Position, elapsed time.Duration) (step Step, next Position, ok bool) {
	i, served, since := pos.Step, pos.Served, pos.Since
	for ; i < len(s); i++ {
		st := s[i]
		switch {
		case st.Polls > 0 && served >= st.Polls:
			since = elapsed
		case st.For > 0 && elapsed-since >= st.For:
			since += st.For
		default:
			return st, Position{Step: i, Served: served + 1, Since: since}, true
		}
		served = 0
	}
	return Step{}, Position{Step: len(s), Since: since}, false
}
