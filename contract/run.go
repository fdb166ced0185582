package contract

import (
	"fmt"
	"strings"
	"testing"
)

// Run runs the suite against tg as subtests of t, one per check, and
// returns the report. A failed check fails its subtest with lines that read
// "check-name: problem: purpose", then the request (key redacted), the
// response and a go-cmp diff. A check with nothing to check is skipped;
// drift warnings are logged. If the suite cannot run, Run fails t at once.
func Run(t *testing.T, tg Target) *Report {
	t.Helper()
	r, err := Verify(t.Context(), tg)
	if err != nil {
		t.Fatalf("contract.Run: %v", err)
	}
	for _, res := range r.Results {
		t.Run(res.Name, func(t *testing.T) {
			switch res.Outcome {
			case Skip:
				t.Skip(res.Note)
			case Fail:
				for _, f := range res.Failures {
					t.Error(describe(res, f))
				}
			}
		})
	}
	for _, w := range r.Drift.Warnings {
		t.Logf("drift warning: %s", w.Message)
	}
	return r
}

func describe(res Result, f Failure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", res.Name, f.Problem, res.Purpose)
	if f.Request != "" {
		fmt.Fprintf(&b, "\nrequest:  %s", f.Request)
	}
	if f.Response != "" {
		fmt.Fprintf(&b, "\nresponse: %s", f.Response)
	}
	if f.Diff != "" {
		fmt.Fprintf(&b, "\ndiff (-want +got):\n%s", f.Diff)
	}
	return b.String()
}
