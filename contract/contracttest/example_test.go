package contracttest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/contracttest"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// A test checks the mock (or any deployment of the API) with one call: a
// subtest per check, such as TestMock/terminal-is-final, each failing with
// what the target answered. An Example gets no *testing.T, so this one is
// compiled but not run; TestRun runs the same lines.
func ExampleRun() {
	testMock := func(t *testing.T) {
		ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys("my-key"))
		report := contracttest.Run(t, contract.Target{
			BaseURL:    ts.BaseURL(),
			APIKey:     "my-key",
			AllowSpend: true, // the mock costs nothing
			// The mock runs on a manual clock: move it instead of sleeping.
			Sleep: func(_ context.Context, d time.Duration) error {
				_, err := ts.Clock().Advance(d)
				return err
			},
		})
		t.Logf("%d passed, %d skipped", report.Count(contract.Pass), report.Count(contract.Skip))
	}
	_ = testMock // in a test file: func TestMock(t *testing.T) { ... }
}
