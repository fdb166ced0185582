package mockserver_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// liveRoot is the live API's URL without /apis, which Intercept serves.
var liveRoot = strings.TrimSuffix(cambmock.LiveBaseURL, "/apis")

// intercepted returns the target of a server Intercept wires into client.
func intercepted(t *testing.T, client *http.Client, opts ...mockserver.Option) target {
	srv := mockservertest.Intercept(t, client, opts...)
	clock, ok := srv.Clock().(*scenarios.ManualClock)
	if !ok {
		t.Fatalf("Intercept's server runs on a %T, want a *scenarios.ManualClock", srv.Clock())
	}
	advance := func(d time.Duration) {
		if _, err := clock.Advance(d); err != nil {
			t.Fatal(err)
		}
	}
	return target{root: liveRoot, client: client, srv: srv, advance: advance}
}

// TestIntercept plays built-in scenarios through a client whose requests
// to https://client.camb.ai are served in process: the same sequences as
// on a port (TestScenarios), with every fault seen as the error a client
// sees on a socket.
func TestIntercept(t *testing.T) {
	first := mockservertest.NewTestServer(t)
	spec := first.Server().Spec()
	for _, name := range []string{
		"success", "slow-success", "create-rate-limited", "rate-limited", "server-error", "error",
		"connection-reset", "empty-response", "hang", "result-truncated", "malformed-json", "drift-html-error",
	} {
		sc := scenarioNamed(t, first.Server(), name)
		t.Run(name, func(t *testing.T) {
			playCase(t, intercepted(t, &http.Client{}, mockserver.WithSpec(spec)), sc, e2eCases[name])
		})
	}
}

// scenarioNamed returns the scenario of srv with the given name.
func scenarioNamed(t *testing.T, srv *mockserver.Server, name string) *scenarios.Scenario {
	t.Helper()
	for _, sc := range srv.Scenarios() {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %q", name)
	return nil
}

func TestInterceptRestoresTransport(t *testing.T) {
	own := &http.Transport{}
	tests := []struct {
		name      string
		transport http.RoundTripper
	}{
		{name: "its own transport", transport: own},
		{name: "the default transport (nil)", transport: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := &http.Client{Transport: tc.transport}
			t.Run("intercepted", func(t *testing.T) {
				intercepted(t, client)
				if client.Transport == tc.transport {
					t.Fatalf("Intercept left the client's transport as it was")
				}
				createTask(t, client, liveRoot, "success")
			})
			if client.Transport != tc.transport {
				t.Errorf("after the test, client.Transport = %T %p, want %T %p", client.Transport, client.Transport, tc.transport, tc.transport)
			}
		})
	}
}

func TestInterceptOtherHosts(t *testing.T) {
	client := &http.Client{}
	intercepted(t, client)
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "another host", url: "https://example.com/apis/text-to-sound/x",
			want: "cambmock intercepts only https://client.camb.ai; this client asked for https://example.com"},
		{name: "plain http", url: "http://client.camb.ai/apis/text-to-sound/x",
			want: "cambmock intercepts only https://client.camb.ai; this client asked for http://client.camb.ai"},
		{name: "another port", url: "https://client.camb.ai:8443/apis/text-to-sound/x",
			want: "cambmock intercepts only https://client.camb.ai; this client asked for https://client.camb.ai:8443"},
		{name: "a subdomain", url: "https://api.client.camb.ai/apis/text-to-sound/x",
			want: "cambmock intercepts only https://client.camb.ai; this client asked for https://api.client.camb.ai"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Get(tc.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s: got %s, want an error", tc.url, resp.Status)
			}
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("GET %s: error %T, want a *url.Error", tc.url, err)
			}
			if got := ue.Err.Error(); got != tc.want {
				t.Errorf("GET %s: error mismatch:\n got: %s\nwant: %s", tc.url, got, tc.want)
			}
		})
	}
}
