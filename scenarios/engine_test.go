package scenarios_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// A request is one request to a script and the answer it gets, At being
// the time since the task was created (for a create script, since the
// server started).
type request struct {
	At     time.Duration
	Answer string
}

// answer describes what a step serves in a line: "PENDING",
// "SUCCESS run_id=auto", "error 429 Retry-After=1", "fault reset",
// "normal", then " latency 1s" or " latency 20ms..200ms" when it waits.
// Content-Type is shown unless it is application/json.
func answer(st scenarios.Step) string {
	var b strings.Builder
	switch {
	case st.Reply != nil:
		r := st.Reply
		b.WriteString(string(r.Status))
		switch {
		case r.RunID.Auto:
			b.WriteString(" run_id=auto")
		case r.RunID.Value != nil:
			fmt.Fprintf(&b, " run_id=%s", r.RunID.Value)
		}
		if r.ExceptionReason != "" {
			fmt.Fprintf(&b, " reason=%s", r.ExceptionReason)
		}
		if r.Message != nil {
			fmt.Fprintf(&b, " message=%s", r.Message)
		}
		for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
			fmt.Fprintf(&b, " %s=%s", k, r.Extra[k])
		}
	case st.Error != nil:
		fmt.Fprintf(&b, "error %d", st.Error.Code)
		for _, k := range slices.Sorted(maps.Keys(st.Error.Header)) {
			v := st.Error.Header.Get(k)
			if k == "Content-Type" && v == "application/json" {
				continue
			}
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	case st.Fault != "":
		fmt.Fprintf(&b, "fault %s", st.Fault)
	case st.Normal:
		b.WriteString("normal")
	default:
		b.WriteString("nothing")
	}
	switch l := st.Latency; {
	case l.Max > l.Min:
		fmt.Fprintf(&b, " latency %v..%v", l.Min, l.Max)
	case l.Min > 0:
		fmt.Fprintf(&b, " latency %v", l.Min)
	}
	return b.String()
}

// ranOut is the answer when Script.At reports that the script has run out.
const ranOut = "ran out"

// play sends a request to s at each of the times, as one task does, and
// returns the answers. It checks on the way that At is pure: asking again
// from the same position gives the same answer.
func play(t *testing.T, s scenarios.Script, at []time.Duration) []request {
	t.Helper()
	var (
		pos scenarios.Position
		out []request
	)
	for _, a := range at {
		st, next, ok := s.At(pos, a)
		st2, next2, ok2 := s.At(pos, a)
		if answer(st) != answer(st2) || next != next2 || ok != ok2 {
			t.Errorf("At(%+v, %v) gave two answers: %q then %q", pos, a, answer(st), answer(st2))
		}
		pos = next
		got := ranOut
		if ok {
			got = answer(st)
		}
		out = append(out, request{At: a, Answer: got})
	}
	return out
}

// playAll is play with the times of want, so a case lists each request
// once.
func playAll(t *testing.T, s scenarios.Script, want []request) []request {
	t.Helper()
	at := make([]time.Duration, len(want))
	for i, r := range want {
		at[i] = r.At
	}
	return play(t, s, at)
}

const (
	ms = time.Millisecond
	s  = time.Second
)

// builtinCases gives, for each built-in scenario, the answers its scripts
// give to a sequence of requests. TestBuiltinScripts fails when a built-in
// has no case, so each new built-in gets one.
var builtinCases = map[string]struct{ create, poll, result []request }{
	"connection-reset": {poll: []request{
		{0, "PENDING"},
		{1 * s, "fault reset"},
		{2 * s, "SUCCESS run_id=auto"},
		{3 * s, "SUCCESS run_id=auto"},
	}},
	"create-rate-limited": {
		create: []request{
			{0, "error 429 Retry-After=1"},
			{1 * s, ranOut},
			{2 * s, ranOut},
		},
		poll: []request{
			{0, "PENDING"},
			{1 * s, "SUCCESS run_id=auto"},
			{2 * s, "SUCCESS run_id=auto"},
		},
	},
	"drift-failed-status": {poll: []request{
		{0, "PENDING"},
		{1 * s, `FAILED message="Sound generation failed."`},
		{2 * s, `FAILED message="Sound generation failed."`},
	}},
	"drift-html-error": {poll: []request{
		{0, "error 500 Content-Type=text/html; charset=utf-8"},
		{1 * s, "SUCCESS run_id=auto"},
	}},
	"drift-missing-retry-after": {poll: []request{
		{0, "error 429"},
		{1 * s, "SUCCESS run_id=auto"},
	}},
	"drift-run-id-string": {poll: []request{
		{0, "PENDING"},
		{1 * s, `SUCCESS run_id="1001"`},
		{2 * s, `SUCCESS run_id="1001"`},
	}},
	"drift-success-without-run-id": {poll: []request{
		{0, "PENDING"},
		{1 * s, "SUCCESS"},
	}},
	"drift-terminal-regress": {poll: []request{
		{0, "PENDING"},
		{1 * s, "SUCCESS run_id=auto"},
		{2 * s, "PENDING"},
		{3 * s, "PENDING"},
	}},
	"drift-undeclared-status": {poll: []request{
		{0, "error 409"},
		{1 * s, "SUCCESS run_id=auto"},
	}},
	"empty-response": {poll: []request{
		{0, "fault empty"},
		{1 * s, "PENDING"},
		{2 * s, "SUCCESS run_id=auto"},
	}},
	"error": {poll: []request{
		{0, "PENDING"},
		{1 * s, `ERROR reason=PROCESSING_ERROR message="The audio could not be generated."`},
		{2 * s, `ERROR reason=PROCESSING_ERROR message="The audio could not be generated."`},
	}},
	"extra-fields": {poll: []request{
		{0, "PENDING progress=40"},
		{1 * s, `SUCCESS run_id=auto output_url="https://storage.example.org/runs/1.wav" progress=100`},
	}},
	"hang": {poll: []request{
		{0, "fault hang"},
		{1 * time.Minute, "SUCCESS run_id=auto"},
	}},
	"harmful-content": {poll: []request{
		{0, `ERROR reason=HARMFUL_CONTENT_DETECTED message="The prompt was flagged by content moderation."`},
		{1 * s, `ERROR reason=HARMFUL_CONTENT_DETECTED message="The prompt was flagged by content moderation."`},
	}},
	"jittery": {poll: []request{
		{0, "PENDING latency 20ms..200ms"},
		{1 * s, "PENDING latency 20ms..200ms"},
		{2 * s, "PENDING latency 20ms..200ms"},
		{3 * s, "SUCCESS run_id=auto latency 20ms..200ms"},
	}},
	"maintenance": {poll: []request{
		{0, "error 503 Retry-After=2"},
		{2 * s, "error 503 Retry-After=2"},
		{4999 * ms, "error 503 Retry-After=2"},
		{5 * s, "PENDING"},
		{5 * s, "SUCCESS run_id=auto"},
	}},
	"malformed-json": {poll: []request{
		{0, "PENDING"},
		{1 * s, "fault malformed-json"},
		{2 * s, "SUCCESS run_id=auto"},
	}},
	"payment-required": {poll: []request{
		{0, `PAYMENT_REQUIRED reason=PAYMENT_REQUIRED message="Not enough credits for this task."`},
	}},
	"rate-limited": {poll: []request{
		{0, "error 429 Retry-After=1"},
		{1 * s, "error 429 Retry-After=1"},
		{2 * s, "PENDING"},
		{3 * s, "SUCCESS run_id=auto"},
	}},
	"result-server-error": {
		poll: []request{{0, "SUCCESS run_id=auto"}},
		result: []request{
			{1 * s, "error 500"},
			{2 * s, ranOut},
			{3 * s, ranOut},
		},
	},
	"result-truncated": {
		poll: []request{{0, "SUCCESS run_id=auto"}},
		result: []request{
			{1 * s, "fault truncated"},
			{2 * s, ranOut},
		},
	},
	"server-error": {poll: []request{
		{0, "error 500"},
		{1 * s, "error 503 Content-Type=text/html; charset=utf-8"},
		{2 * s, "PENDING"},
		{3 * s, "SUCCESS run_id=auto"},
	}},
	"slow-poll": {poll: []request{
		{0, "PENDING latency 250ms"},
		{2 * s, "PENDING latency 250ms"},
		{4 * s, "SUCCESS run_id=auto latency 250ms"},
	}},
	"slow-success": {poll: []request{
		{0, "PENDING"},
		{3 * s, "PENDING"},
		{9999 * ms, "PENDING"},
		{10 * s, "SUCCESS run_id=auto"},
		{11 * s, "SUCCESS run_id=auto"},
	}},
	"stuck": {poll: []request{
		{0, "PENDING"},
		{time.Hour, "PENDING"},
		{24 * time.Hour, "PENDING"},
	}},
	"success": {poll: []request{
		{0, "PENDING"},
		{1 * s, "PENDING"},
		{2 * s, "SUCCESS run_id=auto"},
		{3 * s, "SUCCESS run_id=auto"},
	}},
	"timeout": {poll: []request{
		{0, "PENDING"},
		{1 * s, "PENDING"},
		{2 * s, "PENDING"},
		{3 * s, `TIMEOUT reason=INTERNAL_ERROR message="The task did not finish in time."`},
	}},
	"unknown-reason": {poll: []request{
		{0, "PENDING"},
		{1 * s, `ERROR reason=GPU_QUOTA_EXCEEDED message="No capacity left."`},
	}},
}

func TestBuiltinScripts(t *testing.T) {
	all, err := scenarios.Builtins(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sc := range all {
		seen[sc.Name] = true
		t.Run(sc.Name, func(t *testing.T) {
			tc, ok := builtinCases[sc.Name]
			if !ok {
				t.Fatalf("built-in scenario %q has no case in builtinCases; add one", sc.Name)
			}
			for _, sub := range []struct {
				name   string
				script scenarios.Script
				want   []request
			}{
				{"create", sc.Create, tc.create},
				{"poll", sc.Poll, tc.poll},
				{"result", sc.Result, tc.result},
			} {
				if len(sub.script) > 0 && len(sub.want) == 0 {
					t.Errorf("the case has no %s requests, but the scenario has a %s script", sub.name, sub.name)
					continue
				}
				if diff := cmp.Diff(sub.want, playAll(t, sub.script, sub.want)); diff != "" {
					t.Errorf("%s script: At mismatch (-want +got):\n%s", sub.name, diff)
				}
			}
		})
	}
	for name := range builtinCases {
		if !seen[name] {
			t.Errorf("builtinCases has a case for %q, which is not a built-in scenario", name)
		}
	}
}

// step is shorthand for a step of a script built in Go.
func step(status string, polls int, d time.Duration) scenarios.Step {
	return scenarios.Step{Polls: polls, For: d, Reply: &scenarios.Reply{Status: cambmock.Status(status)}}
}

func TestScriptAt(t *testing.T) {
	tests := []struct {
		name   string
		script scenarios.Script
		want   []request
		reason string
	}{
		{
			name:   "polls, then for, then polls",
			script: scenarios.Script{step("A", 2, 0), step("B", 0, 10*s), step("C", 1, 0), step("D", 0, 0)},
			want: []request{
				{0, "A"},
				{1 * s, "A"},
				{2 * s, "B"},
				{5 * s, "B"},
				{11999 * ms, "B"},
				{12 * s, "C"},
				{12 * s, "D"},
				{time.Hour, "D"},
			},
			reason: "the step of time begins with its first request, at 2s",
		},
		{
			name:   "for, then for",
			script: scenarios.Script{step("A", 0, 10*s), step("B", 0, 5*s), step("C", 0, 0)},
			want: []request{
				{0, "A"},
				{9999 * ms, "A"},
				{10 * s, "B"},
				{14999 * ms, "B"},
				{15 * s, "C"},
			},
			reason: "the second step of time begins when the first ends, not at the request",
		},
		{
			name:   "for, then for, first request late",
			script: scenarios.Script{step("A", 0, 10*s), step("B", 0, 5*s), step("C", 0, 0)},
			want: []request{
				{12 * s, "B"},
				{14 * s, "B"},
				{15 * s, "C"},
			},
		},
		{
			name:   "time jump skips whole steps",
			script: scenarios.Script{step("A", 0, 10*s), step("B", 0, 5*s), step("C", 0, 0)},
			want:   []request{{time.Minute, "C"}},
		},
		{
			name:   "for after polls begins at its first request",
			script: scenarios.Script{step("A", 1, 0), step("B", 0, 10*s), step("C", 0, 0)},
			want: []request{
				{0, "A"},
				{100 * s, "B"},
				{109 * s, "B"},
				{110 * s, "C"},
			},
		},
		{
			name:   "polls after an expired for",
			script: scenarios.Script{step("A", 0, 10*s), step("B", 2, 0), step("C", 0, 5*s), step("D", 0, 0)},
			want: []request{
				{30 * s, "B"},
				{31 * s, "B"},
				{40 * s, "C"},
				{44 * s, "C"},
				{45 * s, "D"},
			},
			reason: "the polls step waits for requests however late they come; the for after it begins at 40s",
		},
		{
			name:   "script that runs out",
			script: scenarios.Script{step("A", 1, 0), step("B", 0, 5*s)},
			want: []request{
				{0, "A"},
				{1 * s, "B"},
				{5999 * ms, "B"},
				{6 * s, ranOut},
				{7 * s, ranOut},
			},
		},
		{
			name:   "empty script",
			script: nil,
			want:   []request{{0, ranOut}, {time.Hour, ranOut}},
		},
		{
			name:   "step with both polls and for ends with the first",
			script: scenarios.Script{step("A", 2, 10*s), step("B", 3, 10*s), step("C", 0, 0)},
			want: []request{
				{0, "A"},
				{11 * s, "B"},
				{12 * s, "B"},
				{13 * s, "B"},
				{14 * s, "C"},
			},
			reason: "Parse never builds such a step, but At must still do something sensible",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, playAll(t, tc.script, tc.want)); diff != "" {
				t.Errorf("At mismatch (-want +got):\n%s", diff)
				if tc.reason != "" {
					t.Logf("reason: %s", tc.reason)
				}
			}
		})
	}
}

func TestScriptAtPosition(t *testing.T) {
	script := scenarios.Script{step("A", 2, 0), step("B", 0, 10*s), step("C", 0, 0)}
	type result struct {
		Step string
		Next scenarios.Position
		OK   bool
	}
	var got []result
	pos := scenarios.Position{}
	for _, at := range []time.Duration{0, 1 * s, 3 * s, 4 * s, 20 * s, 21 * s} {
		st, next, ok := script.At(pos, at)
		got = append(got, result{answer(st), next, ok})
		pos = next
	}
	want := []result{
		{"A", scenarios.Position{Step: 0, Served: 1, Since: 0}, true},
		{"A", scenarios.Position{Step: 0, Served: 2, Since: 0}, true},
		{"B", scenarios.Position{Step: 1, Served: 1, Since: 3 * s}, true},
		{"B", scenarios.Position{Step: 1, Served: 2, Since: 3 * s}, true},
		{"C", scenarios.Position{Step: 2, Served: 1, Since: 13 * s}, true},
		{"C", scenarios.Position{Step: 2, Served: 2, Since: 13 * s}, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("At positions mismatch (-want +got):\n%s", diff)
	}

	// Running out leaves the position past the last step.
	short := scenarios.Script{step("A", 1, 0)}
	_, next, _ := short.At(scenarios.Position{}, 0)
	st, next, ok := short.At(next, s)
	if ok || next != (scenarios.Position{Step: 1, Since: s}) || answer(st) != "nothing" {
		t.Errorf("At after the last step = %q, %+v, %v; want the zero Step, {Step:1 Since:1s}, false", answer(st), next, ok)
	}
}

func TestLatencyDraw(t *testing.T) {
	t.Run("fixed", func(t *testing.T) {
		for _, l := range []scenarios.Latency{
			{},
			{Min: 2 * s, Max: 2 * s},
			{Min: 2 * s},
			{Min: 3 * s, Max: 1 * s},
		} {
			for seed := range uint64(100) {
				if got := l.Draw(seed); got != l.Min {
					t.Fatalf("%+v.Draw(%d) = %v; want Min, %v", l, seed, got, l.Min)
				}
			}
		}
	})
	t.Run("range bounds", func(t *testing.T) {
		l := scenarios.Latency{Min: 50 * ms, Max: 400 * ms}
		for seed := range uint64(10000) {
			if got := l.Draw(seed); got < l.Min || got > l.Max {
				t.Fatalf("%+v.Draw(%d) = %v; want it within the range", l, seed, got)
			}
		}
	})
	t.Run("both ends are drawn", func(t *testing.T) {
		l := scenarios.Latency{Min: 10, Max: 13}
		seen := map[time.Duration]int{}
		for seed := range uint64(1000) {
			seen[l.Draw(seed)]++
		}
		for d := l.Min; d <= l.Max; d++ {
			if seen[d] < 150 {
				t.Errorf("%+v.Draw drew %v %d times in 1000 seeds; want about 250", l, d, seen[d])
			}
		}
		if len(seen) != 4 {
			t.Errorf("%+v.Draw drew %v; want only 10ns to 13ns", l, seen)
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		l := scenarios.Latency{Min: 0, Max: time.Hour}
		want := []time.Duration{l.Draw(1), l.Draw(2), l.Draw(3)}
		got := []time.Duration{l.Draw(1), l.Draw(2), l.Draw(3)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Draw twice mismatch (-want +got):\n%s", diff)
		}
		if want[0] == want[1] && want[1] == want[2] {
			t.Errorf("Draw(1), Draw(2), Draw(3) are all %v; want seeds to spread", want[0])
		}
	})
}

func TestLatencySeed(t *testing.T) {
	a := &scenarios.Scenario{Seed: 7}
	b := &scenarios.Scenario{Seed: 8}
	seen := map[uint64]int{}
	for n := range 1000 {
		v := a.LatencySeed("poll", n)
		if prev, dup := seen[v]; dup {
			t.Fatalf("LatencySeed(poll, %d) = LatencySeed(poll, %d) = %d; want each n to differ", n, prev, v)
		}
		seen[v] = n
		if again := a.LatencySeed("poll", n); again != v {
			t.Fatalf("LatencySeed(poll, %d) = %d, then %d; want the same", n, v, again)
		}
	}
	if a.LatencySeed("poll", 0) == a.LatencySeed("result", 0) {
		t.Errorf("LatencySeed(poll, 0) = LatencySeed(result, 0); want endpoints to differ")
	}
	if a.LatencySeed("poll", 0) == b.LatencySeed("poll", 0) {
		t.Errorf("seeds 7 and 8 give the same LatencySeed(poll, 0); want them to differ")
	}
	if (&scenarios.Scenario{Seed: 7, Name: "other"}).LatencySeed("poll", 3) != a.LatencySeed("poll", 3) {
		t.Errorf("LatencySeed depends on more than Seed, the endpoint and n")
	}
}

func TestReplyBody(t *testing.T) {
	tests := []struct {
		name  string
		reply scenarios.Reply
		runID int64
		want  string
	}{
		{
			name:  "pending",
			reply: scenarios.Reply{Status: "PENDING"},
			want:  `{"status":"PENDING","run_id":null,"exception_reason":null,"message":null}`,
		},
		{
			name:  "auto run id",
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Auto: true}},
			runID: 1001,
			want:  `{"status":"SUCCESS","run_id":1001,"exception_reason":null,"message":null}`,
		},
		{
			name:  "fixed run id",
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`7`)}},
			runID: 1001,
			want:  `{"status":"SUCCESS","run_id":7,"exception_reason":null,"message":null}`,
		},
		{
			name:  "run id any JSON",
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`"1001"`)}},
			want:  `{"status":"SUCCESS","run_id":"1001","exception_reason":null,"message":null}`,
		},
		{
			name:  "null run id ignores the allocated one",
			reply: scenarios.Reply{Status: "SUCCESS"},
			runID: 1001,
			want:  `{"status":"SUCCESS","run_id":null,"exception_reason":null,"message":null}`,
		},
		{
			name:  "reason and message string",
			reply: scenarios.Reply{Status: "ERROR", ExceptionReason: "PROCESSING_ERROR", Message: json.RawMessage(`"It broke."`)},
			want:  `{"status":"ERROR","run_id":null,"exception_reason":"PROCESSING_ERROR","message":"It broke."}`,
		},
		{
			name:  "message object",
			reply: scenarios.Reply{Status: "ERROR", Message: json.RawMessage(`{"code":3,"text":"no"}`)},
			want:  `{"status":"ERROR","run_id":null,"exception_reason":null,"message":{"code":3,"text":"no"}}`,
		},
		{
			name: "extra keys sorted",
			reply: scenarios.Reply{Status: "PENDING", Extra: map[string]json.RawMessage{
				"zeta":  json.RawMessage(`1`),
				"alpha": json.RawMessage(`"a"`),
				"mid":   json.RawMessage(`null`),
			}},
			want: `{"status":"PENDING","run_id":null,"exception_reason":null,"message":null,"alpha":"a","mid":null,"zeta":1}`,
		},
		{
			name:  "strings escaped as JSON",
			reply: scenarios.Reply{Status: "FA\"I\\L\x01\x7f\xff", ExceptionReason: "tab\there\u2028é", Extra: map[string]json.RawMessage{"k\n": json.RawMessage(`0`)}},
			want:  `{"status":"FA\"I\\L\u0001` + "\x7f" + `\ufffd","run_id":null,"exception_reason":"tab\there` + "\u2028é" + `","message":null,"k\n":0}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.reply.Body(tc.runID)
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Body(%d) mismatch (-want +got):\n%s", tc.runID, diff)
			}
			if !json.Valid(got) {
				t.Errorf("Body(%d) = %s, not valid JSON", tc.runID, got)
			}
			appended := tc.reply.AppendBody([]byte("prefix:"), tc.runID)
			if diff := cmp.Diff("prefix:"+tc.want, string(appended)); diff != "" {
				t.Errorf("AppendBody(prefix, %d) mismatch (-want +got):\n%s", tc.runID, diff)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	want := []scenarios.Fault{"reset", "empty", "malformed-json", "truncated", "hang"}
	if diff := cmp.Diff(want, scenarios.Faults()); diff != "" {
		t.Errorf("Faults() mismatch (-want +got):\n%s", diff)
	}
}

func TestStepForever(t *testing.T) {
	for _, tc := range []struct {
		step scenarios.Step
		want bool
	}{
		{scenarios.Step{}, true},
		{scenarios.Step{Polls: 1}, false},
		{scenarios.Step{For: time.Nanosecond}, false},
		{scenarios.Step{Polls: 1, For: s}, false},
	} {
		if got := tc.step.Forever(); got != tc.want {
			t.Errorf("Step{Polls: %d, For: %v}.Forever() = %v; want %v", tc.step.Polls, tc.step.For, got, tc.want)
		}
	}
}

func TestManualClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("advance", func(t *testing.T) {
		c := scenarios.NewManualClock(start)
		if got := c.Now(); !got.Equal(start) {
			t.Fatalf("Now() = %v; want %v", got, start)
		}
		changed := c.Changed()
		now, err := c.Advance(90 * s)
		if err != nil {
			t.Fatalf("Advance(90s) error: %v", err)
		}
		if want := start.Add(90 * s); !now.Equal(want) || !c.Now().Equal(want) {
			t.Errorf("Advance(90s) = %v, Now() = %v; want %v", now, c.Now(), want)
		}
		select {
		case <-changed:
		default:
			t.Errorf("Changed() channel not closed after Advance")
		}
		select {
		case <-c.Changed():
			t.Errorf("Changed() after the move returns a closed channel; want a fresh one")
		default:
		}
	})

	t.Run("negative", func(t *testing.T) {
		c := scenarios.NewManualClock(start)
		changed := c.Changed()
		now, err := c.Advance(-1 * s)
		want := "cannot move the clock back by 1s; give a duration of 0 or more"
		if err == nil || err.Error() != want {
			t.Errorf("Advance(-1s) error = %v; want %q", err, want)
		}
		if !now.Equal(start) || !c.Now().Equal(start) {
			t.Errorf("Advance(-1s) = %v, Now() = %v; want the clock unmoved at %v", now, c.Now(), start)
		}
		select {
		case <-changed:
			t.Errorf("Changed() channel closed by a refused Advance")
		default:
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		c := scenarios.NewManualClock(start)
		const goroutines, moves = 8, 100
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range moves {
					if _, err := c.Advance(ms); err != nil {
						t.Errorf("Advance(1ms) error: %v", err)
						return
					}
				}
			})
			wg.Go(func() {
				last := c.Now()
				for range moves {
					_ = c.Changed()
					now := c.Now()
					if now.Before(last) {
						t.Errorf("Now() went back from %v to %v", last, now)
						return
					}
					last = now
				}
			})
		}
		wg.Wait()
		if got, want := c.Now(), start.Add(goroutines*moves*ms); !got.Equal(want) {
			t.Errorf("after %d moves of 1ms, Now() = %v; want %v", goroutines*moves, got, want)
		}
	})
}

func TestSystemClock(t *testing.T) {
	before := time.Now()
	got := scenarios.SystemClock().Now()
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Errorf("SystemClock().Now() = %v; want between %v and %v", got, before, after)
	}
}
