package contract_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
)

// TestWrongKey runs auth-wrong-key against a cambmock that accepts any
// non-empty key (skip, saying so), one that checks keys (strict), and
// targets that accept any key but are not such a cambmock (fail).
func TestWrongKey(t *testing.T) {
	const key = "sk-auth-test-6a0f"
	mock := func(opts ...mockserver.Option) func(t *testing.T) (string, *fakeAPI) {
		return func(t *testing.T) (string, *fakeAPI) {
			srv, err := mockserver.New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			return hs.URL + "/apis", nil
		}
	}
	fake := func(health string) func(t *testing.T) (string, *fakeAPI) {
		return func(t *testing.T) (string, *fakeAPI) {
			f := newFakeAPI("wrong-key-accepted", key, "")
			f.health = health
			return serveFake(t, f), f
		}
	}
	tests := []struct {
		name    string
		target  func(t *testing.T) (string, *fakeAPI)
		outcome contract.Outcome
		text    string // the note, or the failure's problem
	}{
		{
			name:    "cambmock accepting any key",
			target:  mock(),
			outcome: contract.Skip,
			text: "the target is cambmock accepting any non-empty key (its /__admin/health says auth: any-key), " +
				"so no key is wrong there; start it with --api-key KEY (mockserver.WithAPIKeys in Go) to check keys",
		},
		{
			name:    "cambmock checking keys",
			target:  mock(mockserver.WithAPIKeys(key)),
			outcome: contract.Pass,
			text:    "answered 403",
		},
		{
			name:    "another API accepting any key",
			target:  fake(""),
			outcome: contract.Fail,
			text:    "a request with a key that cannot be valid got 404, not 401 or 403: the target accepts any key",
		},
		{
			name:    "a cambmock that says it checks keys, accepting any",
			target:  fake("keys"),
			outcome: contract.Fail,
			text:    "a request with a key that cannot be valid got 404, not 401 or 403; the target is cambmock, whose /__admin/health says it checks keys, yet it accepted this one",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, fake := tt.target(t)
			r, err := contract.Verify(t.Context(), contract.Target{BaseURL: base, APIKey: key, Kinds: onlySound(), Sleep: noSleep})
			if err != nil {
				t.Fatal(err)
			}
			res := r.Result(contract.CheckAuthWrongKey)
			got := res.Note
			if res.Outcome == contract.Fail {
				got = strings.Join(failures(r, contract.CheckAuthWrongKey), "\n")
			}
			if res.Outcome != tt.outcome || got != tt.text {
				t.Errorf("auth-wrong-key = %s %q; want %s %q", res.Outcome, got, tt.outcome, tt.text)
			}
			var wantFailed []string
			if tt.outcome == contract.Fail {
				wantFailed = []string{contract.CheckAuthWrongKey}
			}
			if diff := cmp.Diff(wantFailed, r.FailedChecks()); diff != "" {
				logReport(t, r)
				t.Errorf("failed checks mismatch (-want +got):\n%s", diff)
			}
			if fake != nil {
				fake.mu.Lock()
				n := fake.healthKeys
				fake.mu.Unlock()
				if n != 0 {
					t.Errorf("the suite sent an API key to /__admin/health %d times; it must send none", n)
				}
			}
		})
	}
}

// TestWrongKeyNoteWithKeyAnyKey uses the key the CI examples use,
// "any-key": the note still reads "auth: any-key", since only what the
// target sent is scrubbed of the key, not the suite's own words.
func TestWrongKeyNoteWithKeyAnyKey(t *testing.T) {
	t.Parallel()
	srv, err := mockserver.New()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	r, err := contract.Verify(t.Context(), contract.Target{BaseURL: hs.URL + "/apis", APIKey: "any-key", Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Result(contract.CheckAuthWrongKey); res.Outcome != contract.Skip || !strings.Contains(res.Note, "says auth: any-key)") {
		t.Errorf("auth-wrong-key = %s %q; want a skip whose note quotes auth: any-key", res.Outcome, res.Note)
	}
}
