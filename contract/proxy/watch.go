package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/mockserver/dashboard"
	"github.com/cambmock/cambmock/mockserver/judge"
)

// What the proxy shows on the dashboard (/__admin/ui/, package
// mockserver/dashboard): the tasks that went through it, each with what
// its client was answered, judged as the mock judges its own tasks; the
// last requests; an event stream. It answers the part of the mock's admin
// API the dashboard reads:
//
//	GET /__admin/tasks?limit=&offset=&status=&kind=&history=true&verdicts=true
//	GET /__admin/tasks/{id}, /__admin/tasks/{id}/timeline
//	GET /__admin/requests?limit=N
//	GET /__admin/events
//
// and /__admin/health names the proxy ("service": "cambmock proxy"), so
// the page hides what the proxy lacks: scenarios, a clock, reset.
//
// Everything is bounded: [maxWatched] tasks (the oldest are forgotten
// first, and counted), [maxWatchEvents] answers per task (older ones are
// folded into the judge's tally), [maxWatchJournal] requests. Ids, paths
// and queries are scrubbed of the request's API key and the upstream's
// userinfo before they are kept, and secret query values redacted.

const (
	maxWatched      = 10_000
	maxWatchEvents  = 512
	maxWatchJournal = 1000
	maxWatchBody    = 64 << 10 // bytes of a JSON answer read for its task id and status
	maxWatchID      = 256      // a longer task id is not followed
	maxWatchList    = 1000     // the most tasks one answer lists
)

// WithAdminToken protects the proxy's dashboard and the admin API it
// reads with a token, as mockserver.WithAdminToken protects the mock's:
// every request must carry it (Authorization: Bearer TOKEN, an
// X-Cambmock-Admin-Token header, or the cookie /__admin/ui/?token=TOKEN
// sets). Without one, only clients on this machine that name it by a
// loopback name are served.
func WithAdminToken(token string) Option {
	return func(p *Proxy) error {
		if len(token) < 16 {
			return fmt.Errorf("WithAdminToken: the token has %d characters; give at least 16, such as the output of `openssl rand -hex 16`", len(token))
		}
		p.watch.token = token
		return nil
	}
}

// Close ends the dashboard's event streams, which would otherwise hold
// a server's graceful shutdown to its bound. The proxy goes on forwarding.
// Close is safe to call more than once.
func (p *Proxy) Close() {
	p.watch.closeOnce.Do(func() {
		p.watch.mu.Lock()
		p.watch.closed = true
		for ch := range p.watch.subs {
			close(ch)
		}
		p.watch.subs = nil
		p.watch.mu.Unlock()
	})
}

// watch is what the dashboard shows. The zero watch is ready to use.
type watch struct {
	token     string
	closeOnce sync.Once
	uiOnce    sync.Once
	ui        http.Handler // the dashboard's files, made once

	mu        sync.Mutex
	tasks     map[string]*watched
	order     []*watched // oldest first
	runs      map[string]*watched
	forgotten int
	journal   []watchEntry // a ring
	jnext     int
	jtotal    int64
	listeners atomic.Int32
	subs      map[chan []byte]struct{}
	closed    bool
}

// watched is a task seen through the proxy. Its fields are guarded by
// watch.mu.
type watched struct {
	id, kind  string
	created   time.Time // when its create request arrived (or its first poll)
	seq       int       // its requests arrived
	polls     int
	results   int
	inFlight  int
	last      cambmock.Status
	succeeded bool
	runs      []string
	history   judge.History
	gone      bool // forgotten: answers still on their way are not recorded
}

// watchEntry is a request as the dashboard's journal shows it, in the
// JSON of the mock's GET /__admin/requests.
type watchEntry struct {
	At       time.Time      `json:"at"`
	Method   string         `json:"method"`
	Path     string         `json:"path"`
	Query    string         `json:"query,omitempty"`
	Status   int            `json:"status"` // 0: no answer reached the client
	Task     string         `json:"task,omitempty"`
	Scenario string         `json:"scenario,omitempty"`
	Step     string         `json:"step,omitempty"`
	Fault    string         `json:"fault,omitempty"`
	Duration judge.Duration `json:"duration"`
	APIKey   string         `json:"api_key"` // "[redacted]", or "" when none was sent
}

// watchInfo is a task in the JSON of the mock's GET /__admin/tasks/{id}.
type watchInfo struct {
	ID         string          `json:"task_id"`
	Kind       string          `json:"kind"`
	Scenario   string          `json:"scenario"` // always "": the upstream plays none
	Created    time.Time       `json:"created_at"`
	Elapsed    judge.Duration  `json:"elapsed"`
	Polls      int             `json:"polls"`
	Results    int             `json:"results"`
	InFlight   int             `json:"in_flight"`
	Step       int             `json:"poll_step"`
	Steps      int             `json:"poll_steps"`
	Status     cambmock.Status `json:"last_status,omitempty"`
	History    []judge.Event   `json:"history"`
	Dropped    int             `json:"history_dropped"`
	Violations []string        `json:"violations,omitempty"` // with ?verdicts=true
}

// watchTicket is a request's arrival at a task.
type watchTicket struct {
	t   *watched
	seq int
}

// watchWriter learns what the proxy answered: the status, the headers and
// the start of a JSON body.
type watchWriter struct {
	http.ResponseWriter
	code int
	err  error
	json bool
	body []byte
}

func (w *watchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
		w.json = strings.Contains(w.Header().Get("Content-Type"), "json")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *watchWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.json && len(w.body) < maxWatchBody {
		w.body = append(w.body, b[:min(len(b), maxWatchBody-len(w.body))]...)
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *watchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// watchForward forwards an API request, noting what it was answered.
func (p *Proxy) watchForward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op, param := p.watchRoute(r)
	sc := p.scrubber(r)
	tk := p.watch.arrive(op, sc.String(param), start)
	ww := &watchWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		p.watch.finish(p, r, sc, op, tk, ww, start, v != nil)
		if v != nil {
			panic(v)
		}
	}()
	p.forward(ww, r)
}

// watchRoute finds the operation of an API request and its path
// parameter, or nil.
func (p *Proxy) watchRoute(r *http.Request) (*cambmock.Operation, string) {
	if !p.isAPI(r.URL.Path) || p.spec.Router == nil {
		return nil, ""
	}
	rel := strings.TrimPrefix(r.URL.Path, p.base)
	if rel == "" {
		return nil, ""
	}
	req := &http.Request{Method: r.Method, URL: &url.URL{Path: rel}, Header: http.Header{}, Host: r.Host}
	route, params, err := p.spec.Router.FindRoute(req)
	if err != nil || route == nil || route.Operation == nil {
		return nil, ""
	}
	op := p.spec.OperationByID(route.Operation.OperationID)
	if op == nil {
		return nil, ""
	}
	return op, params[op.Param]
}

// arrive notes a request's arrival at the task its path names.
func (wt *watch) arrive(op *cambmock.Operation, param string, now time.Time) watchTicket {
	if op == nil || param == "" || len(param) > maxWatchID {
		return watchTicket{}
	}
	wt.mu.Lock()
	defer wt.mu.Unlock()
	var t *watched
	switch op.Role {
	case cambmock.RoleStatus:
		t = wt.task(param, op.Kind, now)
	case cambmock.RoleResult:
		t = wt.runs[param]
	}
	if t == nil {
		return watchTicket{}
	}
	t.seq++
	t.inFlight++
	return watchTicket{t: t, seq: t.seq}
}

// task returns the task with id, made if it is new. wt.mu is held.
func (wt *watch) task(id, kind string, now time.Time) *watched {
	if t, ok := wt.tasks[id]; ok {
		return t
	}
	if wt.tasks == nil {
		wt.tasks, wt.runs = map[string]*watched{}, map[string]*watched{}
	}
	t := &watched{id: id, kind: kind, created: now, history: judge.History{Task: id, Kind: kind, Events: []judge.Event{}}}
	wt.tasks[id] = t
	wt.order = append(wt.order, t)
	for len(wt.tasks) > maxWatched {
		old := wt.order[0]
		wt.order = wt.order[1:]
		delete(wt.tasks, old.id)
		for _, run := range old.runs {
			if wt.runs[run] == old {
				delete(wt.runs, run)
			}
		}
		old.gone = true
		wt.forgotten++
	}
	if cap(wt.order) > 4*maxWatched {
		wt.order = slices.Clip(slices.Clone(wt.order))
	}
	return t
}

// finish notes what a request was answered: in the journal, and in its
// task's history.
func (wt *watch) finish(p *Proxy, r *http.Request, sc scrubber, op *cambmock.Operation, tk watchTicket, ww *watchWriter, start time.Time, aborted bool) {
	end := time.Now()
	code := ww.code
	delivered := !aborted && code != 0 && ww.err == nil && r.Context().Err() == nil
	var body map[string]any
	if ww.json && len(ww.body) < maxWatchBody {
		dec := json.NewDecoder(bytes.NewReader(ww.body))
		dec.UseNumber()
		dec.Decode(&body)
	}
	e := watchEntry{At: start, Method: r.Method, Path: sc.String(r.URL.Path), Query: sc.String(redactedQuery(r.URL.RawQuery, p.keyHeader)),
		Status: code, Duration: judge.Duration(end.Sub(start))}
	if aborted {
		e.Fault = "broken off"
	}
	if r.Header.Get(p.keyHeader) != "" {
		e.APIKey = redacted
	}
	var ev *judge.Event
	wt.mu.Lock()
	t := tk.t
	switch {
	case op != nil && op.Role == cambmock.RoleCreate && code >= 200 && code < 300:
		if id, ok := body["task_id"].(string); ok && id != "" && len(id) <= maxWatchID {
			t = wt.task(sc.String(id), op.Kind, start)
		}
	case t != nil && !t.gone:
		t.inFlight--
		at := judge.Duration(start.Sub(t.created))
		sent := judge.Duration(end.Sub(t.created))
		ev = &judge.Event{Seq: tk.seq, At: at, Sent: sent, Real: at, RealSent: sent, Code: code, Delivered: delivered}
		if aborted {
			ev.Code = 0
		}
		switch op.Role {
		case cambmock.RoleStatus:
			ev.Endpoint = judge.Poll
			t.polls++
			if st, ok := body["status"].(string); ok && delivered && code == http.StatusOK {
				ev.Status = cambmock.Status(sc.String(st))
				t.last = ev.Status
				if ev.Status == cambmock.StatusSuccess {
					t.succeeded = true
					if n, ok := body["run_id"].(json.Number); ok && len(t.runs) < 4 && !slices.Contains(t.runs, n.String()) {
						t.runs = append(t.runs, n.String())
						wt.runs[n.String()] = t
					}
				}
			}
			if code >= 400 {
				if d, ok := parseRetryAfter(ww.Header().Get("Retry-After"), end); ok {
					jd := judge.Duration(d)
					ev.RetryAfter = &jd
				}
			}
		case cambmock.RoleResult:
			ev.Endpoint = judge.Result
			ev.Early = !t.succeeded
			t.results++
		}
		t.history.Events = append(t.history.Events, *ev)
		if n := len(t.history.Events) - maxWatchEvents; n > 0 {
			t.history.Fold(n, p.spec)
		}
	}
	if t != nil && !t.gone {
		e.Task = t.id
	}
	wt.add(e)
	var te map[string]any
	if wt.listeners.Load() > 0 && t != nil && !t.gone {
		te = map[string]any{"task_id": t.id, "kind": t.kind, "scenario": "", "code": code}
		if ev != nil {
			te["endpoint"], te["status"] = string(ev.Endpoint), string(ev.Status)
		}
	}
	wt.mu.Unlock()
	if wt.listeners.Load() > 0 {
		wt.publish("request", e)
		if te != nil {
			wt.publish("task", te)
		}
	}
}

// add keeps a journal entry. wt.mu is held.
func (wt *watch) add(e watchEntry) {
	wt.jtotal++
	if len(wt.journal) < maxWatchJournal {
		wt.journal = append(wt.journal, e)
		return
	}
	wt.journal[wt.jnext] = e
	wt.jnext = (wt.jnext + 1) % maxWatchJournal
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// redactedQuery shows a raw query with the values of parameters that may
// hold a secret redacted, by their decoded names; a part whose name does
// not decode is redacted whole.
func redactedQuery(raw, keyHeader string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		k, _, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			parts[i] = redacted
			continue
		}
		n := strings.ToLower(name)
		secret := n == strings.ToLower(keyHeader) || strings.HasPrefix(n, "x-amz-") || strings.HasPrefix(n, "x-goog-") || n == "sig"
		for _, w := range []string{"key", "token", "signature", "secret", "password", "passwd", "auth", "credential", "session"} {
			secret = secret || strings.Contains(n, w)
		}
		if hasValue && secret {
			parts[i] = k + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// info is a task as the admin API shows it. wt.mu is held.
func (t *watched) info(now time.Time, history bool) watchInfo {
	wi := watchInfo{ID: t.id, Kind: t.kind, Created: t.created.UTC(), Elapsed: judge.Duration(now.Sub(t.created)), Polls: t.polls,
		Results: t.results, InFlight: t.inFlight, Status: t.last, History: []judge.Event{}, Dropped: t.history.Earlier.Events}
	if history {
		wi.History = slices.Clone(judge.Sorted(t.history.Events))
	}
	return wi
}

// watchPath says whether path is one the proxy's dashboard serves.
func watchPath(path string) bool {
	switch {
	case path == "/__admin/ui", strings.HasPrefix(path, dashboard.Path):
		return true
	case path == "/__admin/tasks", path == "/__admin/requests", path == "/__admin/events":
		return true
	case strings.HasPrefix(path, "/__admin/tasks/"):
		return true
	}
	return false
}

// serveWatch serves the dashboard and the admin API it reads.
func (p *Proxy) serveWatch(w http.ResponseWriter, r *http.Request) {
	g := adminguard.Guard{Token: p.watch.token}
	if r.URL.Path == "/__admin/ui" || strings.HasPrefix(r.URL.Path, dashboard.Path) {
		p.watch.uiOnce.Do(func() { p.watch.ui = dashboard.Handler(g) })
		p.watch.ui.ServeHTTP(w, r)
		return
	}
	if code, why := g.Check(r); code != 0 {
		writeError(w, code, why)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use GET")
		return
	}
	q := r.URL.Query()
	switch rest, _ := strings.CutPrefix(r.URL.Path, "/__admin/tasks/"); {
	case r.URL.Path == "/__admin/tasks":
		p.watchList(w, q)
	case r.URL.Path == "/__admin/requests":
		p.watchJournal(w, q)
	case r.URL.Path == "/__admin/events":
		p.watchEvents(w, r)
	case strings.HasSuffix(rest, "/timeline"):
		p.watchTimeline(w, strings.TrimSuffix(rest, "/timeline"))
	case !strings.Contains(rest, "/"):
		p.watchTask(w, rest)
	default:
		writeError(w, http.StatusNotFound, "cambmock proxy: no route for GET "+p.scrubber(r).String(r.URL.Path)+"; the proxy serves /__admin/tasks/{id} and /__admin/tasks/{id}/timeline")
	}
}

func (p *Proxy) watchList(w http.ResponseWriter, q url.Values) {
	limit, offset := 100, 0
	var errs []error
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxWatchList {
			errs = append(errs, fmt.Errorf("limit %q is not a whole number from 1 to %d", v, maxWatchList))
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("offset %q is not a whole number of 0 or more", v))
		}
		offset = n
	}
	flags := map[string]bool{}
	for _, name := range []string{"history", "verdicts"} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q is not true or false", name, v))
			}
			flags[name] = b
		}
	}
	if err := errors.Join(errs...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status, kind, scenario := q.Get("status"), q.Get("kind"), q.Get("scenario")
	now := time.Now()
	out := struct {
		Total     int         `json:"total"`
		Offset    int         `json:"offset"`
		Forgotten int         `json:"forgotten"` // tasks no longer remembered (the proxy keeps the 10,000 newest)
		Tasks     []watchInfo `json:"tasks"`
	}{Offset: offset, Tasks: []watchInfo{}}
	type judgeable struct {
		i int
		h judge.History
	}
	var toJudge []judgeable
	p.watch.mu.Lock()
	out.Forgotten = p.watch.forgotten
	for i := len(p.watch.order) - 1; i >= 0; i-- {
		t := p.watch.order[i]
		if status != "" && string(t.last) != status || kind != "" && t.kind != kind || scenario != "" {
			continue
		}
		out.Total++
		if out.Total <= offset || len(out.Tasks) >= limit {
			continue
		}
		out.Tasks = append(out.Tasks, t.info(now, flags["history"]))
		if flags["verdicts"] {
			h := t.history
			h.Events = slices.Clone(h.Events)
			h.Earlier.Advice = slices.Clone(h.Earlier.Advice)
			toJudge = append(toJudge, judgeable{len(out.Tasks) - 1, h})
		}
	}
	p.watch.mu.Unlock()
	for _, j := range toJudge {
		out.Tasks[j.i].Violations = judge.Judge(j.h, judge.Rules{}, p.spec).Violations
	}
	writeJSON(w, http.StatusOK, out)
}

// watchHistory returns a copy of the task's info and history, or false.
func (p *Proxy) watchHistory(id string) (watchInfo, judge.History, bool) {
	p.watch.mu.Lock()
	defer p.watch.mu.Unlock()
	t, ok := p.watch.tasks[id]
	if !ok {
		return watchInfo{}, judge.History{}, false
	}
	h := t.history
	h.Events = slices.Clone(h.Events)
	h.Earlier.Advice = slices.Clone(h.Earlier.Advice)
	return t.info(time.Now(), true), h, true
}

func (p *Proxy) watchTask(w http.ResponseWriter, id string) {
	wi, _, ok := p.watchHistory(id)
	if !ok {
		p.watchNoTask(w, id)
		return
	}
	writeJSON(w, http.StatusOK, wi)
}

func (p *Proxy) watchNoTask(w http.ResponseWriter, id string) {
	if len(id) > maxWatchID {
		id = id[:maxWatchID] + "…"
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("cambmock proxy: no task %q has gone through the proxy (or it was forgotten: the proxy remembers the %d newest)", id, maxWatched))
}

func (p *Proxy) watchTimeline(w http.ResponseWriter, id string) {
	wi, h, ok := p.watchHistory(id)
	if !ok {
		p.watchNoTask(w, id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"task_id": wi.ID, "kind": wi.Kind, "scenario": "", "elapsed": wi.Elapsed, "poll_step": 0,
		"steps": []any{}, "events": wi.History, "history_dropped": wi.Dropped,
		"marks": judge.Marks(h, judge.Rules{}, p.spec), "discipline": judge.Judge(h, judge.Rules{}, p.spec),
	})
}

func (p *Proxy) watchJournal(w http.ResponseWriter, q url.Values) {
	n := 100
	if v := q.Get("limit"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q is not a whole number of 1 or more", v))
			return
		}
	}
	p.watch.mu.Lock()
	j := p.watch.journal
	n = min(n, len(j))
	out := struct {
		Total    int64        `json:"total"`
		Requests []watchEntry `json:"requests"`
	}{Total: p.watch.jtotal, Requests: make([]watchEntry, 0, n)}
	for i := range n {
		idx := (p.watch.jnext - 1 - i + 2*len(j)) % len(j)
		out.Requests = append(out.Requests, j[idx])
	}
	p.watch.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// publish sends an event to every listener; one that is behind is told
// it lost events, never slowing the proxy.
func (wt *watch) publish(kind string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	msg := []byte("event: " + kind + "\ndata: " + string(b) + "\n\n")
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for ch := range wt.subs {
		select {
		case ch <- msg:
		default:
			select {
			case ch <- nil:
			default:
			}
		}
	}
}

func (p *Proxy) watchEvents(w http.ResponseWriter, r *http.Request) {
	wt := &p.watch
	ch := make(chan []byte, 256)
	wt.mu.Lock()
	if wt.closed {
		wt.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "cambmock proxy: shutting down")
		return
	}
	if wt.subs == nil {
		wt.subs = map[chan []byte]struct{}{}
	}
	wt.subs[ch] = struct{}{}
	wt.listeners.Add(1)
	wt.mu.Unlock()
	defer func() {
		wt.mu.Lock()
		if _, ok := wt.subs[ch]; ok {
			delete(wt.subs, ch)
		}
		wt.mu.Unlock()
		wt.listeners.Add(-1)
	}()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc.SetWriteDeadline(time.Time{}) // the stream lasts as long as the page
	w.Write([]byte("retry: 2000\n\nevent: hello\ndata: {}\n\n"))
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case msg, ok := <-ch:
			if !ok {
				return // the proxy closed
			}
			if msg == nil {
				msg = []byte("event: lost\ndata: {}\n\n")
			}
			if _, err := w.Write(msg); err != nil {
				return
			}
		case <-beat.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
