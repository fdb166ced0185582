package dashboard_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/mockserver/dashboard"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// answer is what the handler answered, as far as the tests compare it.
type answer struct {
	Code     int
	Type     string
	Location string
	CSP      bool
	Has      string // a string the body holds, when the test names one
}

// TestHandler: the page and its files are served from the binary, with a
// Content-Security-Policy that lets the page reach its own server only,
// behind the admin API's guard.
func TestHandler(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		has    string
		want   answer
	}{
		{name: "the page", path: "/__admin/ui/", has: `data-journal`,
			want: answer{Code: 200, Type: "text/html; charset=utf-8", CSP: true, Has: `data-journal`}},
		{name: "its script", path: "/__admin/ui/app.js", has: "EventSource",
			want: answer{Code: 200, Type: "text/javascript; charset=utf-8", CSP: true, Has: "EventSource"}},
		{name: "its style", path: "/__admin/ui/style.css", want: answer{Code: 200, Type: "text/css; charset=utf-8", CSP: true}},
		{name: "its icon", path: "/__admin/ui/favicon.svg", want: answer{Code: 200, Type: "image/svg+xml", CSP: true}},
		{name: "without the slash", path: "/__admin/ui", want: answer{Code: 301, Type: "text/html; charset=utf-8", Location: "/__admin/ui/"}},
		{name: "no such file", path: "/__admin/ui/nope.js", want: answer{Code: 404, Type: "application/json"}},
		{name: "a write", method: "POST", path: "/__admin/ui/", want: answer{Code: 405, Type: "application/json"}},
		{name: "from another origin", path: "/__admin/ui/", header: map[string]string{"Origin": "http://evil.example"},
			want: answer{Code: 403, Type: "application/json"}},
		{name: "a rebound host name", path: "/__admin/ui/", header: map[string]string{"Host": "evil.example"},
			want: answer{Code: 403, Type: "application/json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fetch(t, ts.URL, tt.method, tt.path, tt.header, tt.has)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s %s mismatch (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

// TestHandlerToken: with an admin token the page needs the cookie that
// ?token= sets, and says how to get it.
func TestHandlerToken(t *testing.T) {
	const token = "dash-0123456789abcdef"
	ts := mockservertest.NewTestServer(t, mockserver.WithAdminToken(token))
	got := fetch(t, ts.URL, "GET", "/__admin/ui/", nil, "?token=TOKEN")
	if diff := cmp.Diff(answer{Code: 401, Type: "application/json", Has: "?token=TOKEN"}, got); diff != "" {
		t.Errorf("the page without the token mismatch (-want +got):\n%s", diff)
	}
	got = fetch(t, ts.URL, "GET", "/__admin/ui/?token="+token, nil, "")
	if diff := cmp.Diff(answer{Code: 303, Type: "text/html; charset=utf-8", Location: "/__admin/ui/"}, got); diff != "" {
		t.Errorf("?token= mismatch (-want +got):\n%s", diff)
	}
	cookie := map[string]string{"Cookie": adminguard.CookieName + "=" + token}
	got = fetch(t, ts.URL, "GET", "/__admin/ui/", cookie, "")
	if diff := cmp.Diff(answer{Code: 200, Type: "text/html; charset=utf-8", CSP: true}, got); diff != "" {
		t.Errorf("the page with the cookie mismatch (-want +got):\n%s", diff)
	}
	got = fetch(t, ts.URL, "GET", "/__admin/tasks", cookie, "")
	if got.Code != 200 {
		t.Errorf("the admin API with the cookie: %d", got.Code)
	}
	if got := fetch(t, ts.URL, "GET", "/__admin/tasks", nil, ""); got.Code != 401 {
		t.Errorf("the admin API without the token: %d", got.Code)
	}
}

// TestNoOutsideResources: the page and its files name no other server:
// nothing is loaded from a CDN or anywhere else.
func TestNoOutsideResources(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	url := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, f := range []string{"", "app.js", "style.css", "favicon.svg"} {
		b := body(t, ts.URL+dashboard.Path+f)
		for _, m := range url.FindAllString(b, -1) {
			if m != "http://www.w3.org" && !strings.HasPrefix(m, "//") {
				t.Errorf("%s names another server: %s", dashboard.Path+f, m)
			}
		}
	}
}

func fetch(t *testing.T, root, method, path string, header map[string]string, has string) answer {
	t.Helper()
	if method == "" {
		method = "GET"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, root+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Code: resp.StatusCode, Type: resp.Header.Get("Content-Type"), Location: resp.Header.Get("Location"),
		CSP: strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'")}
	if has != "" && strings.Contains(string(b), has) {
		a.Has = has
	}
	return a
}

func body(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return string(b)
}
