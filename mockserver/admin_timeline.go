package mockserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// timeline is a task as the dashboard draws it (GET
// /__admin/tasks/{id}/timeline): what was delivered, the steps of its
// scenario's poll script and when each began, the judge's verdicts at the
// events where they happened, and the whole discipline.
type timeline struct {
	Task     string   `json:"task_id"`
	Kind     string   `json:"kind"`
	Scenario string   `json:"scenario"`
	Elapsed  Duration `json:"elapsed"` // since creation, on the scenario clock
	// Manual is true on a manual clock; Scale is real seconds per second
	// of the scenario clock (0: 1).
	Manual bool    `json:"manual_clock,omitempty"`
	Scale  float64 `json:"scale,omitempty"`
	// Step is the poll step that answered last, 1-based; 0 before the first poll.
	Step       int            `json:"poll_step"`
	Steps      []timelineStep `json:"steps"`
	Events     []Event        `json:"events"`          // the answers kept, in arrival order
	Dropped    int            `json:"history_dropped"` // answers folded out of Events
	Marks      []judge.Mark   `json:"marks"`           // the verdicts at the events where they happened
	Discipline Discipline     `json:"discipline"`
}

// timelineStep is a step of a task's poll script. From and Until are on
// the scenario clock since the task was created, and may lie ahead of
// Elapsed: a step of time ends when it ends, polled or not.
type timelineStep struct {
	Step    int             `json:"step"`   // 1-based, as events number them
	Serves  string          `json:"serves"` // what it answers, such as "PENDING", "HTTP 429", "fault reset"
	Status  cambmock.Status `json:"status,omitempty"`
	Code    int             `json:"code,omitempty"`
	Fault   scenarios.Fault `json:"fault,omitempty"`
	Polls   int             `json:"polls,omitempty"` // it lasts this many polls
	For     Duration        `json:"for,omitempty"`   // it lasts this long
	Forever bool            `json:"forever,omitempty"`
	From    *Duration       `json:"from,omitempty"`  // when it began; absent if not known yet
	Until   *Duration       `json:"until,omitempty"` // when it ended or ends; absent if not known yet
}

func (s *Server) adminTimeline(w http.ResponseWriter, r *http.Request) {
	rules, err := rulesFromQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sn, err := s.store.task(r.Context(), mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	sc := s.scenarios[sn.meta.scenario]
	h := sn.history
	h.Events = judge.Sorted(h.Events)
	tl := timeline{
		Task: sn.meta.id, Kind: s.kinds[sn.meta.kind].Name, Scenario: sc.Name, Elapsed: Duration(sn.elapsed),
		Manual: h.Manual, Step: sn.step, Steps: scriptSteps(sc.Poll, h), Events: h.Events, Dropped: h.Earlier.Events,
		Marks: judge.Marks(h, rules, s.spec), Discipline: judge.Judge(h, rules, s.spec),
	}
	if h.Scale != 1 {
		tl.Scale = h.Scale
	}
	if tl.Events == nil {
		tl.Events = []Event{}
	}
	writeValue(w, http.StatusOK, tl)
}

// scriptSteps describes a poll script and when each step began and ends,
// as far as the history tells: a step of time ends its length after it
// began; a step of polls ends when the next step's first poll arrived.
// Steps advance in arrival order, so once the history has folded events
// away, a step's first kept poll is its first only if an earlier step's
// poll is kept before it.
func scriptSteps(script scenarios.Script, h judge.History) []timelineStep {
	first := map[int]Duration{} // the first kept poll of each step
	earliest := 0               // the step of the first kept poll
	for _, e := range h.Events {
		if e.Endpoint != judge.Poll || e.Step == 0 {
			continue
		}
		if earliest == 0 {
			earliest = e.Step
		}
		if _, ok := first[e.Step]; !ok {
			first[e.Step] = e.At
		}
	}
	folded := h.Earlier.Events > 0
	out := make([]timelineStep, 0, len(script))
	from, known := Duration(0), true
	for i, st := range script {
		ts := timelineStep{Step: i + 1, Polls: st.Polls, For: Duration(st.For), Forever: st.Forever()}
		switch {
		case st.Reply != nil:
			ts.Serves, ts.Status = string(st.Reply.Status), st.Reply.Status
		case st.Error != nil:
			ts.Serves, ts.Code = "HTTP "+strconv.Itoa(st.Error.Code), st.Error.Code
			if ra := st.Error.Header.Get("Retry-After"); ra != "" {
				ts.Serves += " (Retry-After: " + ra + ")"
			}
		case st.Fault != "":
			ts.Serves, ts.Fault = "fault "+string(st.Fault), st.Fault
		}
		if known {
			f := from
			ts.From = &f
		}
		switch {
		case !known:
		case st.For > 0:
			from += Duration(st.For)
			u := from
			ts.Until = &u
		case st.Polls > 0:
			at, ok := first[i+2]
			if ok && (!folded || earliest <= i+1) {
				from = at
				ts.Until = &at
			} else {
				known = false
			}
		}
		out = append(out, ts)
	}
	return out
}

// judgedTask is a task of GET /__admin/tasks?verdicts=true: its TaskInfo
// and the judge's violations by the default rules, so that a list shows
// at a glance which client behaved.
type judgedTask struct {
	TaskInfo
	Violations []string `json:"violations"` // each "name: what"; empty when the client behaved
}

// judgedList is a page of judged tasks, newest first.
type judgedList struct {
	Total  int          `json:"total"`
	Offset int          `json:"offset"`
	Tasks  []judgedTask `json:"tasks"`
}

// listJudged is [Server.list] with each task judged; the tasks' history is
// given only if q asks for it.
func (s *Server) listJudged(ctx context.Context, q taskQuery) (judgedList, error) {
	keep := q.history
	q.history = true
	all, total, err := s.store.tasks(ctx, q)
	if err != nil {
		return judgedList{}, err
	}
	out := judgedList{Total: total, Offset: q.offset, Tasks: make([]judgedTask, 0, len(all))}
	for _, sn := range all {
		jt := judgedTask{TaskInfo: s.info(sn), Violations: judge.Judge(sn.history, Rules{}, s.spec).Violations}
		if !keep {
			jt.History = []Event{}
		}
		out.Tasks = append(out.Tasks, jt)
	}
	return out, nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s %q is not true or false", name, v)
	}
	return b, nil
}
