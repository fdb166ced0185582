package contract_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
)

// TestRedirectNotFollowed runs the suite against targets that redirect API
// requests to another host: the suite follows none, so the other host
// never sees the key, and each redirect fails the check whose request got
// it, saying so.
func TestRedirectNotFollowed(t *testing.T) {
	const key = "sk-redirect-test-7c2d41"
	tests := []struct {
		name   string
		defect string
		want   []string // the checks that fail
		check  string   // one of them, whose failure names the redirect
		path   string   // the path of the Location in that failure
	}{
		{
			name:   "status polls",
			defect: "redirect-polls",
			want:   []string{contract.CheckStatusConforms},
			check:  contract.CheckStatusConforms,
			path:   "/elsewhere/task-1",
		},
		{
			name:   "every request",
			defect: "redirect-all",
			want: []string{contract.CheckAuthMissingKey, contract.CheckAuthWrongKey, contract.CheckUnknownTask, contract.CheckUnknownRun,
				contract.CheckInvalidCreateBody, contract.CheckCreateConforms, contract.CheckTaskCreated},
			check: contract.CheckInvalidCreateBody,
			path:  "/apis/text-to-sound",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other := newOtherHost(t, key, nil)
			fake := newFakeAPI(tt.defect, key, "")
			fake.redirect = other.URL
			client := &http.Client{} // the default policy would follow, sending the key
			r, err := contract.Verify(t.Context(), contract.Target{
				BaseURL:    serveFake(t, fake),
				APIKey:     key,
				Kinds:      onlySound(),
				Client:     client,
				AllowSpend: true,
				Sleep:      noSleep,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.FailedChecks()); diff != "" {
				logReport(t, r)
				t.Errorf("Verify(%s) failed checks mismatch (-want +got):\n%s", tt.defect, diff)
			}
			want := "the target answered 307 with Location " + other.URL + tt.path +
				"; openapi.yaml declares no redirect, and the suite does not follow it, so the API key never reaches another host"
			if got := failures(r, tt.check); !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("%s failures = %q; want one to read %q", tt.check, got, want)
			}
			if n, withKey := other.seen(); n != 0 || withKey != 0 {
				t.Errorf("the other host got %d requests, %d with the key; want none", n, withKey)
			}
			if client.CheckRedirect != nil {
				t.Errorf("Verify changed Target.Client's CheckRedirect; it must work on a copy")
			}
		})
	}
}

// TestFileURLRedirect shows the one request that may redirect: the
// pre-signed file URL, fetched without the key.
func TestFileURLRedirect(t *testing.T) {
	t.Parallel()
	const key = "sk-file-redirect-93ab"
	fake := newFakeAPI("", key, "")
	base := serveFake(t, fake)
	storage := strings.TrimSuffix(base, "/apis")
	other := newOtherHost(t, key, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storage+r.URL.Path, http.StatusFound)
	}))
	fake.fileURL = other.URL
	r, err := contract.Verify(t.Context(), contract.Target{BaseURL: base, APIKey: key, Kinds: onlySound(), AllowSpend: true, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		logReport(t, r)
		t.Errorf("Verify failed %v; want every check to pass", r.FailedChecks())
	}
	if res := r.Result(contract.CheckResultFileURL); res.Outcome != contract.Pass {
		t.Errorf("result-file-url = %s (%s); want pass, through the storage host's redirect", res.Outcome, res.Note)
	}
	if n, withKey := other.seen(); n == 0 || withKey != 0 {
		t.Errorf("the storage host got %d requests, %d with the key; want some, none with the key", n, withKey)
	}
}
