package contract_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
)

// TestTerminalIsFinal runs the suite against fakes that keep a terminal
// status, and that break it each way after SUCCESS: terminal-is-final
// passes only on evidence (two re-polls answering the same), and fails
// naming what came instead.
func TestTerminalIsFinal(t *testing.T) {
	const key = "sk-final-test-44e0"
	tests := []struct {
		defect  string
		outcome contract.Outcome
		want    []string // the checks that fail
		problem string   // terminal-is-final's one failure
	}{
		{defect: "", outcome: contract.Pass},
		{defect: "forget-after-success", outcome: contract.Fail, want: []string{contract.CheckTerminalIsFinal},
			problem: "task task-1 reported SUCCESS, then answered 404"},
		{defect: "terminal-regress", outcome: contract.Fail, want: []string{contract.CheckTerminalIsFinal},
			problem: "task task-1 reported SUCCESS, then PENDING"},
		{defect: "503-after-success", outcome: contract.Fail, want: []string{contract.CheckTerminalIsFinal},
			problem: "task task-1 reported SUCCESS, then answered 503, 5 times in a row"},
		{defect: "run-id-changes", outcome: contract.Fail, want: []string{contract.CheckTerminalIsFinal},
			problem: "task task-1 reported SUCCESS with run_id 4242, then with run_id 4243"},
	}
	for _, tt := range tests {
		name := tt.defect
		if name == "" {
			name = "faithful"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := contract.Verify(t.Context(), contract.Target{
				BaseURL: serveFake(t, newFakeAPI(tt.defect, key, "")), APIKey: key, Kinds: onlySound(), AllowSpend: true, Sleep: noSleep,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.FailedChecks()); diff != "" {
				logReport(t, r)
				t.Errorf("failed checks mismatch (-want +got):\n%s", diff)
			}
			res := r.Result(contract.CheckTerminalIsFinal)
			if res.Outcome != tt.outcome {
				t.Errorf("terminal-is-final = %s (%s); want %s", res.Outcome, res.Note, tt.outcome)
			}
			if tt.problem != "" {
				if diff := cmp.Diff([]string{tt.problem}, failures(r, contract.CheckTerminalIsFinal)); diff != "" {
					t.Errorf("terminal-is-final failures mismatch (-want +got):\n%s", diff)
				}
			} else if want := " still answered SUCCESS when polled 2 more time(s)"; !strings.HasSuffix(res.Note, want) {
				t.Errorf("terminal-is-final note = %q; want it to end %q", res.Note, want)
			}
		})
	}
}

// TestTerminalIsFinalNoEvidence runs on the real clock with a poll
// interval longer than the time left: the run's deadline comes before any
// re-poll, so terminal-is-final is a skip that says so, not a pass, and
// the results the deadline cut short are skips too, not failures.
func TestTerminalIsFinalNoEvidence(t *testing.T) {
	t.Parallel()
	const key = "sk-final-test-8d1a"
	start := time.Now()
	r, err := contract.Verify(t.Context(), contract.Target{
		BaseURL:      serveFake(t, newFakeAPI("success-at-once", key, "")),
		APIKey:       key,
		Kinds:        onlySound(),
		AllowSpend:   true,
		Timeout:      time.Second,
		PollInterval: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Verify took %v; want the 1s timeout to end it", took)
	}
	if r.Failed() {
		logReport(t, r)
		t.Errorf("failed %v; want none", r.FailedChecks())
	}
	res := r.Result(contract.CheckTerminalIsFinal)
	if res.Outcome != contract.Skip || !strings.HasPrefix(res.Note, "the run's deadline came before task task-1 could be polled again after SUCCESS") {
		t.Errorf("terminal-is-final = %s %q; want a skip whose note names the deadline", res.Outcome, res.Note)
	}
	for _, c := range []string{contract.CheckResultAudio, contract.CheckBulkAnswers} {
		if res := r.Result(c); res.Outcome != contract.Skip || !strings.Contains(res.Note, "deadline") {
			t.Errorf("%s = %s %q; want a skip naming the deadline", c, res.Outcome, res.Note)
		}
	}
}
