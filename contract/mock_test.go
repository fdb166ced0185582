package contract_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

const testKey = "contract-test-key"

// newMock starts a test server of the mock, with the test key.
func newMock(t testing.TB, opts ...mockserver.Option) *mockservertest.TestServer {
	t.Helper()
	return mockservertest.NewTestServer(t, append([]mockserver.Option{mockserver.WithAPIKeys(testKey)}, opts...)...)
}

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

// kindsOf returns the kinds of spec (nil: the embedded one) in report
// order: the default kind first, then the others by name.
func kindsOf(t testing.TB, spec *cambmock.Spec) []*cambmock.Kind {
	t.Helper()
	if spec == nil {
		spec = loadSpec(t)
	}
	out := []*cambmock.Kind{spec.DefaultKind()}
	for _, k := range spec.Kinds() {
		if k != spec.DefaultKind() {
			out = append(out, k)
		}
	}
	return out
}

// ids returns the IDs of checks for every kind: the check name for the
// default kind, KIND/CHECK for the others, in report order.
func ids(kinds []*cambmock.Kind, checks ...string) []string {
	var out []string
	for i, k := range kinds {
		for _, c := range checks {
			if i == 0 {
				out = append(out, c)
			} else {
				out = append(out, k.Name+"/"+c)
			}
		}
	}
	return out
}

// inReportOrder sorts check names as Checks lists them.
func inReportOrder(checks []string) []string {
	var out []string
	for _, c := range contract.Checks() {
		if slices.Contains(checks, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// TestMockScenarios runs the suite against the mock for every built-in
// scenario (the header picks the scenario of every create): on-spec ones
// pass every check that applies, error ones included (PENDING then ERROR
// is on-spec); off-spec ones fail the check named for the defect they
// play, which proves each of those checks can fail. The off-spec
// scenarios, stuck, success and error run on every kind of task at once;
// the other on-spec ones, to spare the machine, on the default kind and
// tts (whose result answers audio and JSON, and which has bulk).
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
	everyKind := []string{"success", "error", "stuck"}
	shared := loadSpec(t)
	all := kindsOf(t, shared)
	// One mock serves every subtest: each task plays the scenario its
	// create named, and each run moves the manual clock only forward.
	ts := newMock(t, mockserver.WithHangLimit(5*time.Second))
	for _, sc := range ts.Server().Scenarios() {
		if sc.OffSpec && want[sc.Name] == nil {
			t.Errorf("off-spec scenario %q has no expected failing check in this test; add one", sc.Name)
		}
		kinds := all
		if !sc.OffSpec && !slices.Contains(everyKind, sc.Name) {
			kinds = []*cambmock.Kind{all[0], shared.Kind("tts")}
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			tg := mockTarget(ts, sc.Name)
			tg.Spec = shared
			for _, k := range kinds {
				tg.Kinds = append(tg.Kinds, k.Name)
			}
			r, err := contract.Verify(t.Context(), tg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids(kinds, inReportOrder(want[sc.Name])...), r.FailedChecks()); diff != "" {
				for _, res := range r.Results {
					for _, f := range res.Failures {
						t.Logf("%s: %s\n  %s\n  %s", res.ID, f.Problem, f.Request, f.Response)
					}
				}
				t.Errorf("Verify(%s) failed checks mismatch (-want +got):\n%s", sc.Name, diff)
			}
			for _, k := range kinds {
				for _, name := range []string{contract.CheckTaskCreated, contract.CheckStatusConforms} {
					if res := r.ResultOf(k.Name, name); res.Outcome == contract.Skip {
						t.Errorf("check %s was skipped: %s", res.ID, res.Note)
					}
				}
			}
			succeeded := r.Drift.Statuses["SUCCESS"] > 0 && !slices.Contains(want[sc.Name], contract.CheckSuccessRunID) && sc.Name != "stuck"
			if succeeded {
				checkResultsPass(t, r, kinds)
			}
		})
	}
}

// loadSpec loads the embedded spec, to share between runs of the suite.
func loadSpec(t testing.TB) *cambmock.Spec {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// checkResultsPass checks that every result check that applies to a kind
// passed: result-audio where a result declares audio, result-file-url
// where a JSON result holds URLs, the bulk checks where the kind has bulk.
func checkResultsPass(t *testing.T, r *contract.Report, kinds []*cambmock.Kind) {
	t.Helper()
	applies := map[string][]string{
		contract.CheckResultConforms: {"text-to-sound", "tts", "text-to-voice", "audio-separation", "dub", "transcription", "translation", "translated-tts"},
		contract.CheckResultAudio:    {"text-to-sound", "tts", "translated-tts"},
		contract.CheckResultFileURL:  {"text-to-sound", "tts", "text-to-voice", "audio-separation", "dub", "translated-tts"},
		contract.CheckBulkConforms:   {"text-to-sound", "tts", "audio-separation", "dub", "transcription", "translation"},
		contract.CheckBulkAnswers:    {"text-to-sound", "tts", "audio-separation", "dub", "transcription", "translation"},
	}
	for _, k := range kinds {
		for check, where := range applies {
			res := r.ResultOf(k.Name, check)
			want := contract.Skip
			if slices.Contains(where, k.Name) {
				want = contract.Pass
			}
			if res.Outcome != want {
				t.Errorf("%s = %s (%s); want %s", res.ID, res.Outcome, res.Note, want)
			}
		}
	}
}
