package mockserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cambmock/cambmock/scenarios"
)

// exchange wraps the ResponseWriter of one request to learn what was
// answered, for the log line and the journal. Handlers note the task and
// step with [note].
type exchange struct {
	http.ResponseWriter
	code     int
	task     string
	scenario string
	script   string
	step     int
	fault    scenarios.Fault
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

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
	return e.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (e *exchange) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// note records which task, scenario and step answer the request, if w
// comes from logRequests.
func note(w http.ResponseWriter, t *task, script string, step int, fault scenarios.Fault) {
	annotate(w, t.id, t.sc.Name, script, step, fault)
}

// annotate is note for an answer that belongs to no task yet (a scripted
// create answer).
func annotate(w http.ResponseWriter, task, scenario, script string, step int, fault scenarios.Fault) {
	if e, ok := underlying[*exchange](w); ok {
		e.task, e.scenario, e.script, e.step, e.fault = task, scenario, script, step, fault
	}
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

// logRequests logs a line per request and keeps the journal.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := exchanges.Get().(*exchange)
		*e = exchange{ResponseWriter: w}
		defer func() {
			aborted := recover()
			s.finish(r, e, time.Since(start), aborted != nil)
			*e = exchange{}
			exchanges.Put(e)
			if aborted != nil {
				panic(aborted)
			}
		}()
		next.ServeHTTP(e, r)
	})
}

func (s *Server) finish(r *http.Request, e *exchange, dur time.Duration, aborted bool) {
	code := e.code // 0 when the connection was dropped without an answer
	s.journal.add(entry{
		at:       time.Now(),
		method:   r.Method,
		path:     r.URL.Path,
		query:    r.URL.RawQuery,
		code:     code,
		task:     e.task,
		scenario: e.scenario,
		script:   e.script,
		step:     e.step,
		fault:    e.fault,
		dur:      dur,
		key:      r.Header.Get("X-Api-Key") != "",
	})
	level := slog.LevelInfo
	if e.fault != "" || code >= 500 || aborted {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", code),
		slog.String("task", e.task),
		slog.String("scenario", e.scenario),
		slog.String("step", stepName(e.script, e.step)),
		slog.Duration("dur", dur),
		slog.String("fault", string(e.fault)),
	}
	n := len(attrs)
	if e.fault == "" {
		n--
	}
	// A record with no PC, handed to the handler directly: LogAttrs would
	// walk the stack for a source that is always this line.
	rec := slog.NewRecord(time.Now(), level, "request", 0)
	rec.AddAttrs(attrs[:n]...)
	s.log.Handler().Handle(ctx, rec)
}

func stepName(script string, step int) string {
	if script == "" {
		return ""
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
func (j *journal) last(n int) ([]entry, int64) {
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
	return out, j.total
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = j.entries[:0]
	j.next = 0
	j.total = 0
}
