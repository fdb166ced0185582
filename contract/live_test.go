package contract_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
)

// serveHandler makes an httpmock responder of an http.Handler.
func serveHandler(h http.Handler) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result(), nil
	}
}

// TestLiveShapedDrift runs the suite against answers shaped like the live
// API's, served through httpmock with no network: the faithful API and the
// warning-only drift pass; each defect fails the check named for it.
func TestLiveShapedDrift(t *testing.T) {
	const key = "live-shaped-key"
	tests := []struct {
		defect   string
		want     []string // the checks that must fail
		warnings []string // the warnings that must be reported
	}{
		{defect: ""},
		{defect: "extra-field", warnings: []string{"field progress"}},
		{defect: "unknown-reason", warnings: []string{"exception_reason GPU_QUOTA_EXCEEDED"}},
		{defect: "status-failed", want: []string{contract.CheckStatusConforms}, warnings: []string{"status FAILED"}},
		{defect: "run-id-string", want: []string{contract.CheckStatusConforms, contract.CheckSuccessRunID}},
		{defect: "success-without-run-id", want: []string{contract.CheckSuccessRunID}},
		{defect: "unknown-task-200", want: []string{contract.CheckUnknownTask}},
		{defect: "html-502", want: []string{contract.CheckStatusConforms}},
		{defect: "429-without-retry-after", want: []string{contract.CheckCreateConforms, contract.CheckRetryAfter}},
		{defect: "missing-key-accepted", want: []string{contract.CheckAuthMissingKey}},
		{defect: "wrong-key-accepted", want: []string{contract.CheckAuthWrongKey}},
		{defect: "unknown-run-500", want: []string{contract.CheckUnknownRun}},
		{defect: "validation-shape", want: []string{contract.CheckInvalidCreateBody}, warnings: []string{"field error"}},
		{defect: "validation-no-loc", want: []string{contract.CheckInvalidCreateBody}},
		{defect: "wav-wrong-length", want: []string{contract.CheckResultAudio}},
		{defect: "wav-not-wav", want: []string{contract.CheckResultAudio}},
		{defect: "file-url-key", want: []string{contract.CheckResultConforms, contract.CheckResultFileURL}, warnings: []string{"field output_url"}},
		{defect: "file-url-other-bytes", want: []string{contract.CheckResultFileURL}},
		{defect: "bulk-missing-run", want: []string{contract.CheckBulkAnswers}},
		{defect: "terminal-regress", want: []string{contract.CheckTerminalIsFinal}},
		{defect: "pending-forever", want: []string{contract.CheckPendingEnds}},
		{defect: "task-id-integer", want: []string{contract.CheckCreateConforms, contract.CheckTaskCreated}},
		{defect: "created-task-unknown", want: []string{contract.CheckTaskCreated}},
		{defect: "json-as-text", want: []string{contract.CheckStatusConforms}},
	}
	for _, tt := range tests {
		name := tt.defect
		if name == "" {
			name = "faithful"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeAPI(tt.defect, key, "https://storage.example.org")
			mt := httpmock.NewMockTransport()
			mt.RegisterNoResponder(serveHandler(fake))
			r, err := contract.Verify(t.Context(), contract.Target{
				BaseURL:      cambmock.LiveBaseURL,
				APIKey:       key,
				Kinds:        onlySound(),
				Client:       &http.Client{Transport: mt},
				AllowSpend:   true,
				PendingBound: time.Minute,
				Sleep:        func(context.Context, time.Duration) error { return nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.FailedChecks()); diff != "" {
				for _, res := range r.Results {
					for _, f := range res.Failures {
						t.Logf("%s: %s\n  %s", res.Name, f.Problem, f.Response)
					}
				}
				t.Errorf("Verify(%s) failed checks mismatch (-want +got):\n%s", name, diff)
			}
			var warnings []string
			for _, w := range r.Drift.Warnings {
				warnings = append(warnings, w.Kind+" "+w.Value)
			}
			if diff := cmp.Diff(tt.warnings, warnings); diff != "" {
				t.Errorf("Verify(%s) warnings mismatch (-want +got):\n%s", name, diff)
			}
			// The key never reaches the report.
			var b strings.Builder
			r.WriteJSON(&b)
			r.WriteText(&b)
			if strings.Contains(b.String(), key) {
				t.Errorf("the report holds the API key")
			}
		})
	}
}
