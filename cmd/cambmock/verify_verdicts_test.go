package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// TestVerifyRedirect points verify at a target that answers every request
// with a redirect to another host: the key never reaches that host, the
// report says why each check failed, and verify exits 1.
func TestVerifyRedirect(t *testing.T) {
	t.Parallel()
	const key = "sk-cambmock-redirect-5e1f0a"
	var mu sync.Mutex
	reached, withKey := 0, 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reached++
		if r.Header.Get("X-Api-Key") != "" {
			withKey++
		}
	}))
	t.Cleanup(other.Close)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(target.Close)

	r := runCmd(t, nil, "verify", "--base-url", target.URL+"/apis", "--api-key", key, "--allow-spend")
	if r.code != 1 {
		t.Errorf("cambmock verify against a redirecting target: exit %d (%v); want 1\nstdout:\n%s", r.code, r.err, r.stdout)
	}
	failed := resultIDs(reportKinds(t), "auth-missing-key", "auth-wrong-key", "unknown-task", "unknown-run", "invalid-create-body", "create-conforms", "task-created")
	want := fmt.Sprintf("verify: %d check(s) failed: %s", len(failed), strings.Join(failed, ", "))
	if r.err == nil || r.err.Error() != want {
		t.Errorf("error %v; want %q", r.err, want)
	}
	for _, path := range []string{"/apis/text-to-sound", "/apis/tts", "/apis/transcribe"} {
		problem := "- the target answered 307 with Location " + other.URL + path + "; openapi.yaml declares no redirect, " +
			"and the suite does not follow it, so the API key never reaches another host"
		if !strings.Contains(r.stdout, problem) {
			t.Errorf("the report does not say %q:\n%s", problem, r.stdout)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if reached != 0 || withKey != 0 {
		t.Errorf("the other host got %d requests, %d with the key; want none", reached, withKey)
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Errorf("verify printed the API key")
	}
}

// TestVerifyStuckRealClock runs verify on the real clock against the
// mock's stuck scenario, on every kind, with a short timeout: the default
// pending bound (60% of it) blames each kind's pending-ends, not its
// status endpoint.
func TestVerifyStuckRealClock(t *testing.T) {
	t.Parallel()
	const key = "sk-cambmock-stuck-77d2"
	ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(key), mockserver.WithClock(scenarios.SystemClock()))
	r := runCmd(t, nil, "verify", "--base-url", ts.BaseURL(), "--api-key", key, "--allow-spend", "--scenario", "stuck", "--timeout", "3s")
	failed := resultIDs(reportKinds(t), "pending-ends")
	if want := fmt.Sprintf("verify: %d check(s) failed: %s", len(failed), strings.Join(failed, ", ")); r.code != 1 || r.err == nil || r.err.Error() != want {
		t.Errorf("cambmock verify --scenario stuck --timeout 3s: exit %d (%v); want 1, failing pending-ends only\nstdout:\n%s", r.code, r.err, r.stdout)
	}
	for _, want := range []string{"PASS  status-conforms", "FAIL  pending-ends", "PASS  dub/status-conforms", "FAIL  dub/pending-ends"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report has no %q:\n%s", want, r.stdout)
		}
	}
	// The bound cuts the third wait short at 1.8s; a busy machine may take
	// a little longer to notice.
	re := regexp.MustCompile(`- task [0-9a-f-]+ stayed PENDING for (1\.[89]|2\.[0-4])s; the bound is 1\.8s \(Target\.PendingBound, --pending-bound\)\n`)
	if !re.MatchString(r.stdout) {
		t.Errorf("the report has no line matching %s:\n%s", re, r.stdout)
	}
}

// TestVerifyCannotRun covers the runs that end in exit status 2 before a
// report: a base URL where no operation of the API answers, and a
// pending bound that is not below the timeout.
func TestVerifyCannotRun(t *testing.T) {
	t.Parallel()
	const key = "sk-cambmock-cannot-run-1c"
	ts := mockservertest.NewTestServer(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "the mock's root as base URL",
			args: []string{"--base-url", ts.URL},
			want: "cannot check the target " + ts.URL + ": no operation of openapi.yaml answers there: every request got 404 or 405 " +
				"(GET /text-to-sound/{task_id} 404, GET /text-to-sound-result/{run_id} 404, POST /text-to-sound 404, and 21 more of the 7 other kinds' operations), " +
				"none the 422, 401 or 403 an API answers; " +
				"the API answers at " + ts.URL + "/apis; give --base-url " + ts.URL + "/apis",
		},
		{
			name: "pending bound at the timeout",
			args: []string{"--base-url", ts.BaseURL(), "--timeout", "3s", "--pending-bound", "3s"},
			want: "cannot check the target: the pending bound 3s (Target.PendingBound, --pending-bound) is not below the timeout 3s (Target.Timeout, --timeout); " +
				"give a bound below the timeout, so a task stuck in PENDING is judged before the run ends",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, nil, append([]string{"verify", "--api-key", key}, tt.args...)...)
			if r.code != 2 || r.err == nil || r.err.Error() != tt.want {
				t.Errorf("cambmock verify %q: exit %d, error:\n%v\nwant exit 2, error:\n%s", tt.args, r.code, r.err, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("cambmock verify wrote a report:\n%s", r.stdout)
			}
			if !strings.HasSuffix(r.stderr, "cambmock: "+tt.want+"\n") {
				t.Errorf("stderr does not end with the error:\n%s", r.stderr)
			}
		})
	}
}
