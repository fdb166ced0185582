package mockserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// TaskInfo is a snapshot of a task, as [Task.Info] and the admin API
// (GET /__admin/tasks/{id}) give it.
type TaskInfo struct {
	ID        string          `json:"task_id"`
	Scenario  string          `json:"scenario"`
	Created   time.Time       `json:"created_at"`            // by the server's clock
	Elapsed   Duration        `json:"elapsed"`               // since creation, by the server's clock
	RunID     int64           `json:"run_id"`                // the run its SUCCESS names
	Length    Duration        `json:"audio_length"`          // of its audio
	AudioType string          `json:"audio_type"`            // sound or music
	Polls     int             `json:"polls"`                 // status polls answered
	Results   int             `json:"results"`               // result requests answered
	Step      int             `json:"poll_step"`             // the poll step that answered last, 1-based; 0 before the first poll
	Steps     int             `json:"poll_steps"`            // how many steps the poll script has
	Status    cambmock.Status `json:"last_status,omitempty"` // the last status served
	History   []Event         `json:"history"`               // the last answers, oldest first
	Dropped   int             `json:"history_dropped"`       // answers that fell out of History
}

// Event is one answer in a task's history.
type Event struct {
	At       Duration        `json:"at"`       // since the task was created
	Endpoint string          `json:"endpoint"` // poll, result or file
	Step     int             `json:"step"`     // the script step that answered, 1-based; 0 for a normal answer
	Code     int             `json:"code"`     // HTTP status; 0 for a fault
	Status   cambmock.Status `json:"status,omitempty"`
	Fault    scenarios.Fault `json:"fault,omitempty"`
}

// Duration is a time.Duration that JSON encodes as a string such as "1.5s".
type Duration time.Duration

// String writes the duration as time.Duration does, such as "1.5s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a string such as "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\" or \"1m30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it as \"30s\", \"500ms\" or \"1m30s\"", s)
	}
	*d = Duration(v)
	return nil
}

func (s *Server) info(t *task) TaskInfo {
	now := s.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := TaskInfo{
		ID:        t.id,
		Scenario:  t.sc.Name,
		Created:   t.created,
		Elapsed:   Duration(now.Sub(t.created)),
		RunID:     t.runID,
		Length:    Duration(t.length),
		AudioType: t.audioType,
		Polls:     int(t.polls),
		Results:   int(t.results),
		Steps:     len(t.sc.Poll),
		Status:    t.last,
		Dropped:   int(t.dropped),
		History:   []Event{},
	}
	if t.polls > 0 {
		ti.Step = t.poll.Step + 1
	}
	for _, e := range t.events() {
		ev := Event{At: Duration(e.at), Step: int(e.step), Code: int(e.code), Fault: faultNames[e.fault]}
		switch e.kind {
		case kindPoll:
			ev.Endpoint = "poll"
		case kindResult:
			ev.Endpoint = "result"
		case kindFile:
			ev.Endpoint = "file"
		}
		if e.status > 0 && int(e.status) < len(statusNames) {
			ev.Status = statusNames[e.status]
		}
		ti.History = append(ti.History, ev)
	}
	return ti
}

// A Task is a handle on one task of a [Server].
type Task struct {
	s *Server
	t *task
}

// Task returns a handle on the task with the given id; the error wraps
// [ErrNoTask] if there is none.
func (s *Server) Task(id string) (*Task, error) {
	t := s.tasks.get(id)
	if t == nil {
		return nil, fmt.Errorf("task %q: %w", id, ErrNoTask)
	}
	return &Task{s: s, t: t}, nil
}

// Tasks returns a handle on every task, oldest first.
func (s *Server) Tasks() []*Task {
	all := s.tasks.all()
	slices.SortFunc(all, func(a, b *task) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return int(a.runID - b.runID)
	})
	out := make([]*Task, len(all))
	for i, t := range all {
		out[i] = &Task{s: s, t: t}
	}
	return out
}

// ID returns the task's id.
func (t *Task) ID() string { return t.t.id }

// Info returns a snapshot of the task.
func (t *Task) Info() TaskInfo { return t.s.info(t.t) }

// NewTask is a task to create with [Server.CreateTask]: the admin API's
// POST /__admin/tasks body.
type NewTask struct {
	Scenario  string   `json:"scenario"`             // empty: the server's default
	ID        string   `json:"task_id,omitempty"`    // empty: a random id
	Prompt    string   `json:"prompt,omitempty"`     // picks the audio; empty is allowed
	Duration  Duration `json:"duration,omitempty"`   // of the audio; zero: 8s (music: always 30s)
	AudioType string   `json:"audio_type,omitempty"` // sound (the default) or music
}

// CreateTask creates a task directly, as if a create request had, but
// without playing the scenario's create script; it is how a test makes a
// task for a client that only polls. A chosen id that is taken is an error
// wrapping [ErrTaskExists]; an unknown scenario, [ErrUnknownScenario].
func (s *Server) CreateTask(nt NewTask) (*Task, error) {
	name := nt.Scenario
	if name == "" {
		name = s.def.Name
	}
	sc, err := s.lookupScenario(name)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(nt.ID, "/?#%") || strings.TrimSpace(nt.ID) != nt.ID || len(nt.ID) > 256 {
		return nil, fmt.Errorf("task id %q cannot be used in a URL path; use letters, digits, dashes and underscores, at most 256 characters", nt.ID)
	}
	audioType := nt.AudioType
	switch audioType {
	case "":
		audioType = "sound"
	case "sound", "music":
	default:
		return nil, fmt.Errorf("audio_type %q is not one of sound, music", nt.AudioType)
	}
	length := time.Duration(nt.Duration)
	switch {
	case length < 0:
		return nil, fmt.Errorf("duration %v is below zero; give a length such as \"5s\"", length)
	case length == 0:
		length = DefaultDuration
	}
	if audioType == "music" {
		length = MusicLength
	}
	if length > time.Hour {
		return nil, fmt.Errorf("duration %v is over an hour; give at most \"1h\"", length)
	}
	t, err := s.newTask(sc, nt.ID, nt.Prompt, length, audioType)
	if err != nil {
		return nil, err
	}
	return &Task{s: s, t: t}, nil
}

// decodeJSON reads a JSON admin request body strictly into v, answering
// 400 if it is not what is expected.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
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
	writeValue(w, http.StatusOK, map[string]any{
		"status":    "ok",
		"service":   "cambmock",
		"auth":      auth, // any-key: every non-empty key is accepted; keys: only those given
		"scenarios": len(s.names),
		"tasks":     s.tasks.count.Load(),
		"clock":     s.clockKind(),
		"now":       s.clock.Now(),
	})
}

func (s *Server) clockKind() string {
	if s.manual != nil {
		return "manual"
	}
	return "real"
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

func (s *Server) adminCreateTask(w http.ResponseWriter, r *http.Request) {
	var nt NewTask
	if !decodeJSON(w, r, &nt, `{"scenario": "success", "task_id": "my-task"}`) {
		return
	}
	t, err := s.CreateTask(nt)
	switch {
	case errors.Is(err, ErrTaskExists):
		writeError(w, http.StatusConflict, err.Error()+"; choose another id, or reset the server (POST /__admin/reset)")
	case errors.Is(err, ErrUnknownScenario):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrFull):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeValue(w, http.StatusCreated, t.Info())
	}
}

func (s *Server) adminListTasks(w http.ResponseWriter, r *http.Request) {
	all := s.tasks.all()
	out := make([]TaskInfo, 0, len(all))
	for _, t := range all {
		out = append(out, s.info(t))
	}
	slices.SortFunc(out, func(a, b TaskInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	const limit = 1000
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	writeValue(w, http.StatusOK, out)
}

func (s *Server) adminGetTask(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["task_id"]
	t, err := s.Task(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeValue(w, http.StatusOK, t.Info())
}

func (s *Server) adminReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
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
	if !decodeJSON(w, r, &req, `{"by": "30s"}`) {
		return
	}
	if req.By == nil {
		writeError(w, http.StatusBadRequest, `the body has no "by"; send JSON such as {"by": "30s"}`)
		return
	}
	now, err := mc.Advance(time.Duration(*req.By))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
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
	entries, total := s.journal.last(n)
	out := struct {
		Total    int64          `json:"total"`
		Requests []journalEntry `json:"requests"`
	}{Total: total, Requests: make([]journalEntry, 0, len(entries))}
	for _, e := range entries {
		je := journalEntry{At: e.at, Method: e.method, Path: e.path, Query: redactQuery(e.query), Status: e.code, Task: e.task,
			Scenario: e.scenario, Step: stepName(e.script, e.step), Fault: e.fault, Duration: Duration(e.dur)}
		if e.key {
			je.APIKey = cambmock.APIKey("x").String()
		}
		out.Requests = append(out.Requests, je)
	}
	writeValue(w, http.StatusOK, out)
}

// redactQuery hides the values of query parameters that could hold a
// secret: a file token, or a key sent in the query by mistake.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		lk := strings.ToLower(k)
		if hasValue && (strings.Contains(lk, "key") || strings.Contains(lk, "token") || strings.Contains(lk, "secret")) {
			parts[i] = k + "=[redacted]"
		}
	}
	return strings.Join(parts, "&")
}
