package mockserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// poller polls one task of a test server, moving its manual clock.
type poller struct {
	t  *testing.T
	ts *mockservertest.TestServer
	id string
}

func newPoller(t *testing.T, ts *mockservertest.TestServer, scenario string) *poller {
	t.Helper()
	task := ts.CreateTask(mockserver.NewTask{Scenario: scenario})
	return &poller{t: t, ts: ts, id: task.ID()}
}

// poll polls once and returns the HTTP code and Retry-After.
func (p *poller) poll() (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.ts.BaseURL()+"/text-to-sound/"+p.id, nil)
	req.Header.Set("X-Api-Key", "k")
	resp, err := p.ts.Client().Do(req)
	if err != nil {
		return 0, ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func TestDiscipline(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		// waits are the clock moves before each poll after the first.
		waits []time.Duration
		rules mockserver.Rules
		want  []string
	}{
		{name: "clean", scenario: "success", waits: []time.Duration{2 * time.Second, 2 * time.Second}},
		{name: "too fast", scenario: "success", waits: []time.Duration{100 * time.Millisecond, 2 * time.Second},
			want: []string{"poll-interval: 1 poll(s) came less than 1s after the one before (fastest 100ms)"}},
		{name: "own minimum", scenario: "success", waits: []time.Duration{2 * time.Second, 2 * time.Second}, rules: mockserver.Rules{MinInterval: 5 * time.Second},
			want: []string{"poll-interval: 2 poll(s) came less than 5s after the one before (fastest 2s)"}},
		{name: "minimum off", scenario: "success", waits: []time.Duration{0, 0}, rules: mockserver.Rules{MinInterval: -1}},
		{name: "honours Retry-After", scenario: "rate-limited", waits: []time.Duration{1500 * time.Millisecond, 1200 * time.Millisecond, 2 * time.Second}},
		{name: "Retry-After not judged", scenario: "rate-limited", waits: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second},
			rules: mockserver.Rules{MinInterval: -1, IgnoreRetryAfter: true}},
		{name: "after SUCCESS", scenario: "success", waits: []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
			want: []string{"after-terminal: 2 poll(s) after the task reported SUCCESS"}},
		{name: "after SUCCESS allowed", scenario: "success", waits: []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second},
			rules: mockserver.Rules{AllowPollsAfterTerminal: true}},
		{name: "after FAILED", scenario: "drift-failed-status", waits: []time.Duration{2 * time.Second, 2 * time.Second, 3 * time.Second},
			want: []string{"after-unknown: 2 poll(s) over 5s after the unknown status FAILED; a client must stop on a status it does not know"}},
		{name: "max polls", scenario: "stuck", waits: []time.Duration{2 * time.Second, 2 * time.Second}, rules: mockserver.Rules{MaxPolls: 2},
			want: []string{"max-polls: 3 polls, more than the 2 allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := mockservertest.NewTestServer(t)
			p := newPoller(t, ts, tt.scenario)
			p.poll()
			for _, w := range tt.waits {
				ts.Advance(w)
				p.poll()
			}
			d := ts.Task(p.id).Discipline(tt.rules)
			if tt.want == nil {
				tt.want = []string{}
			}
			if diff := cmp.Diff(tt.want, d.Violations); diff != "" {
				t.Errorf("Discipline(%+v) violations mismatch (-want +got):\n%s", tt.rules, diff)
			}
			if d.Clean != (len(tt.want) == 0) {
				t.Errorf("Clean = %v with violations %v", d.Clean, d.Violations)
			}
		})
	}
}

func TestDisciplineRetryAfterEarly(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "rate-limited")
	if code, ra := p.poll(); code != 429 || ra != "1" {
		t.Fatalf("first poll: %d Retry-After %q; want 429 with 1", code, ra)
	}
	ts.Advance(300 * time.Millisecond)
	p.poll() // 700ms early
	ts.Advance(2 * time.Second)
	p.poll() // honoured
	d := ts.Task(p.id).Discipline(mockserver.Rules{MinInterval: -1})
	want := []mockserver.Advice{
		{At: 0, Wait: mockserver.Duration(time.Second), NextPoll: mockserver.Duration(300 * time.Millisecond), Early: mockserver.Duration(700 * time.Millisecond), Code: 429},
		{At: mockserver.Duration(300 * time.Millisecond), Wait: mockserver.Duration(time.Second), NextPoll: mockserver.Duration(2300 * time.Millisecond), Code: 429},
	}
	if diff := cmp.Diff(want, d.RetryAfter); diff != "" {
		t.Errorf("RetryAfter mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"retry-after: 1 poll(s) came before Retry-After allowed (the worst 700ms early)"}, d.Violations); diff != "" {
		t.Errorf("violations mismatch (-want +got):\n%s", diff)
	}
	if d.MinInterval != mockserver.Duration(300*time.Millisecond) || d.MaxInterval != mockserver.Duration(2*time.Second) || d.MedianInterval != mockserver.Duration(1150*time.Millisecond) || d.Span != mockserver.Duration(2300*time.Millisecond) {
		t.Errorf("intervals min %v median %v max %v span %v", d.MinInterval, d.MedianInterval, d.MaxInterval, d.Span)
	}
}

// TestDisciplineAfterDroppedAnswer lets a client retry at once after a
// reset: Go's transport does so by itself on a reused connection.
func TestDisciplineAfterDroppedAnswer(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "connection-reset")
	p.poll()
	ts.Advance(2 * time.Second)
	// The reset: Go's transport retries by itself on a reused connection;
	// on a new one the client sees the error and retries at once.
	if code, _ := p.poll(); code == 0 {
		p.poll()
	}
	d := ts.Task(p.id).Discipline(mockserver.Rules{})
	if !d.Clean {
		t.Errorf("violations after a reset: %v", d.Violations)
	}
}

func TestDisciplineEarlyResult(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	task := ts.CreateTask(mockserver.NewTask{Scenario: "slow-success"})
	req, _ := http.NewRequest("GET", ts.BaseURL()+"/text-to-sound-result/"+strconv.FormatInt(task.Info().RunID, 10), nil)
	req.Header.Set("X-Api-Key", "k")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("result before SUCCESS: %d, want 404", resp.StatusCode)
	}
	d := task.Discipline(mockserver.Rules{})
	if diff := cmp.Diff([]string{"early-result: 1 result request(s) before the task reported SUCCESS"}, d.Violations); diff != "" {
		t.Errorf("violations mismatch (-want +got):\n%s", diff)
	}
}

func TestDisciplineAdmin(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "success")
	p.poll()
	p.poll()
	get := func(q string) (int, map[string]any) {
		resp, err := http.Get(ts.URL + "/__admin/tasks/" + p.id + "/discipline" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	// The manual clock stood still between the two polls: they are
	// judged on the real clock, on which they came at once.
	code, v := get("")
	if code != 200 || v["clean"] != false || !strings.HasPrefix(fmt.Sprint(v["violations"]), "[poll-interval: 1 poll(s) came less than 1s after the one before (fastest ") ||
		v["still_clock"] != 1.0 {
		t.Errorf("discipline: %d %v", code, v)
	}
	code, v = get("?min_interval=-1s")
	if code != 200 || v["clean"] != true {
		t.Errorf("discipline with min_interval=-1s: %d %v", code, v)
	}
	for q, want := range map[string]string{
		"?min_interval=soon": `min_interval "soon" is not a duration such as 2s (a negative one turns the rule off)`,
		"?max_polls=-1":      `max_polls "-1" is not a whole number of 0 or more (0: no limit)`,
		"?strict=yes":        `unknown parameter "strict"; the rules are min_interval, max_polls, ignore_retry_after, allow_polls_after_terminal, allow_polls_after_unknown`,
	} {
		code, v := get(q)
		if code != 400 || v["detail"] != want {
			t.Errorf("discipline%s: %d %v, want 400 %q", q, code, v, want)
		}
	}
}

func TestWaitFor(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "success")
	task := ts.Task(p.id)
	go func() {
		for range 3 {
			ts.Advance(2 * time.Second)
			p.poll()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := task.WaitForStatus(ctx, "SUCCESS"); err != nil {
		t.Fatal(err)
	}
	if err := task.WaitForPolls(ctx, 3); err != nil {
		t.Fatal(err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	err := task.WaitForResult(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the result of task "+p.id+" to be fetched") {
		t.Errorf("WaitForResult() = %v", err)
	}

	// WaitForTasks finds the tasks a client made.
	go func() {
		req, _ := http.NewRequest("POST", ts.BaseURL()+"/text-to-sound", strings.NewReader(`{"prompt":"x"}`))
		req.Header.Set("X-Api-Key", "k")
		req.Header.Set("Content-Type", "application/json")
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	tasks, err := ts.Server().WaitForTasks(ctx, 2)
	if err != nil || len(tasks) != 2 {
		t.Fatalf("WaitForTasks(2) = %d tasks, %v", len(tasks), err)
	}
}

func TestAdminWait(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "success")
	type answer struct {
		code int
		body string
	}
	get := func(path string) answer {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b)}
	}
	done := make(chan answer)
	go func() { done <- get("/__admin/tasks/" + p.id + "/wait?status=SUCCESS&timeout=10s") }()
	for range 3 {
		ts.Advance(2 * time.Second)
		p.poll()
	}
	if a := <-done; a.code != 200 || !strings.Contains(a.body, `"last_status": "SUCCESS"`) {
		t.Errorf("wait for SUCCESS: %d %s", a.code, a.body)
	}
	if a := get("/__admin/tasks/" + p.id + "/wait?result=true&timeout=50ms"); a.code != 408 || !strings.Contains(a.body, "to be fetched: context deadline exceeded") {
		t.Errorf("wait for a result that never comes: %d %s", a.code, a.body)
	}
	if a := get("/__admin/wait?tasks=1&timeout=1s"); a.code != 200 || !strings.Contains(a.body, p.id) {
		t.Errorf("wait for tasks: %d %s", a.code, a.body)
	}
	for path, want := range map[string]string{
		"/__admin/tasks/" + p.id + "/wait":                    `{"detail":"give one of status=STATUS, polls=N or result=true to wait for, and optionally timeout=10s"}`,
		"/__admin/tasks/" + p.id + "/wait?polls=0":            `{"detail":"polls \"0\" is not a whole number of 1 or more"}`,
		"/__admin/tasks/" + p.id + "/wait?polls=1&timeout=1h": `{"detail":"timeout \"1h\" is not a duration above 0 and at most 5m0s, such as 10s"}`,
		"/__admin/wait?tasks=x":                               `{"detail":"tasks \"x\" is not a whole number of 1 or more; give ?tasks=1 to wait for the first task"}`,
	} {
		if a := get(path); a.code != 400 || a.body != want {
			t.Errorf("GET %s = %d %s, want 400 %s", path, a.code, a.body, want)
		}
	}
}
