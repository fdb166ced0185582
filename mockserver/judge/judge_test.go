package judge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

func spec(t *testing.T) *cambmock.Spec {
	t.Helper()
	s, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// polls builds poll events: one per arrival time (seconds on the scenario
// clock, which is also the real clock here), each delivered at once with
// the given status.
func polls(status cambmock.Status, at ...float64) []judge.Event {
	var out []judge.Event
	for _, s := range at {
		d := judge.Duration(s * float64(time.Second))
		out = append(out, judge.Event{Endpoint: judge.Poll, At: d, Sent: d, Real: d, RealSent: d, Code: 200, Status: status, Delivered: true})
	}
	return out
}

func seconds(from, step float64, n int) []float64 {
	var out []float64
	for i := range n {
		out = append(out, from+step*float64(i))
	}
	return out
}

func ra(d time.Duration) *judge.Duration { v := judge.Duration(d); return &v }

func TestJudge(t *testing.T) {
	sp := spec(t)
	rateLimited := func(code int, wait time.Duration, at float64) judge.Event {
		d := judge.Duration(at * float64(time.Second))
		return judge.Event{Endpoint: judge.Poll, At: d, Sent: d, Real: d, RealSent: d, Code: code, RetryAfter: ra(wait), Delivered: true}
	}
	tests := []struct {
		name   string
		events []judge.Event
		rules  judge.Rules
		want   []string
	}{
		{name: "clean", events: polls("PENDING", 0, 2, 4)},
		{name: "too fast", events: polls("PENDING", 0, 0.1, 2.1),
			want: []string{"poll-interval: 1 poll(s) came less than 1s after the one before (fastest 100ms)"}},
		{name: "own minimum", events: polls("PENDING", 0, 2, 4), rules: judge.Rules{MinInterval: 5 * time.Second},
			want: []string{"poll-interval: 2 poll(s) came less than 5s after the one before (fastest 2s)"}},
		{name: "minimum off", events: polls("PENDING", 0, 0, 0), rules: judge.Rules{MinInterval: -1}},
		{name: "retry-after honoured", events: []judge.Event{rateLimited(429, time.Second, 0), rateLimited(429, time.Second, 1.5), polls("PENDING", 2.7)[0]}},
		{name: "retry-after early", events: []judge.Event{rateLimited(429, 2*time.Second, 0), polls("PENDING", 1.5)[0]},
			want: []string{"retry-after: 1 poll(s) came before Retry-After allowed (the worst 500ms early)"}},
		{name: "retry-after on a 503 too", events: []judge.Event{rateLimited(503, 2*time.Second, 0), polls("PENDING", 1.5)[0]},
			want: []string{"retry-after: 1 poll(s) came before Retry-After allowed (the worst 500ms early)"}},
		{name: "after SUCCESS", events: append(polls("PENDING", 0), polls("SUCCESS", 2, 4, 6)...),
			want: []string{"after-terminal: 2 poll(s) after the task reported SUCCESS"}},
		{name: "after SUCCESS allowed", events: polls("SUCCESS", 0, 2, 4), rules: judge.Rules{AllowPollsAfterTerminal: true}},
		{name: "after FAILED", events: append(polls("PENDING", 0), polls("FAILED", 2, 4, 7)...),
			want: []string{"after-unknown: 2 poll(s) over 5s after the unknown status FAILED; a client must stop on a status it does not know"}},
		{name: "max polls", events: polls("PENDING", 0, 2, 4), rules: judge.Rules{MaxPolls: 2},
			want: []string{"max-polls: 3 polls, more than the 2 allowed"}},
		{name: "early result", events: []judge.Event{{Endpoint: judge.Result, Code: 404, Delivered: true, Early: true}},
			want: []string{"early-result: 1 result request(s) before the task reported SUCCESS"}},
		{
			name: "a retry after a dropped answer is exempt",
			events: []judge.Event{
				{Endpoint: judge.Poll, Code: 0, Fault: scenarios.FaultReset},
				polls("PENDING", 0)[0], polls("PENDING", 2)[0],
			},
		},
		{
			// The client went away before the SUCCESS arrived: it never saw
			// it, so polling on is no fault.
			name: "an undelivered SUCCESS is not a terminal status seen",
			events: []judge.Event{
				{Endpoint: judge.Poll, At: 0, Sent: judge.Duration(3 * time.Second), Code: 200, Status: "SUCCESS", Delivered: false},
				polls("SUCCESS", 3)[0],
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := judge.Judge(judge.History{Task: "t", Scenario: "s", Events: tt.events}, tt.rules, sp)
			if diff := cmp.Diff(tt.want, d.Violations, cmpEmpty); diff != "" {
				t.Errorf("Judge(%s).Violations mismatch (-want +got):\n%s", tt.name, diff)
			}
			if d.Clean != (len(tt.want) == 0) {
				t.Errorf("Clean = %v with violations %q", d.Clean, d.Violations)
			}
		})
	}
}

var cmpEmpty = cmp.Transformer("nilEmpty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestJudgeEveryPollCounts: a burst at the start is not forgotten when the
// history folds its oldest events (issue: 10 polls 0 s apart, then 300 polls
// 2 s apart, was judged clean).
func TestJudgeEveryPollCounts(t *testing.T) {
	sp := spec(t)
	events := append(polls("PENDING", seconds(0, 0, 10)...), polls("PENDING", seconds(2, 2, 300)...)...)
	h := judge.History{Task: "t", Scenario: "stuck", Events: events}
	whole := judge.Judge(h, judge.Rules{}, sp)
	h.Fold(len(events)-256, sp)
	if len(h.Events) != 256 || h.Earlier.Events != 54 {
		t.Fatalf("after Fold: %d events kept, %d folded; want 256, 54", len(h.Events), h.Earlier.Events)
	}
	folded := judge.Judge(h, judge.Rules{}, sp)
	if whole.TooFast != 9 || !strings.HasPrefix(whole.Violations[0], "poll-interval: 9 poll(s)") {
		t.Errorf("whole history: too fast %d, violations %q; want 9", whole.TooFast, whole.Violations)
	}
	want := "poll-interval: some of the 54 earlier polls no longer kept came less than 1s after the one before (fastest 0s)"
	if diff := cmp.Diff([]string{want}, folded.Violations); diff != "" {
		t.Errorf("folded history: violations mismatch (-want +got):\n%s", diff)
	}
	if folded.Polls != 310 || folded.MinInterval != 0 || folded.MaxInterval != judge.Duration(2*time.Second) {
		t.Errorf("folded history: %d polls, min %v, max %v; want 310, 0s, 2s", folded.Polls, folded.MinInterval, folded.MaxInterval)
	}
}

// TestJudgeStillManualClock: a client that sleeps a real second between
// polls while the test never moves the manual clock is not judged too
// fast; the discipline says why. One that does not wait still is.
func TestJudgeStillManualClock(t *testing.T) {
	sp := spec(t)
	still := func(realGap time.Duration) []judge.Event {
		var out []judge.Event
		for i := range 3 {
			r := judge.Duration(time.Duration(i) * realGap)
			out = append(out, judge.Event{Endpoint: judge.Poll, Real: r, RealSent: r, Code: 200, Status: "PENDING", Delivered: true})
		}
		return out
	}
	polite := judge.Judge(judge.History{Manual: true, Events: still(time.Second)}, judge.Rules{}, sp)
	if !polite.Clean || polite.StillClock != 2 || len(polite.Notes) != 1 || !strings.Contains(polite.Notes[0], "the manual clock was not moved") {
		t.Errorf("polite client on a still manual clock: clean %v, still %d, notes %q; want clean, 2, a note on the clock", polite.Clean, polite.StillClock, polite.Notes)
	}
	eager := judge.Judge(judge.History{Manual: true, Events: still(time.Millisecond)}, judge.Rules{}, sp)
	if eager.Clean || eager.ViolationNames()[0] != judge.ViolationPollInterval {
		t.Errorf("eager client on a still manual clock: violations %q; want poll-interval", eager.Violations)
	}
}

// TestJudgeScale: with a time scale, intervals and Retry-After are judged
// in real terms.
func TestJudgeScale(t *testing.T) {
	sp := spec(t)
	// The scenario clock runs 100 times as fast: 100 s of it is 1 s of real time.
	ev := polls("PENDING", 0, 100, 200)
	d := judge.Judge(judge.History{Scale: 0.01, Events: ev}, judge.Rules{}, sp)
	if !d.Clean || d.MinInterval != judge.Duration(time.Second) {
		t.Errorf("scaled: clean %v, min %v; want clean, 1s", d.Clean, d.MinInterval)
	}
	// Retry-After: 2 (real seconds) is 200 s of scenario time.
	early := []judge.Event{{Endpoint: judge.Poll, Code: 429, RetryAfter: ra(2 * time.Second), Delivered: true}, polls("PENDING", 150)[0]}
	d = judge.Judge(judge.History{Scale: 0.01, Events: early}, judge.Rules{}, sp)
	if d.RetryAfterEarly != 1 || d.RetryAfter[0].Early != judge.Duration(500*time.Millisecond) {
		t.Errorf("scaled Retry-After: early %d (%v); want 1, 500ms", d.RetryAfterEarly, d.RetryAfter)
	}
}

// TestJudgeQueued: with a spec whose TaskStatus adds QUEUED in progress,
// polling on after QUEUED is neither after-terminal nor after-unknown.
func TestJudgeQueued(t *testing.T) {
	yaml := strings.Replace(string(cambmock.SpecYAML()), "enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [PENDING]",
		"enum: [SUCCESS, QUEUED, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [QUEUED, PENDING]", 1)
	queued, err := cambmock.ParseSpec([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ev := append(append(polls("QUEUED", 0), polls("PENDING", 2)...), polls("SUCCESS", 4)...)
	if d := judge.Judge(judge.History{Events: ev}, judge.Rules{}, queued); !d.Clean || d.Terminal != "SUCCESS" {
		t.Errorf("with QUEUED in the spec: violations %q, terminal %q; want clean, SUCCESS", d.Violations, d.Terminal)
	}
	if d := judge.Judge(judge.History{Events: ev}, judge.Rules{}, spec(t)); d.Unknown != "QUEUED" || d.Clean {
		t.Errorf("with the embedded spec: unknown %q, violations %q; want QUEUED judged unknown", d.Unknown, d.Violations)
	}
}
