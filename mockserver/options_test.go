package mockserver_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// TestNewBadOptions shows that each bad option makes New return an error
// that names it, and never panics.
func TestNewBadOptions(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	noPoll := &scenarios.Scenario{Name: "no-poll", Description: "nothing to poll"}
	tests := []struct {
		name string
		opts []mockserver.Option
		want string
		is   error // an error the result wraps, if any
	}{
		{name: "nil option", opts: []mockserver.Option{nil},
			want: "mockserver: an option is nil"},
		{name: "WithSpec(nil)", opts: []mockserver.Option{mockserver.WithSpec(nil)},
			want: "mockserver: WithSpec: spec is nil; pass the result of cambmock.LoadSpec or cambmock.ParseSpec"},
		{name: "WithScenarios with a nil", opts: []mockserver.Option{mockserver.WithScenarios(goScenario("a"), nil)},
			want: "mockserver: WithScenarios: scenario 2 is nil"},
		{name: "WithScenarios with a taken name", opts: []mockserver.Option{mockserver.WithScenarios(goScenario("success"))},
			want: `mockserver: scenario "success" from a Go value is already defined by scenarios/success.yaml; give it another name`},
		{name: "WithScenarios twice the same name", opts: []mockserver.Option{mockserver.WithScenarios(goScenario("a"), goScenario("a"))},
			want: `mockserver: scenario "a" from a Go value is already defined by a Go value; give it another name`},
		{name: "WithScenarios with a name a client cannot send", opts: []mockserver.Option{mockserver.WithScenarios(goScenario("My Scenario"))},
			want: `mockserver: scenario "My Scenario": the Name is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit`},
		{name: "WithScenarios without a poll script", opts: []mockserver.Option{mockserver.WithScenarios(noPoll)},
			want: `mockserver: scenario "no-poll": the Poll script is empty; give it at least one step, the last lasting forever`},
		{name: "WithDefaultScenario empty", opts: []mockserver.Option{mockserver.WithDefaultScenario("")},
			want: `mockserver: WithDefaultScenario: name is empty; give a scenario name such as "success"`},
		{name: "WithDefaultScenario unknown", opts: []mockserver.Option{mockserver.WithoutBuiltins(),
			mockserver.WithScenarios(goScenario("alpha"), goScenario("beta")), mockserver.WithDefaultScenario("gamma")},
			want: `mockserver: default scenario "gamma": unknown scenario; known: alpha, beta`, is: mockserver.ErrUnknownScenario},
		{name: "WithoutBuiltins and no scenarios", opts: []mockserver.Option{mockserver.WithoutBuiltins()},
			want: `mockserver: the server has no scenarios: WithoutBuiltins leaves the built-ins out; give scenarios with WithScenarios`},
		{name: "WithAPIKeys with an empty key", opts: []mockserver.Option{mockserver.WithAPIKeys("k1", "")},
			want: "mockserver: WithAPIKeys: key 2 is empty; give non-empty keys, or no keys to accept any"},
		{name: "WithClock(nil)", opts: []mockserver.Option{mockserver.WithClock(nil)},
			want: "mockserver: WithClock: clock is nil; pass scenarios.SystemClock() or a *scenarios.ManualClock"},
		{name: "WithLogger(nil)", opts: []mockserver.Option{mockserver.WithLogger(nil)},
			want: "mockserver: WithLogger: logger is nil; pass slog.New(slog.DiscardHandler) to discard logs"},
		{name: "WithHangLimit(0)", opts: []mockserver.Option{mockserver.WithHangLimit(0)},
			want: "mockserver: WithHangLimit: 0s is not above zero; give a duration such as 30s"},
		{name: "WithHangLimit below 0", opts: []mockserver.Option{mockserver.WithHangLimit(-time.Second)},
			want: "mockserver: WithHangLimit: -1s is not above zero; give a duration such as 30s"},
		{name: "WithJournalSize below 0", opts: []mockserver.Option{mockserver.WithJournalSize(-1)},
			want: "mockserver: WithJournalSize: -1 is not from 0 to 1000000"},
		{name: "WithMaxTasks(0)", opts: []mockserver.Option{mockserver.WithMaxTasks(0)},
			want: "mockserver: WithMaxTasks: 0 is not from 1 to 2147483648; give the number of tasks to hold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := mockserver.New(append([]mockserver.Option{mockserver.WithSpec(spec)}, tc.opts...)...)
			if err == nil {
				t.Fatalf("New() = %v, nil; want an error", srv)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("New() error mismatch:\n got: %s\nwant: %s", got, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("New() error does not wrap %v", tc.is)
			}
		})
	}
}

// TestNewDefaults shows what a server without options is.
func TestNewDefaults(t *testing.T) {
	srv, err := mockserver.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := srv.DefaultScenario(); got != "success" {
		t.Errorf("DefaultScenario() = %q, want success", got)
	}
	if _, manual := srv.Clock().(*scenarios.ManualClock); manual {
		t.Errorf("Clock() is a manual clock, want the real one")
	}
	if got := len(srv.Scenarios()); got < 20 {
		t.Errorf("Scenarios() holds %d, want the built-ins", got)
	}
	want, _ := scenarios.Builtins(srv.Spec())
	if len(want) != len(srv.Scenarios()) {
		t.Errorf("Scenarios() holds %d, scenarios.Builtins %d", len(srv.Scenarios()), len(want))
	}
}

// TestMaxTasks shows WithMaxTasks: a create request beyond the limit gets a
// 503 and makes no task, until a reset frees the store.
func TestMaxTasks(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithMaxTasks(2))
	create := req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`}
	full := wantAnswer{503, detail("too many tasks: the mock holds 2 tasks, its limit; reset it (POST /__admin/reset), raise the limit (--max-tasks) or let tasks expire (--task-ttl)")}

	taskID(t, mustSend(t, ts.Client(), ts.URL, create))
	ts.CreateTask(mockserver.NewTask{ID: "second"})
	checkAnswer(t, create, mustSend(t, ts.Client(), ts.URL, create), full)
	if _, err := ts.Server().CreateTask(mockserver.NewTask{}); !errors.Is(err, mockserver.ErrFull) {
		t.Errorf("Server.CreateTask beyond the limit: %v, want ErrFull", err)
	}
	adminFull := req{Method: "POST", Path: "/__admin/tasks", Body: `{"scenario":"success"}`}
	checkAnswer(t, adminFull, mustSend(t, ts.Client(), ts.URL, adminFull), full)
	var health map[string]any
	admin(t, ts, req{Method: "GET", Path: "/__admin/health"}, 200, &health)
	if health["tasks"] != float64(2) {
		t.Errorf("GET /__admin/health: tasks = %v, want 2", health["tasks"])
	}

	admin(t, ts, req{Method: "POST", Path: "/__admin/reset"}, 200, nil)
	taskID(t, mustSend(t, ts.Client(), ts.URL, create))
	taskID(t, mustSend(t, ts.Client(), ts.URL, create))
	checkAnswer(t, create, mustSend(t, ts.Client(), ts.URL, create), full)

	ts.Server().Reset()
	if a := mustSend(t, ts.Client(), ts.URL, create); a.Code != http.StatusOK {
		t.Errorf("create after Server.Reset: got %d %s, want 200", a.Code, a.Body)
	}
}

// TestHangLimit shows WithHangLimit: a hang fault ends at its bound with
// the connection closed, as an empty answer.
func TestHangLimit(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithHangLimit(50*time.Millisecond))
	id := ts.CreateTask(mockserver.NewTask{Scenario: "hang"}).ID()
	start := time.Now()
	s, err := pollTask(t.Context(), noKeepAlive(t), ts.URL, id, 10*time.Second)
	if err != nil || s.Fault != scenarios.FaultEmpty {
		t.Errorf("poll of a hang with WithHangLimit(50ms): %+v, %v; want the connection closed", s, err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("the hang ended after %v, before its limit of 50ms", took)
	}
}

// TestCloseEndsHangs shows that closing a server ends the requests hang
// faults hold.
func TestCloseEndsHangs(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	id := ts.CreateTask(mockserver.NewTask{Scenario: "hang"}).ID()
	c := noKeepAlive(t)
	done := make(chan seen, 1)
	go func() {
		s, err := pollTask(t.Context(), c, ts.URL, id, 10*time.Second)
		if err != nil {
			s.Status = err.Error()
		}
		done <- s
	}()
	waitInFlight(t, ts, id, done)
	ts.Server().Close()
	select {
	case s := <-done:
		if diff := cmp.Diff(fault(scenarios.FaultEmpty), s); diff != "" {
			t.Errorf("the hanging poll after Server.Close mismatch (-want +got):\n%s", diff)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Server.Close did not end the hanging poll")
	}
}
