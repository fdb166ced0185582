package contract_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// TestWrongBaseURL gives base URLs where no operation of the API answers:
// every probe of every kind gets 404 or 405, which would pass unknown-task
// and unknown-run for the wrong reason. Verify stops with an error saying
// so, and where the API is when it can find it.
func TestWrongBaseURL(t *testing.T) {
	const key = "sk-base-test-2e77"
	const probes = "no operation of openapi.yaml answers there: every request got 404 or 405 " +
		"(GET /text-to-sound/{task_id} 404, GET /text-to-sound-result/{run_id} 404, POST /text-to-sound 404, and 21 more of the 7 other kinds' operations), " +
		"none the 422, 401 or 403 an API answers"
	const soundProbes = "no operation of openapi.yaml answers there: every request got 404 or 405 " +
		"(GET /text-to-sound/{task_id} 404, GET /text-to-sound-result/{run_id} 404, POST /text-to-sound 404), none the 422, 401 or 403 an API answers"
	tests := []struct {
		name   string
		target func(t *testing.T) string
		kinds  []string
		want   func(base string) string
	}{
		{
			name: "the mock's root",
			target: func(t *testing.T) string {
				return mockservertest.NewTestServer(t).URL
			},
			want: func(base string) string {
				return "cannot check the target " + base + ": " + probes + "; the API answers at " + base + "/apis; give --base-url " + base + "/apis"
			},
		},
		{
			name: "the root of a mock that checks keys",
			target: func(t *testing.T) string {
				return mockservertest.NewTestServer(t, mockserver.WithAPIKeys(key)).URL
			},
			want: func(base string) string {
				return "cannot check the target " + base + ": " + probes + "; the API answers at " + base + "/apis; give --base-url " + base + "/apis"
			},
		},
		{
			name: "the mock's root, text-to-sound alone",
			target: func(t *testing.T) string {
				return mockservertest.NewTestServer(t).URL
			},
			kinds: onlySound(),
			want: func(base string) string {
				return "cannot check the target " + base + ": " + soundProbes + "; the API answers at " + base + "/apis; give --base-url " + base + "/apis"
			},
		},
		{
			name: "a server that answers 404 to everything",
			target: func(t *testing.T) string {
				srv := httptest.NewServer(http.NotFoundHandler())
				t.Cleanup(srv.Close)
				return srv.URL + "/v2"
			},
			want: func(base string) string {
				return "cannot check the target " + base + ": " + probes + "; is --base-url the API's base URL, such as https://client.camb.ai/apis?"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := tt.target(t)
			r, err := contract.Verify(t.Context(), contract.Target{BaseURL: base, APIKey: key, Kinds: tt.kinds, AllowSpend: true, Sleep: noSleep})
			if err == nil {
				logReport(t, r)
				t.Fatalf("Verify(%s) returned a report; want an error", base)
			}
			if want := tt.want(base); err.Error() != want {
				t.Errorf("Verify(%s) error:\n%v\nwant:\n%s", base, err, want)
			}
			if !errors.Is(err, contract.ErrTarget) {
				t.Errorf("Verify(%s) error does not wrap ErrTarget", base)
			}
		})
	}
}
