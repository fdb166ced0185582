// Package contracttest runs cambmock's contract suite from a Go test:
// [Run] is the subtest twin of [contract.Verify], as slogtest.Run is of
// slogtest.TestHandler. It lives apart from package contract so that the
// testing package stays out of programs that only verify, such as the
// cambmock command.
package contracttest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cambmock/cambmock/contract"
)

// Run runs the suite against tg as subtests of t, one per check per kind
// of task, named by the result's ID: the check's name for the spec's
// default kind (TestMock/terminal-is-final), KIND/CHECK for the others
// (TestMock/tts/terminal-is-final), and returns the report. A failed check
// fails its subtest with lines that read "id: problem: purpose", then the
// request (key redacted), the response, and what was expected against what
// came ([contract.Failure.Diff]). A check with nothing to check is skipped
// with its note; drift warnings are logged. If the suite cannot run
// ([contract.Verify] returns an error), Run fails t at once.
//
// The run's context is t.Context(), bounded by tg.Timeout.
func Run(t *testing.T, tg contract.Target) *contract.Report {
	t.Helper()
	r, err := contract.Verify(t.Context(), tg)
	if err != nil {
		t.Fatalf("contracttest.Run: %v", err)
	}
	for _, res := range r.Results {
		t.Run(res.ID, func(t *testing.T) {
			switch res.Outcome {
			case contract.Skip:
				t.Skip(res.Note)
			case contract.Fail:
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

// describe words a failure as Run reports it.
func describe(res contract.Result, f contract.Failure) string {
	var b strings.Builder
	name := res.ID
	if name == "" {
		name = res.Name
	}
	fmt.Fprintf(&b, "%s: %s: %s", name, f.Problem, res.Purpose)
	if f.Count > 1 {
		fmt.Fprintf(&b, " (seen %d times)", f.Count)
	}
	if f.Request != "" {
		fmt.Fprintf(&b, "\nrequest:  %s", f.Request)
	}
	if f.Response != "" {
		fmt.Fprintf(&b, "\nresponse: %s", f.Response)
	}
	if f.Diff != "" {
		fmt.Fprintf(&b, "\n%s", f.Diff)
	}
	return b.String()
}
