package contract_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cambmock/cambmock/contract"
)

// serveFake serves fake over real HTTP on 127.0.0.1 for the test, its file
// URLs pointing at itself, and returns its base URL.
func serveFake(t *testing.T, fake *fakeAPI) string {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	if fake.fileURL == "" {
		fake.fileURL = srv.URL
	}
	return srv.URL + "/apis"
}

// otherHost is a second server, another host as far as a client can tell,
// that records what reaches it.
type otherHost struct {
	URL string

	mu       sync.Mutex
	requests int
	withKey  int // requests that carried x-api-key, or the key anywhere in a header
}

func newOtherHost(t *testing.T, key string, h http.Handler) *otherHost {
	t.Helper()
	o := &otherHost{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests++
		carried := r.Header.Get("X-Api-Key") != ""
		for _, vs := range r.Header {
			for _, v := range vs {
				carried = carried || strings.Contains(v, key)
			}
		}
		if carried || strings.Contains(r.URL.String(), key) {
			o.withKey++
		}
		o.mu.Unlock()
		if h != nil {
			h.ServeHTTP(w, r)
			return
		}
		fakeJSON(w, http.StatusOK, map[string]any{"status": "SUCCESS", "run_id": fakeRunID})
	}))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

func (o *otherHost) seen() (requests, withKey int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests, o.withKey
}

// onlySound is a Target.Kinds of text-to-sound alone: what the fake API
// serves, as the live API's text-to-sound answers are shaped.
func onlySound() []string { return []string{"text-to-sound"} }

// noSleep is a Target.Sleep that does not wait: the suite counts the time
// as passed.
func noSleep(context.Context, time.Duration) error { return nil }

// failures returns the problems of a check's failures.
func failures(r *contract.Report, check string) []string {
	var out []string
	if res := r.Result(check); res != nil {
		for _, f := range res.Failures {
			out = append(out, f.Problem)
		}
	}
	return out
}

// logReport logs what failed, for a test that found the wrong verdicts.
func logReport(t *testing.T, r *contract.Report) {
	t.Helper()
	var b strings.Builder
	r.WriteText(&b)
	t.Log(b.String())
}
