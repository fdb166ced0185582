package judge_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// numbered gives events their Seq, 1 up, in order.
func numbered(events ...[]judge.Event) []judge.Event {
	var out []judge.Event
	for _, evs := range events {
		out = append(out, evs...)
	}
	for i := range out {
		out[i].Seq = i + 1
	}
	return out
}

// TestMarks: each verdict is marked on the event where it happened, and
// the marks agree with Judge's counts.
func TestMarks(t *testing.T) {
	sp := spec(t)
	limited := func(code int, wait time.Duration, at float64) []judge.Event {
		d := judge.Duration(at * float64(time.Second))
		return []judge.Event{{Endpoint: judge.Poll, At: d, Sent: d, Real: d, RealSent: d, Code: code, RetryAfter: ra(wait), Delivered: true}}
	}
	tests := []struct {
		name   string
		events []judge.Event
		rules  judge.Rules
		want   []judge.Mark
	}{
		{name: "clean", events: numbered(polls("PENDING", 0, 2, 4), polls("SUCCESS", 6))},
		{name: "too fast", events: numbered(polls("PENDING", 0, 0.1, 2.1)),
			want: []judge.Mark{{Seq: 2, Violation: "poll-interval", What: "came 100ms after the poll before; the least is 1s"}}},
		{name: "retry-after early", events: numbered(limited(429, 2*time.Second, 0), polls("PENDING", 1.5)),
			want: []judge.Mark{{Seq: 2, Violation: "retry-after", What: "came 500ms before Retry-After (2s) allowed"}}},
		{
			name:   "retry-after early, answered with another",
			events: numbered(limited(429, 2*time.Second, 0), limited(429, 3*time.Second, 1.5), polls("PENDING", 5)),
			want:   []judge.Mark{{Seq: 2, Violation: "retry-after", What: "came 500ms before Retry-After (2s) allowed"}},
		},
		{name: "retry-after ignored by the rules", events: numbered(limited(429, 2*time.Second, 0), polls("PENDING", 1.5)),
			rules: judge.Rules{IgnoreRetryAfter: true}},
		{name: "each poll after SUCCESS", events: numbered(polls("PENDING", 0), polls("SUCCESS", 2, 4, 6)),
			want: []judge.Mark{
				{Seq: 3, Violation: "after-terminal", What: "poll after the task reported SUCCESS"},
				{Seq: 4, Violation: "after-terminal", What: "poll after the task reported SUCCESS"},
			}},
		{name: "after FAILED", events: numbered(polls("FAILED", 0, 2)),
			want: []judge.Mark{{Seq: 2, Violation: "after-unknown", What: "poll after the unknown status FAILED"}}},
		{name: "max polls", events: numbered(polls("PENDING", 0, 2, 4)), rules: judge.Rules{MaxPolls: 2},
			want: []judge.Mark{{Seq: 3, Violation: "max-polls", What: "poll 3, more than the 2 allowed"}}},
		{name: "early result", events: numbered(polls("PENDING", 0), []judge.Event{{Endpoint: judge.Result, Code: 404, Delivered: true, Early: true}}),
			want: []judge.Mark{{Seq: 2, Violation: "early-result", What: "result asked for before the task reported SUCCESS"}}},
		{name: "a retry after a dropped answer is exempt",
			events: numbered([]judge.Event{{Endpoint: judge.Poll, Fault: scenarios.FaultReset}}, polls("PENDING", 0, 2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := judge.History{Task: "t", Events: tt.events}
			got := judge.Marks(h, tt.rules, sp)
			if diff := cmp.Diff(tt.want, got, cmpEmptyMarks); diff != "" {
				t.Errorf("Marks(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
			checkAgree(t, judge.Judge(h, tt.rules, sp), got)
		})
	}
}

// TestMarksFolded: events folded into Earlier have no marks, but what
// they hold still counts: a poll after a terminal status folded away is
// marked.
func TestMarksFolded(t *testing.T) {
	sp := spec(t)
	h := judge.History{Events: numbered(polls("PENDING", 0, 0.5), polls("SUCCESS", 2, 4))}
	h.Fold(3, sp)
	got := judge.Marks(h, judge.Rules{}, sp)
	want := []judge.Mark{{Seq: 4, Violation: "after-terminal", What: "poll after the task reported SUCCESS"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Marks of a folded history mismatch (-want +got):\n%s", diff)
	}
}

// checkAgree fails if the marks count other numbers than the discipline.
func checkAgree(t *testing.T, d judge.Discipline, marks []judge.Mark) {
	t.Helper()
	count := map[string]int{}
	for _, m := range marks {
		count[m.Violation]++
	}
	want := map[string]int{
		judge.ViolationPollInterval:  d.TooFast,
		judge.ViolationRetryAfter:    d.RetryAfterEarly,
		judge.ViolationAfterTerminal: d.PollsAfterTerminal,
		judge.ViolationAfterUnknown:  d.PollsAfterUnknown,
		judge.ViolationEarlyResult:   d.EarlyResults,
	}
	if d.Rules.MaxPolls > 0 && d.Polls > d.Rules.MaxPolls {
		want[judge.ViolationMaxPolls] = d.Polls - d.Rules.MaxPolls
	}
	if d.Rules.IgnoreRetryAfter {
		want[judge.ViolationRetryAfter] = 0
	}
	for name, n := range want {
		if count[name] != n {
			t.Errorf("%d %s mark(s), but the discipline counts %d (violations %q)", count[name], name, n, d.Violations)
		}
	}
	names := map[string]bool{}
	for _, n := range d.ViolationNames() {
		names[n] = true
	}
	for name := range count {
		if !names[name] {
			t.Errorf("a %s mark, but the discipline has no such violation (%q)", name, d.Violations)
		}
	}
}

var cmpEmptyMarks = cmp.Transformer("nilEmptyMarks", func(s []judge.Mark) []judge.Mark {
	if len(s) == 0 {
		return nil
	}
	return s
})
