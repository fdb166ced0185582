package contract_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/scenarios"
)

// ExampleVerify checks two kinds of task of the mock, on a manual clock
// that the suite moves instead of sleeping, and prints what each check
// found: the default kind's results by the checks' names, the other
// kind's as KIND/CHECK. A translation result holds no audio and no URL,
// so the checks of those are skips.
func ExampleVerify() {
	clock := scenarios.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	mock, err := mockserver.New(mockserver.WithClock(clock), mockserver.WithAPIKeys("my-key"))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	report, err := contract.Verify(context.Background(), contract.Target{
		BaseURL:    srv.URL + "/apis",
		APIKey:     "my-key",
		AllowSpend: true, // the mock costs nothing
		Kinds:      []string{"text-to-sound", "translation"},
		Sleep: func(_ context.Context, d time.Duration) error {
			_, err := clock.Advance(d)
			return err
		},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range report.Results {
		fmt.Printf("%-4s %s\n", r.Outcome, r.ID)
	}
	fmt.Println("failed:", report.Failed())
	// Output:
	// pass auth-missing-key
	// pass auth-wrong-key
	// pass unknown-task
	// pass unknown-run
	// pass invalid-create-body
	// pass create-conforms
	// pass task-created
	// pass status-conforms
	// pass success-has-run-id
	// pass terminal-is-final
	// pass pending-ends
	// skip rate-limit-retry-after
	// pass result-conforms
	// pass result-audio
	// pass result-file-url
	// pass bulk-conforms
	// pass bulk-answers
	// pass translation/auth-missing-key
	// pass translation/auth-wrong-key
	// pass translation/unknown-task
	// pass translation/unknown-run
	// pass translation/invalid-create-body
	// pass translation/create-conforms
	// pass translation/task-created
	// pass translation/status-conforms
	// pass translation/success-has-run-id
	// pass translation/terminal-is-final
	// pass translation/pending-ends
	// skip translation/rate-limit-retry-after
	// pass translation/result-conforms
	// skip translation/result-audio
	// skip translation/result-file-url
	// pass translation/bulk-conforms
	// pass translation/bulk-answers
	// failed: false
}
