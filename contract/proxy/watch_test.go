package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

const watchKey = "sk-watch-4d2f9b1e-SECRET"

// watchSetup starts a mock, a proxy in front of it, and returns a
// function that sends requests through the proxy with watchKey.
func watchSetup(t *testing.T, opts ...proxy.Option) (*mockservertest.TestServer, string, func(method, path string, header ...string) (int, []byte)) {
	t.Helper()
	mock := mockservertest.NewTestServer(t)
	_, ps := startProxy(t, mock.BaseURL(), opts...)
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	send := func(method, path string, header ...string) (int, []byte) {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"prompt":"rain on a tin roof","duration":3}`)
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, ps.URL+path, body)
		req.Header.Set("X-Api-Key", watchKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	return mock, ps.URL, send
}

func getWatch(t *testing.T, url string, v any, header ...string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return b
}

type watchedTask struct {
	ID         string        `json:"task_id"`
	Kind       string        `json:"kind"`
	Polls      int           `json:"polls"`
	Results    int           `json:"results"`
	Status     string        `json:"last_status"`
	History    []judge.Event `json:"history"`
	Violations []string      `json:"violations"`
}

// TestWatch: the proxy keeps what its client was answered per task, as
// the mock behind it recorded it, and judges it as the mock does.
func TestWatch(t *testing.T) {
	mock, root, send := watchSetup(t)
	code, b := send("POST", "/apis/text-to-sound", mockserver.ScenarioHeader, "rate-limited")
	var created struct {
		TaskID string `json:"task_id"`
	}
	if json.Unmarshal(b, &created) != nil || code != 200 {
		t.Fatalf("create through the proxy: %d %s", code, b)
	}
	id := created.TaskID
	for _, gap := range []time.Duration{0, 0, 2 * time.Second, 2 * time.Second, 2 * time.Second} {
		mock.Advance(gap)
		send("GET", "/apis/text-to-sound/"+id)
	}
	info := mock.Task(id).Info()
	send("GET", fmt.Sprintf("/apis/text-to-sound-result/%d?x-api-key=%s", info.RunID, watchKey))

	var page struct {
		Total int           `json:"total"`
		Tasks []watchedTask `json:"tasks"`
	}
	getWatch(t, root+"/__admin/tasks?verdicts=true&history=true", &page)
	if page.Total != 1 || len(page.Tasks) != 1 {
		t.Fatalf("GET /__admin/tasks: %+v; want the one task", page)
	}
	got := page.Tasks[0]
	// What the proxy saw is what the mock delivered.
	type seen struct {
		Endpoint   judge.Endpoint
		Code       int
		Status     string
		RetryAfter bool
		Early      bool
	}
	view := func(evs []judge.Event) []seen {
		var out []seen
		for _, e := range evs {
			out = append(out, seen{e.Endpoint, e.Code, string(e.Status), e.RetryAfter != nil, e.Early})
		}
		return out
	}
	if diff := cmp.Diff(view(info.History), view(got.History)[:len(info.History)]); diff != "" {
		t.Errorf("the proxy's history of the task differs from the mock's (-mock +proxy):\n%s", diff)
	}
	if got.ID != id || got.Kind != "text-to-sound" || got.Polls != 5 || got.Results != 1 || got.Status != "SUCCESS" {
		t.Errorf("the task as the proxy shows it: %+v", got)
	}
	mockJudged := mock.Task(id).Discipline(judge.Rules{})
	var names []string
	for _, v := range got.Violations {
		n, _, _ := strings.Cut(v, ":")
		names = append(names, n)
	}
	if diff := cmp.Diff(mockJudged.ViolationNames(), names); diff != "" {
		t.Errorf("the proxy's verdict differs from the mock's (-mock +proxy):\n%s", diff)
	}

	var tl struct {
		Steps      []any            `json:"steps"`
		Events     []judge.Event    `json:"events"`
		Marks      []judge.Mark     `json:"marks"`
		Discipline judge.Discipline `json:"discipline"`
	}
	getWatch(t, root+"/__admin/tasks/"+id+"/timeline", &tl)
	if len(tl.Steps) != 0 || len(tl.Events) != 6 || tl.Discipline.Polls != 5 {
		t.Errorf("the timeline: %d steps, %d events, %d polls; want none, 6, 5", len(tl.Steps), len(tl.Events), tl.Discipline.Polls)
	}
	if len(tl.Marks) == 0 || tl.Marks[0].Violation != "poll-interval" {
		t.Errorf("the timeline's marks: %+v; want the too-fast second poll marked first", tl.Marks)
	}

	var journal struct {
		Total    int `json:"total"`
		Requests []struct {
			Path   string `json:"path"`
			Query  string `json:"query"`
			Task   string `json:"task"`
			APIKey string `json:"api_key"`
		} `json:"requests"`
	}
	raw := getWatch(t, root+"/__admin/requests?limit=1000", &journal)
	if journal.Total != 7 || len(journal.Requests) != 7 || journal.Requests[0].Task != id || journal.Requests[6].Path != "/apis/text-to-sound" {
		t.Errorf("the journal: %+v; want 7 requests of the task, newest first", journal)
	}
	if q := journal.Requests[0].Query; q != "x-api-key=[redacted]" {
		t.Errorf("the result request's query shows as %q; want the key redacted", q)
	}
	for _, path := range []string{"/__admin/tasks?history=true", "/__admin/tasks/" + id, "/__admin/tasks/" + id + "/timeline"} {
		raw = append(raw, getWatch(t, root+path, nil)...)
	}
	if strings.Contains(string(raw), watchKey) || strings.Contains(string(raw), "SECRET") {
		t.Errorf("the proxy's admin answers hold the API key")
	}

	var health struct {
		Service string `json:"service"`
	}
	getWatch(t, root+"/__admin/health", &health)
	if health.Service != "cambmock proxy" {
		t.Errorf("health names the service %q, want cambmock proxy", health.Service)
	}
	getWatch(t, root+"/__admin/ui/", nil)
}

// TestWatchErrors: bad parameters, unknown tasks, other origins and
// writes are refused with a word on why.
func TestWatchErrors(t *testing.T) {
	_, root, _ := watchSetup(t)
	for _, tt := range []struct {
		method, path string
		header       []string
		code         int
	}{
		{"GET", "/__admin/tasks?limit=0", nil, 400},
		{"GET", "/__admin/tasks?offset=-1&history=maybe", nil, 400},
		{"GET", "/__admin/requests?limit=x", nil, 400},
		{"GET", "/__admin/tasks/nope", nil, 404},
		{"GET", "/__admin/tasks/nope/timeline", nil, 404},
		{"GET", "/__admin/tasks/a/b", nil, 404},
		{"POST", "/__admin/tasks", nil, 405},
		{"GET", "/__admin/tasks", []string{"Origin", "http://evil.example"}, 403},
		{"GET", "/__admin/ui/", []string{"Sec-Fetch-Site", "cross-site"}, 403},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, root+tt.path, nil)
		for i := 0; i+1 < len(tt.header); i += 2 {
			req.Header.Set(tt.header[i], tt.header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Detail string `json:"detail"`
		}
		if resp.StatusCode != tt.code || json.Unmarshal(b, &e) != nil || e.Detail == "" {
			t.Errorf("%s %s %v: %d %s; want %d with a detail", tt.method, tt.path, tt.header, resp.StatusCode, b, tt.code)
		}
	}
}

// TestWatchToken: with an admin token the dashboard and its admin API
// need it; ?token= lets a browser in.
func TestWatchToken(t *testing.T) {
	const token = "proxy-token-0123456789"
	_, root, _ := watchSetup(t, proxy.WithAdminToken(token))
	for _, path := range []string{"/__admin/tasks", "/__admin/ui/", "/__admin/events"} {
		resp, err := http.Get(root + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET %s without the token: %d, want 401", path, resp.StatusCode)
		}
	}
	getWatch(t, root+"/__admin/tasks", nil, "Authorization", "Bearer "+token)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(root + "/__admin/ui/?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || len(resp.Cookies()) != 1 || resp.Cookies()[0].Name != adminguard.CookieName {
		t.Errorf("GET /__admin/ui/?token=: %d, cookies %v; want 303 and the cookie", resp.StatusCode, resp.Cookies())
	}
	if _, err := proxy.New("http://127.0.0.1:1/apis", proxy.WithAdminToken("short")); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("a short token: %v; want an error asking for 16 characters", err)
	}
}

// TestWatchEvents: the event stream tells of each request as it passes,
// and ends when the proxy is closed.
func TestWatchEvents(t *testing.T) {
	mock := mockservertest.NewTestServer(t)
	p, ps := startProxy(t, mock.BaseURL())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ps.URL+"/__admin/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /__admin/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no line holding %q", want)
			}
		}
	}
	next("event: hello")
	id := mock.CreateTask(mockserver.NewTask{ID: "through-the-proxy"}).ID()
	r2, _ := http.NewRequest("GET", ps.URL+"/apis/text-to-sound/"+id, nil)
	r2.Header.Set("X-Api-Key", watchKey)
	if resp, err := http.DefaultClient.Do(r2); err == nil {
		resp.Body.Close()
	}
	next(`"path":"/apis/text-to-sound/through-the-proxy"`)
	next(`"task_id":"through-the-proxy"`)
	p.Close()
	for range lines {
	}
}
