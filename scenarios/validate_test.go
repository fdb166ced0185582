package scenarios_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/scenarios"
)

// validScenario returns a scenario built in Go that passes Validate, with
// a step in each script, for the cases of TestValidate to break.
func validScenario() *scenarios.Scenario {
	return &scenarios.Scenario{
		Name:        "flaky",
		Description: "a 503 on create, PENDING once, then SUCCESS",
		Create: scenarios.Script{{Polls: 1, Error: &scenarios.HTTPError{
			Code:   503,
			Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
			Body:   `{"detail":"Service Unavailable"}`,
		}}},
		Poll: scenarios.Script{
			{Polls: 1, Reply: &scenarios.Reply{Status: "PENDING", Message: json.RawMessage(`"queued"`)},
				Latency: scenarios.Latency{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}},
			{Reply: &scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Auto: true},
				Extra: map[string]json.RawMessage{"progress": json.RawMessage(`100`)}}},
		},
		Result: scenarios.Script{{Polls: 1, Fault: scenarios.FaultTruncated}, {Normal: true}},
	}
}

func TestValidate(t *testing.T) {
	json400 := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		edit   func(sc *scenarios.Scenario)
		want   string // "" for none
		reason string
	}{
		{
			name: "valid",
			edit: func(sc *scenarios.Scenario) {},
		},
		{
			name:   "a fixed latency",
			edit:   func(sc *scenarios.Scenario) { sc.Poll[0].Latency = scenarios.Latency{Min: time.Second} },
			reason: "a Max of 0 means a fixed latency of Min",
		},
		{
			name: "message null",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Reply.Message = json.RawMessage(`null`) },
		},
		{
			name: "no name",
			edit: func(sc *scenarios.Scenario) { sc.Name = "" },
			want: `scenario "": the Name is empty; give one of lowercase letters, digits and dashes, starting with a letter or digit`,
		},
		{
			name: "bad name",
			edit: func(sc *scenarios.Scenario) { sc.Name = "Flaky Poll" },
			want: `scenario "Flaky Poll": the Name is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit`,
		},
		{
			name: "empty description",
			edit: func(sc *scenarios.Scenario) { sc.Description = " \t" },
			want: `scenario "flaky": the Description is empty; say in one line what the scenario plays`,
		},
		{
			name: "description of two lines",
			edit: func(sc *scenarios.Scenario) { sc.Description = "PENDING,\nthen SUCCESS" },
			want: `scenario "flaky": the Description has more than one line; keep it to one line`,
		},
		{
			name: "no poll script",
			edit: func(sc *scenarios.Scenario) { sc.Poll = nil },
			want: `scenario "flaky": the Poll script is empty; give it at least one step, the last lasting forever`,
		},
		{
			name:   "the poll script runs out",
			edit:   func(sc *scenarios.Scenario) { sc.Poll[1].Polls = 3 },
			want:   `scenario "flaky": poll step 2 is the last and lasts 3 polls, but the last poll step must last forever, since a task answers every poll; set its Polls to 0`,
			reason: "a Go scenario whose poll script runs out answers a 500 today",
		},
		{
			name: "the poll script runs out in time",
			edit: func(sc *scenarios.Scenario) { sc.Poll[1].For = 5 * time.Second },
			want: `scenario "flaky": poll step 2 is the last and lasts 5s, but the last poll step must last forever, since a task answers every poll; set its For to 0`,
		},
		{
			name: "a step that lasts forever before another",
			edit: func(sc *scenarios.Scenario) { sc.Result[0].Polls = 0 },
			want: `scenario "flaky": result step 1 lasts forever (its Polls and For are 0), so the step after it never plays; give it Polls or For`,
		},
		{
			name: "a step that lasts forever before two",
			edit: func(sc *scenarios.Scenario) {
				sc.Poll = append(scenarios.Script{{Reply: &scenarios.Reply{Status: "PENDING"}}}, sc.Poll...)
			},
			want: `scenario "flaky": poll step 1 lasts forever (its Polls and For are 0), so the 2 steps after it never play; give it Polls or For`,
		},
		{
			name:   "Polls and For",
			edit:   func(sc *scenarios.Scenario) { sc.Poll[0].For = time.Second },
			want:   `scenario "flaky": poll step 1 has both Polls (1) and For (1s); give one`,
			reason: "the step is not also reported for how it ends",
		},
		{
			name: "negative Polls",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Polls = -1 },
			want: `scenario "flaky": poll step 1 has Polls -1; give 1 to 1000000000, or 0 to last by For or forever`,
		},
		{
			name: "too many Polls",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Polls = 2_000_000_000 },
			want: `scenario "flaky": create step 1 has Polls 2000000000; give 1 to 1000000000, or 0 to last by For or forever`,
		},
		{
			name:   "negative For on the last poll step",
			edit:   func(sc *scenarios.Scenario) { sc.Poll[1].For = -time.Second },
			want:   `scenario "flaky": poll step 2 has For -1s; give a duration above zero, or 0 to last by Polls or forever`,
			reason: "the step is not also reported for not lasting forever",
		},
		{
			name: "a poll step that answers nothing",
			edit: func(sc *scenarios.Scenario) { sc.Poll[1].Reply = nil },
			want: `scenario "flaky": poll step 2 answers nothing; give it a Reply, an Error or a Fault`,
		},
		{
			name: "a create step that answers nothing",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error = nil },
			want: `scenario "flaky": create step 1 answers nothing; give it an Error, a Fault or Normal`,
		},
		{
			name: "two answers",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Fault = scenarios.FaultReset },
			want: `scenario "flaky": poll step 1 has both a Reply and a Fault; give one of a Reply, an Error or a Fault`,
		},
		{
			name: "three answers",
			edit: func(sc *scenarios.Scenario) {
				sc.Result[0].Error = &scenarios.HTTPError{Code: 500, Header: json400}
				sc.Result[0].Normal = true
			},
			want: `scenario "flaky": result step 1 has an Error, a Fault and Normal; give one of an Error, a Fault or Normal`,
		},
		{
			name: "a Reply in a result script",
			edit: func(sc *scenarios.Scenario) {
				sc.Result[1] = scenarios.Step{Reply: &scenarios.Reply{Status: "SUCCESS"}}
			},
			want: `scenario "flaky": result step 2 has a Reply, but only poll steps serve a status; give it an Error, a Fault or Normal`,
		},
		{
			name: "Normal in a poll script",
			edit: func(sc *scenarios.Scenario) { sc.Poll[1] = scenarios.Step{Normal: true} },
			want: `scenario "flaky": poll step 2 has Normal, but a poll has no normal answer; give it a Reply, an Error or a Fault`,
		},
		{
			name: "an error code of 200",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Code = 200 },
			want: `scenario "flaky": create step 1 has Error.Code 200; give an HTTP error status from 400 to 599`,
		},
		{
			name: "an error code of 600",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Code = 600 },
			want: `scenario "flaky": create step 1 has Error.Code 600; give an HTTP error status from 400 to 599`,
		},
		{
			name: "an error without a header",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Header = nil },
			want: `scenario "flaky": create step 1 has an Error without a Content-Type header; set one in Error.Header, such as application/json`,
		},
		{
			name: "a header Get cannot find",
			edit: func(sc *scenarios.Scenario) {
				sc.Create[0].Error.Header = http.Header{"Content-Type": {"application/json"}, "retry-after": {"1"}}
			},
			want: `scenario "flaky": create step 1 has Error.Header "retry-after", which Header.Get cannot find; write it "Retry-After", as Header.Set does`,
		},
		{
			name: "a bad header name",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Header["Retry After"] = []string{"1"} },
			want: `scenario "flaky": create step 1 has Error.Header "Retry After", which is not a valid HTTP header name`,
		},
		{
			name: "a header of two values",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Header.Add("Retry-After", "2") },
			want: `scenario "flaky": create step 1 has Error.Header "Retry-After" with 2 values; give it one`,
		},
		{
			name: "a header with a line break",
			edit: func(sc *scenarios.Scenario) { sc.Create[0].Error.Header.Set("Retry-After", "1\r\nX-Evil: 1") },
			want: `scenario "flaky": create step 1 has Error.Header "Retry-After" with a line break in its value; give one line`,
		},
		{
			name: "a latency below zero",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Latency.Min = -time.Second },
			want: `scenario "flaky": poll step 1 has Latency.Min -1s; give 0 or more`,
		},
		{
			name: "a latency range backwards",
			edit: func(sc *scenarios.Scenario) {
				sc.Poll[0].Latency = scenarios.Latency{Min: 2 * time.Second, Max: time.Second}
			},
			want: `scenario "flaky": poll step 1 has Latency.Max 1s below its Min 2s; give a Max of at least the Min, or 0 for a fixed latency`,
		},
		{
			name: "a latency over an hour",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Latency.Max = 61 * time.Minute },
			want: `scenario "flaky": poll step 1 has a Latency over an hour (1h1m0s); give at most 1h`,
		},
		{
			name: "an unknown fault",
			edit: func(sc *scenarios.Scenario) { sc.Result[0].Fault = "explode" },
			want: `scenario "flaky": result step 1 has Fault "explode"; give one of reset, empty, malformed-json, truncated, hang`,
		},
		{
			name: "a message that is a number",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Reply.Message = json.RawMessage(`42`) },
			want: "scenario \"flaky\": poll step 1 has a Reply.Message that is not a JSON string or object; give one such as json.RawMessage(`\"queued\"`), or nil for null",
		},
		{
			name: "a message that is not JSON",
			edit: func(sc *scenarios.Scenario) { sc.Poll[0].Reply.Message = json.RawMessage(`queued`) },
			want: "scenario \"flaky\": poll step 1 has a Reply.Message that is not a JSON string or object; give one such as json.RawMessage(`\"queued\"`), or nil for null",
		},
		{
			name: "a run id that is not JSON",
			edit: func(sc *scenarios.Scenario) {
				sc.Poll[1].Reply.RunID = scenarios.RunID{Value: json.RawMessage(`run-7`)}
			},
			want: `scenario "flaky": poll step 2 has a Reply.RunID.Value that is not valid JSON; give an integer such as json.RawMessage("1001"), nil for null, or Auto`,
		},
		{
			name: "an extra field of the reply's own",
			edit: func(sc *scenarios.Scenario) { sc.Poll[1].Reply.Extra["run_id"] = json.RawMessage(`1`) },
			want: `scenario "flaky": poll step 2 has Reply.Extra "run_id", one of the reply's own fields; set it with its own field`,
		},
		{
			name: "an extra field that is not JSON",
			edit: func(sc *scenarios.Scenario) { sc.Poll[1].Reply.Extra["progress"] = nil },
			want: `scenario "flaky": poll step 2 has Reply.Extra "progress" that is not valid JSON; give a JSON value such as json.RawMessage("1")`,
		},
		{
			name: "every problem",
			edit: func(sc *scenarios.Scenario) {
				sc.Description = ""
				sc.Create[0].Error.Code = 0
				sc.Poll[0].Reply = nil
				sc.Poll[1].Polls = 1
				sc.Result[0].Fault = "boom"
			},
			want: `scenario "flaky": the Description is empty; say in one line what the scenario plays
scenario "flaky": create step 1 has Error.Code 0; give an HTTP error status from 400 to 599
scenario "flaky": poll step 1 answers nothing; give it a Reply, an Error or a Fault
scenario "flaky": poll step 2 is the last and lasts 1 poll, but the last poll step must last forever, since a task answers every poll; set its Polls to 0
scenario "flaky": result step 1 has Fault "boom"; give one of reset, empty, malformed-json, truncated, hang`,
			reason: "every problem is reported, scenario first, then create, poll and result in order",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := validScenario()
			tc.edit(sc)
			got := ""
			if err := sc.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
				if tc.reason != "" {
					t.Logf("reason: %s", tc.reason)
				}
			}
		})
	}

	t.Run("nil", func(t *testing.T) {
		var sc *scenarios.Scenario
		want := "scenario is nil; give a *Scenario with a Name, a Description and a Poll script"
		if err := sc.Validate(); err == nil || err.Error() != want {
			t.Errorf("(*Scenario)(nil).Validate() = %v; want %q", err, want)
		}
	})
	t.Run("joined", func(t *testing.T) {
		sc := validScenario()
		sc.Name, sc.Description = "", ""
		joined, ok := sc.Validate().(interface{ Unwrap() []error })
		if !ok || len(joined.Unwrap()) != 2 {
			t.Errorf("Validate() of two problems = %v; want an errors.Join of two", sc.Validate())
		}
	})
}

// TestValidateParsed: every scenario Parse returns passes Validate, the
// built-ins and a file that uses every key among them. FuzzParse checks
// the same of every scenario it makes.
func TestValidateParsed(t *testing.T) {
	all, err := scenarios.Builtins(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		if err := sc.Validate(); err != nil {
			t.Errorf("built-in %s: Validate() = %v", sc.Name, err)
		}
	}
	const text = `name: everything
description: every key
off_spec: true
seed: 7
create:
  - error:
      code: 503
      headers:
        retry-after: "2"
        x-request-id: abc
      body: <html>busy</html>
    polls: 2
    latency: 10ms
  - normal: true
    for: 1m
    latency: 0s..1h
  - fault: reset
    forever: true
poll:
  - status: WHATEVER
    run_id: {odd: [1, "x"]}
    exception_reason: NONE
    polls: 1
    message: {stage: queued, eta: 3.5}
    extra:
      "": empty name
      7: numeric name
      raw: !!binary aGk=
  - error:
      code: 422
    for: 90s
  - fault: hang
    polls: 3
  - status: ERROR
    run_id: 1.5
    message: broke
result:
  - error:
      code: 500
    polls: 1
  - fault: truncated
`
	sc, err := scenarios.Parse("every.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Validate(); err != nil {
		t.Errorf("Validate() of a parsed scenario using every key = %v", err)
	}
}
