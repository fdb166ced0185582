package mockserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// timelineAnswer is GET /__admin/tasks/{id}/timeline.
type timelineAnswer struct {
	Task     string                `json:"task_id"`
	Scenario string                `json:"scenario"`
	Elapsed  mockserver.Duration   `json:"elapsed"`
	Manual   bool                  `json:"manual_clock"`
	Step     int                   `json:"poll_step"`
	Steps    []timelineStep        `json:"steps"`
	Events   []mockserver.Event    `json:"events"`
	Marks    []judge.Mark          `json:"marks"`
	Disc     mockserver.Discipline `json:"discipline"`
}

type timelineStep struct {
	Step   int                  `json:"step"`
	Serves string               `json:"serves"`
	From   *mockserver.Duration `json:"from"`
	Until  *mockserver.Duration `json:"until"`
}

func at(d time.Duration) *mockserver.Duration { v := mockserver.Duration(d); return &v }

// TestAdminTimeline: a task's timeline has its scenario's steps with when
// each began and ends, and the judge's verdicts at the polls where they
// happened.
func TestAdminTimeline(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	id := createTask(t, ts.Client(), ts.URL, "maintenance") // 503 Retry-After 2 for 5s, PENDING once, SUCCESS
	var tl timelineAnswer
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/" + id + "/timeline"}, 200, &tl)
	wantSteps := []timelineStep{
		{Step: 1, Serves: "HTTP 503 (Retry-After: 2)", From: at(0), Until: at(5 * time.Second)},
		{Step: 2, Serves: "PENDING", From: at(5 * time.Second)},
		{Step: 3, Serves: "SUCCESS"},
	}
	if diff := cmp.Diff(wantSteps, tl.Steps); diff != "" {
		t.Errorf("timeline of a new task: steps mismatch (-want +got):\n%s", diff)
	}

	pollStatusOf(t, ts, id) // 503 at 0s
	ts.Advance(time.Second)
	pollStatusOf(t, ts, id) // 503 at 1s: a second before Retry-After allowed
	ts.Advance(6 * time.Second)
	pollStatusOf(t, ts, id) // PENDING at 7s
	ts.Advance(2 * time.Second)
	pollStatusOf(t, ts, id) // SUCCESS at 9s
	ts.Advance(2 * time.Second)
	pollStatusOf(t, ts, id) // SUCCESS again at 11s: after the terminal status
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/" + id + "/timeline"}, 200, &tl)

	wantSteps = []timelineStep{
		{Step: 1, Serves: "HTTP 503 (Retry-After: 2)", From: at(0), Until: at(5 * time.Second)},
		{Step: 2, Serves: "PENDING", From: at(5 * time.Second), Until: at(9 * time.Second)},
		{Step: 3, Serves: "SUCCESS", From: at(9 * time.Second)},
	}
	if diff := cmp.Diff(wantSteps, tl.Steps); diff != "" {
		t.Errorf("timeline after 5 polls: steps mismatch (-want +got):\n%s", diff)
	}
	var steps []int
	for _, e := range tl.Events {
		steps = append(steps, e.Step)
	}
	if diff := cmp.Diff([]int{1, 1, 2, 3, 3}, steps); diff != "" {
		t.Errorf("timeline: the events' steps mismatch (-want +got):\n%s", diff)
	}
	wantMarks := []judge.Mark{
		{Seq: 2, Violation: "retry-after", What: "came 1s before Retry-After (2s) allowed"},
		{Seq: 5, Violation: "after-terminal", What: "poll after the task reported SUCCESS"},
	}
	if diff := cmp.Diff(wantMarks, tl.Marks); diff != "" {
		t.Errorf("timeline: marks mismatch (-want +got):\n%s", diff)
	}
	if tl.Elapsed != mockserver.Duration(11*time.Second) || !tl.Manual || tl.Step != 3 || len(tl.Disc.Violations) != 2 {
		t.Errorf("timeline: elapsed %v, manual %v, step %d, violations %q; want 11s, true, 3, two", tl.Elapsed, tl.Manual, tl.Step, tl.Disc.Violations)
	}

	// The rules of the discipline endpoint apply.
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/" + id + "/timeline?allow_polls_after_terminal=true&ignore_retry_after=true"}, 200, &tl)
	if len(tl.Marks) != 0 || !tl.Disc.Clean {
		t.Errorf("timeline with lenient rules: marks %v, violations %q; want none", tl.Marks, tl.Disc.Violations)
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/" + id + "/timeline?max_polls=x"}, 400, nil)
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/nope/timeline"}, 404, nil)
}

// TestAdminTasksVerdicts: GET /__admin/tasks?verdicts=true judges each
// task of the page by the default rules, with or without its history.
func TestAdminTasksVerdicts(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	good := createTask(t, ts.Client(), ts.URL, "success")
	pollStatusOf(t, ts, good)
	ts.Advance(2 * time.Second)
	pollStatusOf(t, ts, good)
	bad := createTask(t, ts.Client(), ts.URL, "success")
	pollStatusOf(t, ts, bad)
	pollStatusOf(t, ts, bad) // at once: too fast
	type judged struct {
		ID         string             `json:"task_id"`
		Polls      int                `json:"polls"`
		History    []mockserver.Event `json:"history"`
		Violations []string           `json:"violations"`
	}
	var page struct {
		Total int      `json:"total"`
		Tasks []judged `json:"tasks"`
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks?verdicts=true"}, 200, &page)
	want := []judged{
		{ID: bad, Polls: 2, History: []mockserver.Event{}, Violations: []string{"poll-interval"}},
		{ID: good, Polls: 2, History: []mockserver.Event{}, Violations: []string{}},
	}
	for i := range page.Tasks {
		for j, v := range page.Tasks[i].Violations {
			page.Tasks[i].Violations[j], _, _ = strings.Cut(v, ":")
		}
	}
	if diff := cmp.Diff(want, page.Tasks); diff != "" {
		t.Errorf("GET /__admin/tasks?verdicts=true mismatch (-want +got):\n%s", diff)
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks?verdicts=true&history=true&limit=1"}, 200, &page)
	if page.Total != 2 || len(page.Tasks) != 1 || len(page.Tasks[0].History) != 2 || len(page.Tasks[0].Violations) != 1 {
		t.Errorf("GET /__admin/tasks?verdicts=true&history=true&limit=1: %+v; want the bad task with its 2 events", page)
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks?verdicts=maybe"}, 400, nil)
}
