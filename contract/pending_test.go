package contract_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// TestPendingBoundRealClock runs the suite on the real clock against
// targets whose task never leaves PENDING, with short bounds and the
// default pending bound (60% of the 3 s timeout): pending-ends fails,
// saying how long the task stayed and what the bound is, and the status
// endpoint, which answered every poll, is not blamed.
func TestPendingBoundRealClock(t *testing.T) {
	const key = "sk-pending-test-0b3e"
	stuckMock := func(t *testing.T) (string, http.Header) {
		ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(key), mockserver.WithClock(scenarios.SystemClock()))
		return ts.BaseURL(), http.Header{mockserver.ScenarioHeader: {"stuck"}}
	}
	fake := func(t *testing.T) (string, http.Header) {
		return serveFake(t, newFakeAPI("pending-forever", key, "")), nil
	}
	tests := []struct {
		name   string
		target func(t *testing.T) (string, http.Header)
		task   string
	}{
		{"fake stuck at PENDING", fake, "task-1"},
		{"mock stuck scenario", stuckMock, ""},
	}
	spec := loadSpec(t) // loaded before the clock starts: it takes a while under -race
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, header := tt.target(t)
			start := time.Now()
			r, err := contract.Verify(t.Context(), contract.Target{
				BaseURL:      base,
				APIKey:       key,
				Header:       header,
				Spec:         spec,
				Kinds:        onlySound(),
				AllowSpend:   true,
				Timeout:      3 * time.Second,
				PollInterval: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Verify took %v; want the pending bound (1.8s) to end the polls well inside the 3s timeout", took)
			}
			if diff := cmp.Diff([]string{contract.CheckPendingEnds}, r.FailedChecks()); diff != "" {
				logReport(t, r)
				t.Errorf("failed checks mismatch (-want +got):\n%s", diff)
			}
			if res := r.Result(contract.CheckStatusConforms); res.Outcome != contract.Pass {
				t.Errorf("status-conforms = %s; want pass: every poll was answered", res.Outcome)
			}
			task := tt.task
			if task == "" {
				task = `[0-9a-f-]+`
			}
			re := regexp.MustCompile(`^task ` + task + ` stayed PENDING for (1\.[89]|2\.[0-4])s; the bound is 1\.8s \(Target\.PendingBound, --pending-bound\)$`)
			if got := failures(r, contract.CheckPendingEnds); len(got) != 1 || !re.MatchString(got[0]) {
				t.Errorf("pending-ends failures = %q; want one matching %s", got, re)
			}
		})
	}
}

// TestPendingRunEndsFirst ends the run (the caller's context) before the
// pending bound: nothing shows the task would not have ended in time, so
// pending-ends is a skip that says so, and no check fails.
func TestPendingRunEndsFirst(t *testing.T) {
	t.Parallel()
	const key = "sk-pending-test-19fa"
	base := serveFake(t, newFakeAPI("pending-forever", key, ""))
	ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
	defer cancel()
	r, err := contract.Verify(ctx, contract.Target{
		BaseURL: base, APIKey: key, Kinds: onlySound(), AllowSpend: true,
		Timeout: 20 * time.Second, PollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		logReport(t, r)
		t.Errorf("failed %v; want no failure when the run ends before the bound", r.FailedChecks())
	}
	res := r.Result(contract.CheckPendingEnds)
	if res.Outcome != contract.Skip || !strings.Contains(res.Note, "task task-1 was still PENDING after ") || !strings.Contains(res.Note, "raise Target.Timeout (--timeout)") {
		t.Errorf("pending-ends = %s %q; want a skip whose note says the task was still PENDING when the run ended", res.Outcome, res.Note)
	}
}
