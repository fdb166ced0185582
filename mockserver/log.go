package mockserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// MaxHeaderSize is the most bytes of request headers the server takes; a
// request with more gets a 431. (An http.Server's own MaxHeaderBytes, the
// bound beyond which it answers in plain text, should be larger.)
const MaxHeaderSize = 64 << 10

// exchange wraps the ResponseWriter of one request to learn what was
// answered, for the task's history, the log line and the journal.
// Handlers fill in the task, scenario and step they play.
type exchange struct {
	http.ResponseWriter
	code   int
	werr   error // the first write error
	start  time.Time
	method string
	path   string

	op       *cambmock.Operation // the API operation the request reached
	trusted  bool                // the answer was checked against the spec when the server started
	tk       ticket
	task     bool   // tk holds a task's ticket
	taskID   string // the task the request is about, for the journal and log
	scenario *scenario
	script   string // create, poll, result or file
	step     int    // 1-based; 0 for the normal answer
	fault    scenarios.Fault
	status   cambmock.Status // the status a poll reply serves
	latency  time.Duration   // the step's latency, on the scenario clock
	early    bool            // a result asked for before SUCCESS
	streamed bool            // the body was streamed (audio), not written whole
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// exchangeOf returns the exchange a server handler's writer is.
func exchangeOf(w http.ResponseWriter) *exchange {
	if ex, ok := underlying[*exchange](w); ok {
		return ex
	}
	return &exchange{ResponseWriter: w}
}

func (e *exchange) WriteHeader(code int) {
	if e.code == 0 {
		e.code = code
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *exchange) Write(b []byte) (int, error) {
	if e.code == 0 {
		e.code = http.StatusOK
	}
	n, err := e.ResponseWriter.Write(b)
	if err != nil && e.werr == nil {
		e.werr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (e *exchange) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// flush pushes what was written to the connection, and reports whether it
// got there.
func (e *exchange) flush() error {
	switch w := e.ResponseWriter.(type) {
	case interface{ FlushError() error }:
		return w.FlushError()
	case http.Flusher:
		w.Flush()
	}
	return nil
}

// underlying returns the first writer of type T in w's chain of Unwrap
// methods, w included.
func underlying[T any](w http.ResponseWriter) (T, bool) {
	for w != nil {
		if t, ok := w.(T); ok {
			return t, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	var zero T
	return zero, false
}

// ServeHTTP serves the mock API, the admin API and the audio files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := exchanges.Get().(*exchange)
	*ex = exchange{ResponseWriter: w, start: time.Now(), method: r.Method, path: r.URL.Path}
	defer func() {
		aborted := recover()
		s.finish(r, ex, aborted != nil)
		*ex = exchange{}
		exchanges.Put(ex)
		if aborted != nil {
			panic(aborted)
		}
	}()
	n := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n > MaxHeaderSize {
		writeError(ex, http.StatusRequestHeaderFieldsTooLarge,
			"Request headers too large: "+strconv.Itoa(n)+" bytes; the limit is "+strconv.Itoa(MaxHeaderSize)+" bytes")
		return
	}
	s.route(ex, r)
}

// finish records what a request was answered: in its task's history (once
// the answer is on the connection), in the journal and in the log.
func (s *Server) finish(r *http.Request, ex *exchange, aborted bool) {
	// The answer is recorded before its last bytes leave the server's
	// buffer (a JSON answer is all still there: net/http writes it when
	// ServeHTTP returns), so that a client never holds an answer its
	// task's history lacks. A streamed answer is flushed here, and should
	// the flush fail, the record is amended.
	broken := aborted || ex.fault != "" && ex.fault != scenarios.FaultMalformedJSON
	delivered := !broken && ex.code != 0 && ex.werr == nil && r.Context().Err() == nil
	end := time.Now()
	if ex.task {
		s.record(r, ex, end, delivered, broken)
	}
	if delivered && ex.streamed && ex.flush() != nil && ex.task {
		s.store.undeliver(r.Context(), &ex.tk)
	}
	dur := end.Sub(ex.start)
	code := ex.code
	if broken && ex.fault != scenarios.FaultTruncated {
		code = 0 // the connection was dropped without an answer
	}
	task, scenarioName := ex.taskID, ""
	if ex.scenario != nil {
		scenarioName = ex.scenario.Name
	}
	if s.bus.listening() {
		s.publishRequest(r, ex, code, dur)
	}
	s.journal.add(entry{
		at:       end,
		method:   r.Method,
		path:     r.URL.Path,
		query:    r.URL.RawQuery,
		code:     code,
		task:     task,
		scenario: scenarioName,
		script:   ex.script,
		step:     ex.step,
		fault:    ex.fault,
		dur:      dur,
		key:      r.Header[s.keyHeader] != nil,
	})
	level := slog.LevelInfo
	if ex.fault != "" || code >= 500 || aborted {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	step := stepName(ex.script, ex.step)
	if rl, ok := s.log.Handler().(RequestLogger); ok {
		rl.LogRequest(RequestLine{Time: end, Level: level, Method: r.Method, Path: r.URL.Path, Status: code,
			Task: task, Scenario: scenarioName, Step: step, Duration: dur, Fault: string(ex.fault)})
		return
	}
	rec := slog.NewRecord(end, level, "request", 0)
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", code),
		slog.String("task", task),
		slog.String("scenario", scenarioName),
	)
	rec.AddAttrs(slog.String("step", step), slog.Duration("dur", dur))
	if ex.fault != "" {
		rec.AddAttrs(slog.String("fault", string(ex.fault)))
	}
	// A record with no PC, handed to the handler directly: LogAttrs would
	// walk the stack for a source that is always this line.
	s.log.Handler().Handle(ctx, rec)
}

// A RequestLogger is a log handler that takes the server's line per
// request as its fields, rather than as a slog.Record, whose seven
// attributes cost an allocation and a walk per request. It must write what
// it would for the record the server would otherwise send: message
// "request" with the attributes method, path, status, task, scenario,
// step and dur, then fault when there is one. cambmock serve's handler is
// one; any other slog.Handler gets the record.
type RequestLogger interface {
	slog.Handler
	LogRequest(RequestLine)
}

// A RequestLine is the line the server logs for a request.
type RequestLine struct {
	Time     time.Time
	Level    slog.Level
	Method   string
	Path     string
	Status   int // 0 when the connection was dropped without an answer
	Task     string
	Scenario string
	Step     string
	Duration time.Duration
	Fault    string // "" when no fault was played
}

// record adds a request's answer to its task's history.
func (s *Server) record(r *http.Request, ex *exchange, end time.Time, delivered, broken bool) {
	tk := &ex.tk
	ev := judge.Event{
		Seq:       tk.seq,
		Endpoint:  tk.endpoint,
		At:        judge.Duration(tk.at),
		Real:      judge.Duration(tk.real),
		RealSent:  judge.Duration(tk.real + end.Sub(ex.start)),
		Step:      ex.step,
		Code:      ex.code,
		Fault:     ex.fault,
		Delivered: delivered,
		Early:     ex.early,
	}
	switch {
	case s.manual != nil:
		ev.Sent = ev.At + judge.Duration(ex.latency)
	case s.clock == scenarios.SystemClock():
		ev.Sent = judge.Duration(end.Sub(tk.meta.created))
	default:
		ev.Sent = judge.Duration(s.clock.Now().Sub(tk.meta.created))
	}
	if broken && ex.fault != scenarios.FaultTruncated {
		ev.Code = 0
	}
	if delivered {
		ev.Status = ex.status
	}
	if ev.Code >= 400 {
		if v := ex.Header().Get("Retry-After"); v != "" {
			if d, ok := parseRetryAfter(v, s.clock.Now()); ok {
				jd := judge.Duration(d)
				ev.RetryAfter = &jd
			}
		}
	}
	s.store.deliver(r.Context(), tk, ev)
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// stepNames are the common step names, made once.
var stepNames = func() map[string][]string {
	m := map[string][]string{}
	for _, script := range []string{"create", "poll", "result", "file"} {
		names := []string{script + " normal"}
		for i := 1; i <= 64; i++ {
			names = append(names, script+" "+strconv.Itoa(i))
		}
		m[script] = names
	}
	return m
}()

func stepName(script string, step int) string {
	if script == "" {
		return ""
	}
	if names := stepNames[script]; step >= 0 && step < len(names) {
		return names[step]
	}
	if step == 0 {
		return script + " normal"
	}
	return script + " " + strconv.Itoa(step)
}

// entry is one request in the journal.
type entry struct {
	at       time.Time
	method   string
	path     string
	query    string
	code     int
	task     string
	scenario string
	script   string
	step     int
	fault    scenarios.Fault
	dur      time.Duration
	key      bool
}

// journal keeps the last requests in a ring.
type journal struct {
	mu      sync.Mutex
	entries []entry
	next    int
	total   int64
}

func newJournal(size int) *journal {
	return &journal{entries: make([]entry, 0, size)}
}

func (j *journal) add(e entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.total++
	if cap(j.entries) == 0 {
		return
	}
	if len(j.entries) < cap(j.entries) {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.next] = e
	j.next = (j.next + 1) % len(j.entries)
}

// last returns up to n entries, newest first, and how many requests the
// journal has seen in all.
func (j *journal) last(ctx context.Context, n int) ([]entry, int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n > len(j.entries) || n < 0 {
		n = len(j.entries)
	}
	out := make([]entry, 0, n)
	for i := 0; i < n; i++ {
		idx := (j.next - 1 - i + 2*len(j.entries)) % len(j.entries)
		out = append(out, j.entries[idx])
	}
	return out, j.total, nil
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = j.entries[:0]
	j.next = 0
	j.total = 0
}

// publishRequest tells the event stream of a request and of the task it
// changed.
func (s *Server) publishRequest(r *http.Request, ex *exchange, code int, dur time.Duration) {
	e := entry{at: time.Now(), method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, code: code, task: ex.taskID,
		script: ex.script, step: ex.step, fault: ex.fault, dur: dur, key: r.Header[s.keyHeader] != nil}
	if ex.scenario != nil {
		e.scenario = ex.scenario.Name
	}
	s.bus.publish(evRequest, e.shown())
	if ex.taskID == "" {
		return
	}
	te := taskEvent{ID: ex.taskID, Code: code, Status: string(ex.status), Fault: string(ex.fault), Step: ex.step}
	if ex.task {
		te.Endpoint = string(ex.tk.endpoint)
		te.Kind = s.kinds[ex.tk.meta.kind].Name
	} else if ex.op != nil {
		te.Kind = ex.op.Kind
	}
	if ex.scenario != nil {
		te.Scenario = ex.scenario.Name
	}
	s.bus.publish(evTask, te)
}
