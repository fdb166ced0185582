package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/scenarios"
)

// guard protects the admin API: see [WithAdminToken] and package adminguard.
func (s *Server) guard(next http.Handler) http.Handler {
	return s.adminGuard().Wrap(next)
}

func (s *Server) adminGuard() adminguard.Guard {
	return adminguard.Guard{Token: s.cfg.adminToken, Open: []string{"/__admin/health"}}
}

// decodeJSON reads a JSON admin request body strictly into v, answering
// 400 if it is not what is expected. An empty body leaves v as it is.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	body, ok := s.readBody(exchangeOf(w), r)
	if !ok {
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "the request body is not what this endpoint takes: "+err.Error()+"; send JSON such as "+example)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "the request body holds more than one JSON value; send one, such as "+example)
		return false
	}
	return true
}

func (s *Server) adminHealth(w http.ResponseWriter, r *http.Request) {
	auth := "any-key"
	if s.keys != nil {
		auth = "keys"
	}
	n, err := s.store.count(r.Context())
	if err != nil {
		writeValue(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "service": "cambmock", "detail": err.Error()})
		return
	}
	out := map[string]any{
		"status":    "ok",
		"service":   "cambmock",
		"auth":      auth, // any-key: every non-empty key is accepted; keys: only those given
		"scenarios": len(s.names),
		"tasks":     n,
		"clock":     s.clockKind(),
		"now":       s.clock.Now(),
	}
	for k, v := range s.storeInfo() {
		out[k] = v
	}
	writeValue(w, http.StatusOK, out)
}

func (s *Server) clockKind() string {
	if s.manual != nil {
		return "manual"
	}
	return "real"
}

func (s *Server) adminSpec(w http.ResponseWriter, r *http.Request) {
	b := s.spec.Source()
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// scenarioInfo is how the admin API lists a scenario.
type scenarioInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	OffSpec     bool     `json:"off_spec"`
	Default     bool     `json:"default"`
	Violations  []string `json:"violations,omitempty"`
}

func (s *Server) adminScenarios(w http.ResponseWriter, r *http.Request) {
	out := make([]scenarioInfo, 0, len(s.names))
	for _, sc := range s.Scenarios() {
		si := scenarioInfo{Name: sc.Name, Description: sc.Description, OffSpec: sc.OffSpec, Default: sc.Name == s.def.Name}
		if sc.OffSpec {
			for _, v := range sc.Violations(s.spec) {
				si.Violations = append(si.Violations, v.String())
			}
		}
		out = append(out, si)
	}
	writeValue(w, http.StatusOK, out)
}

// kindInfo is how the admin API lists a kind of task.
type kindInfo struct {
	Name       string            `json:"name"`
	Default    bool              `json:"default"`
	Operations map[string]string `json:"operations"` // role -> "METHOD /path"
}

func (s *Server) adminKinds(w http.ResponseWriter, r *http.Request) {
	out := make([]kindInfo, 0, len(s.kinds))
	def := s.spec.DefaultKind()
	for _, k := range s.kinds {
		ki := kindInfo{Name: k.Name, Default: def != nil && def.Name == k.Name, Operations: map[string]string{}}
		for _, op := range k.Operations() {
			ki.Operations[string(op.Role)] = op.Method + " " + s.base + op.Path
		}
		out = append(out, ki)
	}
	writeValue(w, http.StatusOK, out)
}

func (s *Server) adminCreateTask(w http.ResponseWriter, r *http.Request) {
	var nt NewTask
	if !s.decodeJSON(w, r, &nt, `{"scenario": "success", "task_id": "my-task"}`) {
		return
	}
	t, err := s.createTask(r.Context(), nt)
	switch {
	case errors.Is(err, ErrTaskExists):
		writeError(w, http.StatusConflict, err.Error()+"; choose another id, or reset the server (POST /__admin/reset)")
	case errors.Is(err, ErrFull), errors.Is(err, errStoreDown):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeValue(w, http.StatusCreated, t.Info())
	}
}

// maxListed bounds how many tasks one admin answer lists.
const maxListed = 1000

// listQuery reads the paging and filters of the admin API's task lists:
// limit (default def, at most 1000), offset, status, scenario and kind.
func (s *Server) listQuery(q url.Values, def int) (taskQuery, error) {
	tq := taskQuery{limit: def, status: q.Get("status"), scenario: q.Get("scenario"), kind: q.Get("kind")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListed {
			return tq, fmt.Errorf("limit %q is not a whole number from 1 to %d", v, maxListed)
		}
		tq.limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return tq, fmt.Errorf("offset %q is not a whole number of 0 or more", v)
		}
		tq.offset = n
	}
	if tq.status != "" && !s.statuses.has(cambmock.Status(tq.status)) {
		return tq, fmt.Errorf("status %q is served by no scenario of this server; the statuses are %s", tq.status, s.statuses.list())
	}
	if tq.scenario != "" {
		if _, err := s.lookupScenario(tq.scenario); err != nil {
			return tq, err
		}
	}
	if tq.kind != "" {
		if _, err := s.kindByName(tq.kind); err != nil {
			return tq, err
		}
	}
	if v := q.Get("history"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return tq, fmt.Errorf("history %q is not true or false", v)
		}
		tq.history = b
	}
	return tq, nil
}

// taskList is a page of tasks, newest first.
type taskList struct {
	Total  int        `json:"total"` // tasks the filters select
	Offset int        `json:"offset"`
	Tasks  []TaskInfo `json:"tasks"`
}

func (s *Server) list(ctx context.Context, q taskQuery) (taskList, error) {
	all, total, err := s.store.tasks(ctx, q)
	if err != nil {
		return taskList{}, err
	}
	out := taskList{Total: total, Offset: q.offset, Tasks: make([]TaskInfo, 0, len(all))}
	for _, sn := range all {
		out.Tasks = append(out.Tasks, s.info(sn))
	}
	return out, nil
}

func (s *Server) adminListTasks(w http.ResponseWriter, r *http.Request) {
	q, err := s.listQuery(r.URL.Query(), 100)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var out any
	judged, err := boolParam(r.URL.Query(), "verdicts")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if judged {
		out, err = s.listJudged(r.Context(), q)
	} else {
		out, err = s.list(r.Context(), q)
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeValue(w, http.StatusOK, out)
}

func (s *Server) adminGetTask(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, taskErrorCode(err), err.Error())
		return
	}
	writeValue(w, http.StatusOK, t.Info())
}

func (s *Server) adminReset(w http.ResponseWriter, r *http.Request) {
	if err := s.store.reset(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.journal.reset()
	s.bus.publish(evReset, map[string]string{})
	writeValue(w, http.StatusOK, map[string]string{"status": "reset"})
}

func (s *Server) adminGetClock(w http.ResponseWriter, r *http.Request) {
	writeValue(w, http.StatusOK, map[string]any{"clock": s.clockKind(), "now": s.clock.Now()})
}

func (s *Server) adminAdvanceClock(w http.ResponseWriter, r *http.Request) {
	mc := s.manual
	if mc == nil {
		writeError(w, http.StatusConflict, "the server runs on the real clock, which cannot be moved; start it with --clock manual")
		return
	}
	var req struct {
		By *Duration `json:"by"`
	}
	if !s.decodeJSON(w, r, &req, `{"by": "30s"}`) {
		return
	}
	if req.By == nil {
		writeError(w, http.StatusBadRequest, `the body has no "by"; send JSON such as {"by": "30s"}`)
		return
	}
	if _, err := mc.Advance(time.Duration(*req.By)); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errStoreDown) {
			code = http.StatusServiceUnavailable
		}
		writeError(w, code, err.Error())
		return
	}
	now := s.clock.Now()
	s.bus.publish(evClock, map[string]any{"clock": "manual", "now": now})
	writeValue(w, http.StatusOK, map[string]any{"clock": "manual", "now": now})
}

// journalEntry is how the admin API shows a request.
type journalEntry struct {
	At       time.Time       `json:"at"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Query    string          `json:"query,omitempty"`
	Status   int             `json:"status"` // 0: the connection was dropped
	Task     string          `json:"task,omitempty"`
	Scenario string          `json:"scenario,omitempty"`
	Step     string          `json:"step,omitempty"`
	Fault    scenarios.Fault `json:"fault,omitempty"`
	Duration Duration        `json:"duration"`
	APIKey   string          `json:"api_key"` // "[redacted]" or "" when none was sent
}

func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	n := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q is not a whole number of 1 or more", v))
			return
		}
	}
	entries, total, err := s.journal.last(r.Context(), n)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	out := struct {
		Total    int64          `json:"total"`
		Requests []journalEntry `json:"requests"`
	}{Total: total, Requests: make([]journalEntry, 0, len(entries))}
	for _, e := range entries {
		out.Requests = append(out.Requests, e.shown())
	}
	writeValue(w, http.StatusOK, out)
}

// shown is how the admin API shows a journal entry: the query's secrets
// and the key redacted.
func (e entry) shown() journalEntry {
	je := journalEntry{At: e.at, Method: e.method, Path: e.path, Query: redactQuery(e.query), Status: e.code, Task: e.task,
		Scenario: e.scenario, Step: stepName(e.script, e.step), Fault: e.fault, Duration: Duration(e.dur)}
	if e.key {
		je.APIKey = cambmock.APIKey("x").String()
	}
	return je
}

// redactQuery hides the values of query parameters that could hold a
// secret: a file token, or a key sent in the query by mistake. Names are
// compared once decoded, so x%2Dapi%2Dkey is redacted as x-api-key is; a
// part whose name cannot be decoded is redacted whole.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			parts[i] = "[redacted]"
			continue
		}
		if hasValue && secretName(name) {
			parts[i] = k + "=[redacted]"
		}
	}
	return strings.Join(parts, "&")
}

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"key", "token", "secret", "signature", "password", "auth", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasPrefix(n, "x-amz-")
}

// rulesFromQuery reads Rules from query parameters: min_interval,
// max_polls, ignore_retry_after, allow_polls_after_terminal and
// allow_polls_after_unknown.
func rulesFromQuery(q url.Values) (Rules, error) {
	var r Rules
	for k := range q {
		switch k {
		case "min_interval", "max_polls", "ignore_retry_after", "allow_polls_after_terminal", "allow_polls_after_unknown":
		default:
			return r, fmt.Errorf("unknown parameter %q; the rules are min_interval, max_polls, ignore_retry_after, allow_polls_after_terminal, allow_polls_after_unknown", k)
		}
	}
	if v := q.Get("min_interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return r, fmt.Errorf("min_interval %q is not a duration such as 2s (a negative one turns the rule off)", v)
		}
		r.MinInterval = d
	}
	if v := q.Get("max_polls"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, fmt.Errorf("max_polls %q is not a whole number of 0 or more (0: no limit)", v)
		}
		r.MaxPolls = n
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"ignore_retry_after", &r.IgnoreRetryAfter}, {"allow_polls_after_terminal", &r.AllowPollsAfterTerminal}, {"allow_polls_after_unknown", &r.AllowPollsAfterUnknown}} {
		if v := q.Get(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return r, fmt.Errorf("%s %q is not true or false", b.name, v)
			}
			*b.dst = x
		}
	}
	return r, nil
}

func (s *Server) adminDiscipline(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, taskErrorCode(err), err.Error())
		return
	}
	rules, err := rulesFromQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeValue(w, http.StatusOK, t.Discipline(rules))
}

func (s *Server) adminHistory(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, taskErrorCode(err), err.Error())
		return
	}
	h, err := t.History()
	if err != nil {
		writeError(w, taskErrorCode(err), err.Error())
		return
	}
	writeValue(w, http.StatusOK, h)
}

// maxWait bounds the admin API's long polls.
const maxWait = 5 * time.Minute

func waitTimeout(q url.Values) (time.Duration, error) {
	v := q.Get("timeout")
	if v == "" {
		return 10 * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxWait {
		return 0, fmt.Errorf("timeout %q is not a duration above 0 and at most %v, such as 10s", v, maxWait)
	}
	return d, nil
}

// adminWaitTask is the long poll for a task: ?status=SUCCESS, ?polls=3 or
// ?result=true, and ?timeout=10s. It answers 200 with the task when it
// happens, 408 when the timeout passes first.
func (s *Server) adminWaitTask(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, taskErrorCode(err), err.Error())
		return
	}
	q := r.URL.Query()
	timeout, err := waitTimeout(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var wait func(ctx context.Context) error
	switch {
	case q.Get("status") != "" && q.Get("polls") == "" && q.Get("result") == "":
		status := cambmock.Status(q.Get("status"))
		if !s.statuses.has(status) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q is served by no scenario of this server, so it would never come; the statuses are %s", status, s.statuses.list()))
			return
		}
		wait = func(ctx context.Context) error { return t.WaitForStatus(ctx, status) }
	case q.Get("polls") != "" && q.Get("status") == "" && q.Get("result") == "":
		n, err := strconv.Atoi(q.Get("polls"))
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("polls %q is not a whole number of 1 or more", q.Get("polls")))
			return
		}
		wait = func(ctx context.Context) error { return t.WaitForPolls(ctx, n) }
	case q.Get("result") == "true" && q.Get("status") == "" && q.Get("polls") == "":
		wait = t.WaitForResult
	default:
		writeError(w, http.StatusBadRequest, "give one of status=STATUS, polls=N or result=true to wait for, and optionally timeout=10s")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	s.answerWait(w, r, wait(ctx), func() any { return t.Info() })
}

// adminWaitTasks is the long poll for tasks to be created: ?tasks=N,
// ?timeout=10s, and the paging of the task list (limit, default 100). It
// answers 200 with the newest tasks, or 408.
func (s *Server) adminWaitTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	timeout, err := waitTimeout(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	n, err := strconv.Atoi(q.Get("tasks"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("tasks %q is not a whole number of 1 or more; give ?tasks=1 to wait for the first task", q.Get("tasks")))
		return
	}
	page := url.Values{}
	for k, v := range q {
		if k != "tasks" && k != "timeout" {
			page[k] = v
		}
	}
	tq, err := s.listQuery(page, 100)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	_, err = s.WaitForTasks(ctx, n)
	s.answerWait(w, r, err, func() any {
		out, err := s.list(r.Context(), tq)
		if err != nil {
			return map[string]string{"detail": err.Error()}
		}
		return out
	})
}

func (s *Server) answerWait(w http.ResponseWriter, r *http.Request, err error, value func() any) {
	switch {
	case err == nil:
		writeValue(w, http.StatusOK, value())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, err.Error())
	case r.Context().Err() != nil:
		// The client has gone.
	default:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// taskErrorCode is the status of an admin answer about a task the store
// could not give: 404 when there is no such task, 503 when a shared store
// cannot be reached.
func taskErrorCode(err error) int {
	if errors.Is(err, errStoreDown) {
		return http.StatusServiceUnavailable
	}
	return http.StatusNotFound
}
