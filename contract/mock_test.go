package contract_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

const testKey = "contract-test-key"

// mockTarget is a Target for a test server playing scenario, on the
// server's manual clock.
func mockTarget(ts *mockservertest.TestServer, scenario string) contract.Target {
	// Long enough for any latency a scenario plays, short enough that
	// the hang scenario's client gives up fast.
	timeout := 5 * time.Second
	if scenario == "hang" {
		timeout = 800 * time.Millisecond
	}
	return contract.Target{
		BaseURL:      ts.BaseURL(),
		APIKey:       testKey,
		Client:       &http.Client{Timeout: timeout},
		Header:       http.Header{mockserver.ScenarioHeader: {scenario}},
		AllowSpend:   true,
		PendingBound: 2 * time.Minute,
		Sleep: func(ctx context.Context, d time.Duration) error {
			_, err := ts.Clock().Advance(d)
			return err
		},
	}
}

// TestMockScenarios runs the suite against the mock for every built-in
// scenario: on-spec ones pass, off-spec ones fail the check named for the
// defect they play, which proves each of those checks can fail.
func TestMockScenarios(t *testing.T) {
	want := map[string][]string{
		// An on-spec scenario that never ends: only the bound catches it.
		"stuck": {contract.CheckPendingEnds},

		"drift-failed-status":          {contract.CheckStatusConforms},
		"malformed-json":               {contract.CheckStatusConforms},
		"drift-html-error":             {contract.CheckStatusConforms},
		"drift-undeclared-status":      {contract.CheckStatusConforms},
		"drift-missing-retry-after":    {contract.CheckStatusConforms, contract.CheckRetryAfter},
		"drift-run-id-string":          {contract.CheckStatusConforms, contract.CheckSuccessRunID},
		"drift-success-without-run-id": {contract.CheckSuccessRunID},
		"drift-terminal-regress":       {contract.CheckTerminalIsFinal},
	}
	ts := mockservertest.NewTestServer(t)
	for _, sc := range ts.Server().Scenarios() {
		if sc.OffSpec && want[sc.Name] == nil {
			t.Errorf("off-spec scenario %q has no expected failing check in this test; add one", sc.Name)
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(testKey), mockserver.WithHangLimit(5*time.Second))
			r, err := contract.Verify(t.Context(), mockTarget(ts, sc.Name))
			if err != nil {
				t.Fatal(err)
			}
			got := r.FailedChecks()
			if diff := cmp.Diff(want[sc.Name], got); diff != "" {
				for _, res := range r.Results {
					for _, f := range res.Failures {
						t.Logf("%s: %s\n  %s\n  %s", res.Name, f.Problem, f.Request, f.Response)
					}
				}
				t.Errorf("Verify(%s) failed checks mismatch (-want +got):\n%s", sc.Name, diff)
			}
			for _, name := range []string{contract.CheckTaskCreated, contract.CheckStatusConforms} {
				if res := r.Result(name); res.Outcome == contract.Skip {
					t.Errorf("check %s was skipped: %s", name, res.Note)
				}
			}
			if !slices.Contains(want[sc.Name], contract.CheckSuccessRunID) && sc.Name != "stuck" && r.Drift.Statuses["SUCCESS"] > 0 {
				if res := r.Result(contract.CheckResultAudio); res.Outcome != contract.Pass {
					t.Errorf("result-audio = %s (%s), want pass", res.Outcome, res.Note)
				}
			}
		})
	}
}
