package dashboard_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

var screenshotTo = flag.String("screenshot", "", "also save the screenshot of the dashboard at this `path` (the README's is screenshot.png in this folder)")

// apiKey is the key the tests' clients send: recognisable, so that a page
// that showed it would be caught.
const apiKey = "ck-live-7f3a9c2e-SECRET-do-not-show"

// client is a test's API client: one connection per request, so that the
// Go transport never retries a poll whose connection a fault broke.
type client struct {
	t    *testing.T
	ts   *mockservertest.TestServer
	http *http.Client
}

func newClient(t *testing.T, ts *mockservertest.TestServer) *client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, ts: ts, http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

func (c *client) do(method, path, body string, header ...string) (int, []byte, error) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.ts.URL+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// create creates a task over HTTP that plays scenario.
func (c *client) create(scenario string) string {
	c.t.Helper()
	code, b, err := c.do("POST", "/apis/text-to-sound", `{"prompt":"rain on a tin roof","duration":3}`, mockserver.ScenarioHeader, scenario)
	var v struct {
		TaskID string `json:"task_id"`
	}
	if err != nil || code != 200 || json.Unmarshal(b, &v) != nil {
		c.t.Fatalf("create a %s task: %d %s %v", scenario, code, b, err)
	}
	return v.TaskID
}

// poll polls a task once; a fault's broken connection is not an error.
func (c *client) poll(id string) {
	c.t.Helper()
	c.do("GET", "/apis/text-to-sound/"+id, "")
}

// play polls a task at each of the given offsets (seconds after the one
// before), moving the manual clock between them.
func (c *client) play(id string, gaps ...float64) {
	c.t.Helper()
	for _, g := range gaps {
		if g > 0 {
			c.ts.Advance(time.Duration(g * float64(time.Second)))
		}
		c.poll(id)
	}
}

// info reads a task from the admin API.
func info(t *testing.T, ts *mockservertest.TestServer, id string, header ...string) mockserver.TaskInfo {
	t.Helper()
	var ti mockserver.TaskInfo
	getJSON(t, ts, "/__admin/tasks/"+id, &ti, header...)
	return ti
}

func getJSON(t *testing.T, ts *mockservertest.TestServer, path string, v any, header ...string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func pollEvents(ti mockserver.TaskInfo) int {
	n := 0
	for _, e := range ti.History {
		if e.Endpoint == "poll" {
			n++
		}
	}
	return n
}

// checkTask waits until the page shows the task with its status and
// scenario and one timeline mark per poll its history keeps.
func checkTask(t *testing.T, tb *tab, ts *mockservertest.TestServer, id string, header ...string) mockserver.TaskInfo {
	t.Helper()
	ti := info(t, ts, id, header...)
	n := pollEvents(ti)
	sel := fmt.Sprintf(`[data-task-id=%q]`, id)
	tb.wait(fmt.Sprintf("task %s shows %s, %s and %d poll marks", id, ti.Scenario, ti.Status, n), fmt.Sprintf(
		`(() => { const el = document.querySelector(%[1]q); if (!el) return false;
		  const svg = el.querySelector('svg[data-timeline=%[2]q]');
		  return el.dataset.status === %[3]q && el.textContent.includes(%[3]q) && el.textContent.includes(%[4]q) &&
		    el.dataset.scenario === %[4]q && !!svg && svg.querySelectorAll('[data-poll]').length === %[5]d &&
		    document.querySelectorAll('svg[data-timeline=%[2]q]').length === 1; })()`,
		sel, id, string(ti.Status), ti.Scenario, n))
	return ti
}

// TestDashboard drives the dashboard in a real headless Chromium, one
// browser for every subtest, each against a mock server of its own.
func TestDashboard(t *testing.T) {
	browser := startBrowser(t)
	began := time.Now()
	defer func() { t.Logf("the browser tests took %v", time.Since(began).Round(time.Millisecond)) }()

	t.Run("tasks, timelines and the journal", func(t *testing.T) { testTasks(t, browser) })
	t.Run("live without a reload", func(t *testing.T) { testLive(t, browser, "/__admin/ui/", "events") })
	t.Run("live by polling", func(t *testing.T) { testLive(t, browser, "/__admin/ui/?live=poll", "polling") })
	t.Run("clock and reset", func(t *testing.T) { testControls(t, browser) })
	t.Run("10,000 tasks", func(t *testing.T) { testMany(t, browser) })
	t.Run("on the proxy", func(t *testing.T) { testProxy(t, browser) })
	t.Run("admin token", func(t *testing.T) { testToken(t, browser) })
}

func testTasks(t *testing.T, browser context.Context) {
	ts := mockservertest.NewTestServer(t)
	c := newClient(t, ts)
	// Tasks of several scenarios, polled well and badly.
	ids := map[string]string{}
	ids["rate-limited"] = c.create("rate-limited")
	c.play(ids["rate-limited"], 0, 0.3, 1.5, 1, 0.4, 1)
	ids["stuck"] = c.create("stuck")
	c.play(ids["stuck"], 0, 3, 3)
	ids["error"] = c.create("error")
	c.play(ids["error"], 0, 2)
	ids["drift"] = c.create("drift-failed-status")
	c.play(ids["drift"], 0, 2, 2, 2)
	ids["reset"] = c.create("connection-reset")
	c.play(ids["reset"], 0, 1.5, 0, 2)
	ids["maintenance"] = c.create("maintenance")
	c.play(ids["maintenance"], 0, 2, 2, 2, 2)
	ids["success"] = c.create("success")
	c.play(ids["success"], 0, 2, 2)
	ti := info(t, ts, ids["success"])
	c.do("GET", fmt.Sprintf("/apis/text-to-sound-result/%d", ti.RunID), "")
	ids["new"] = c.create("slow-success")

	tb := openTab(t, browser, ts.URL)
	tb.open("/__admin/ui/")
	for _, id := range ids {
		checkTask(t, tb, ts, id)
	}
	// Newest first.
	order := js[[]string](tb, `Array.from(document.querySelectorAll('[data-task-id]')).map((e) => e.dataset.taskId)`)
	if len(order) != len(ids) || order[0] != ids["new"] || order[len(order)-1] != ids["rate-limited"] {
		t.Errorf("the tasks in the page's order: %q; want %d, newest (%s) first and the oldest (%s) last", order, len(ids), ids["new"], ids["rate-limited"])
	}

	// The scenario catalogue shows each scenario and what off-spec ones break.
	var scs []struct {
		Name       string   `json:"name"`
		OffSpec    bool     `json:"off_spec"`
		Violations []string `json:"violations"`
	}
	getJSON(t, ts, "/__admin/scenarios", &scs)
	cards := js[int](tb, `document.querySelectorAll('[data-scenario-card]').length`)
	if cards != len(scs) {
		t.Errorf("the catalogue shows %d scenarios; the server has %d", cards, len(scs))
	}
	for _, sc := range scs {
		if sc.OffSpec && len(sc.Violations) > 0 {
			text := js[string](tb, fmt.Sprintf(`document.querySelector('[data-scenario-card=%q]').textContent`, sc.Name))
			if !strings.Contains(text, sc.Violations[0]) {
				t.Errorf("the card of off-spec %s does not say what it breaks (%q): %q", sc.Name, sc.Violations[0], text)
			}
		}
	}

	// The journal shows every API request, newest first; the admin API's
	// own requests only on demand.
	var journal struct {
		Requests []struct {
			Path string `json:"path"`
		} `json:"requests"`
	}
	getJSON(t, ts, "/__admin/requests?limit=1000", &journal)
	api := 0
	for _, r := range journal.Requests {
		if strings.HasPrefix(r.Path, "/apis/") {
			api++
		}
	}
	tb.wait(fmt.Sprintf("the journal shows the %d API requests", api), fmt.Sprintf(`document.querySelectorAll('[data-journal] [data-request]').length === %d`, api))
	tb.set(`[data-jfilter="text"]`, ids["rate-limited"])
	tb.wait("the journal shows the rate-limited task's 6 polls", fmt.Sprintf(
		`document.querySelectorAll('[data-journal] [data-request]').length === 7 && Array.from(document.querySelectorAll('[data-journal] [data-request]')).every((e) => e.textContent.includes(%q))`,
		ids["rate-limited"]))
	tb.set(`[data-jfilter="text"]`, "")

	// Filters: the status filter asks the server.
	tb.set(`[data-filter="status"]`, "SUCCESS")
	tb.wait("only the 4 SUCCESS tasks are listed", `(() => { const els = document.querySelectorAll('[data-task-id]');
		return els.length === 4 && Array.from(els).every((e) => e.dataset.status === 'SUCCESS'); })()`)
	tb.click(`[data-filter-clear]`)
	tb.wait("every task is listed again", fmt.Sprintf(`document.querySelectorAll('[data-task-id]').length === %d`, len(ids)))

	// A task's detail: the full timeline, its marks and the verdict.
	rl := ids["rate-limited"]
	tb.click(fmt.Sprintf(`[data-task-id=%q] .row`, rl))
	tb.wait("the rate-limited task's full timeline", fmt.Sprintf(`(() => { const svg = document.querySelector('[data-task-id=%[1]q] svg.big[data-timeline=%[1]q]');
		return !!svg && svg.querySelectorAll('[data-poll]').length === 6 && document.querySelectorAll('svg[data-timeline=%[1]q]').length === 1 &&
		  svg.querySelectorAll('[data-step]').length === 3 && svg.querySelectorAll('[data-retry-after]').length === 2 &&
		  svg.querySelector('[data-retry-after][data-early="true"]') !== null &&
		  svg.querySelector('[data-poll][data-marks~="retry-after"]') !== null &&
		  svg.querySelector('[data-poll][data-marks~="after-terminal"]') !== null; })()`, rl))
	verdict := js[string](tb, fmt.Sprintf(`document.querySelector('[data-task-id=%q] .verdicts').textContent`, rl))
	for _, want := range []string{"retry-after", "poll-interval", "after-terminal"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("the rate-limited task's verdict does not name %s: %q", want, verdict)
		}
	}
	tb.do("show the whole task list", chromedp.EmulateViewport(1280, 1120), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	tb.wait("the timeline is drawn to the new width", `!document.querySelector('.task.fresh')`)
	path := tb.screenshot("dashboard")
	if *screenshotTo != "" {
		b, _ := os.ReadFile(path)
		if err := os.WriteFile(*screenshotTo, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("saved the screenshot at %s", *screenshotTo)
	}

	// No key anywhere: not in the DOM, not in what the page exchanged.
	if seen := tb.seen(); strings.Contains(seen, apiKey) || strings.Contains(seen, "SECRET") {
		t.Errorf("the page holds the API key the clients sent")
	} else if !strings.Contains(seen, "[redacted]") {
		t.Errorf("the journal does not show that a key was sent (redacted)")
	}
	tb.checkClean()
}

func testLive(t *testing.T, browser context.Context, page, mode string) {
	ts := mockservertest.NewTestServer(t)
	c := newClient(t, ts)
	tb := openTab(t, browser, ts.URL)
	tb.open(page)
	tb.wait("the page is live by "+mode, fmt.Sprintf(`document.querySelector('[data-live]').dataset.live === %q`, mode))
	tb.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
	if n := js[int](tb, `document.querySelectorAll('[data-task-id]').length`); n != 0 {
		t.Fatalf("a new server's page lists %d tasks", n)
	}
	id := c.create("success")
	checkTask(t, tb, ts, id)
	c.play(id, 0, 2, 2)
	checkTask(t, tb, ts, id)
	tb.wait("the journal shows the create and the 3 polls", `document.querySelectorAll('[data-journal] [data-request]').length === 4`)
	// Open it: the full timeline follows new polls too.
	tb.click(fmt.Sprintf(`[data-task-id=%q] .row`, id))
	c.play(id, 2)
	tb.wait("the open timeline shows the 4th poll", fmt.Sprintf(`document.querySelectorAll('svg.big[data-timeline=%q] [data-poll]').length === 4`, id))
	if !js[bool](tb, `window.__notReloaded === true`) {
		t.Errorf("the page was reloaded")
	}
	tb.checkClean()
}

func testControls(t *testing.T, browser context.Context) {
	ts := mockservertest.NewTestServer(t)
	c := newClient(t, ts)
	id := c.create("slow-success") // PENDING for 10s, then SUCCESS
	c.poll(id)
	tb := openTab(t, browser, ts.URL)
	tb.open("/__admin/ui/")
	checkTask(t, tb, ts, id)

	clock := func() time.Time {
		var v struct {
			Now time.Time `json:"now"`
		}
		getJSON(t, ts, "/__admin/clock", &v)
		return v.Now
	}
	start := clock()
	tb.click(`[data-action="advance"][data-by="5s"]`)
	tb.wait("the page shows the clock 5s on", fmt.Sprintf(`document.querySelector('[data-clock]').textContent.includes(%q)`, start.Add(5*time.Second).UTC().Format("15:04:05")))
	if got := clock().Sub(start); got != 5*time.Second {
		t.Errorf("after +5s the clock moved %v", got)
	}
	tb.set(`[data-input="advance-by"]`, "1m30s")
	tb.click(`[data-action="advance"]:not([data-by])`)
	tb.wait("the page shows the clock 1m35s on", fmt.Sprintf(`document.querySelector('[data-clock]').textContent.includes(%q)`, start.Add(95*time.Second).UTC().Format("15:04:05")))
	if got := clock().Sub(start); got != 95*time.Second {
		t.Errorf("after +5s and 1m30s the clock moved %v", got)
	}
	// A bad duration is refused in the page, without a request.
	tb.set(`[data-input="advance-by"]`, "soon")
	tb.click(`[data-action="advance"]:not([data-by])`)
	tb.wait("the page says the duration is bad", `!document.querySelector('[data-error]').hidden && document.querySelector('[data-input="advance-by"]').classList.contains('bad')`)
	if got := clock().Sub(start); got != 95*time.Second {
		t.Errorf("a bad duration moved the clock: %v", got)
	}
	// The task's age follows the clock.
	tb.wait("the task is 1m35s old", fmt.Sprintf(`document.querySelector('[data-task-id=%q] [data-age]').textContent === '1m35s'`, id))

	tb.click(`[data-action="reset"]`)
	tb.wait("the task list is empty", `document.querySelectorAll('[data-task-id]').length === 0 && !document.querySelector('[data-tasks-empty]').hidden`)
	var list struct {
		Total int `json:"total"`
	}
	getJSON(t, ts, "/__admin/tasks", &list)
	if list.Total != 0 {
		t.Errorf("after the reset button the server holds %d tasks", list.Total)
	}
	tb.wait("the journal is empty", `document.querySelectorAll('[data-journal] [data-request]').length === 0`)
	tb.checkClean()
}

func testToken(t *testing.T, browser context.Context) {
	const token = "tok-3b1f0c9a8e7d6c5b"
	ts := mockservertest.NewTestServer(t, mockserver.WithAdminToken(token))
	c := newClient(t, ts)
	id := c.create("success")
	c.play(id, 0, 2)

	// Without the token the admin API and the page refuse.
	for _, path := range []string{"/__admin/tasks", "/__admin/ui/", "/__admin/events", "/__admin/ui/?token=wrong-token-0000000"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, resp.StatusCode)
		}
	}

	tb := openTab(t, browser, ts.URL)
	tb.open("/__admin/ui/?token=" + token)
	if loc := js[string](tb, `location.href`); loc != ts.URL+"/__admin/ui/" {
		t.Errorf("after ?token= the page is at %s, want %s/__admin/ui/", loc, ts.URL)
	}
	checkTask(t, tb, ts, id, "Authorization", "Bearer "+token)
	later := c.create("rate-limited")
	c.play(later, 0)
	checkTask(t, tb, ts, later, "Authorization", "Bearer "+token)

	var cookie *network.Cookie
	for _, ck := range tb.cookies(ts.URL + "/__admin/ui/") {
		if ck.Name == adminguard.CookieName {
			cookie = ck
		}
	}
	switch {
	case cookie == nil:
		t.Errorf("no %s cookie after ?token=", adminguard.CookieName)
	case !cookie.HTTPOnly || cookie.SameSite != network.CookieSameSiteStrict || cookie.Path != "/__admin/":
		t.Errorf("the cookie: HttpOnly %v, SameSite %q, Path %q; want HttpOnly, Strict, /__admin/", cookie.HTTPOnly, cookie.SameSite, cookie.Path)
	}
	if !js[bool](tb, `!document.cookie.includes('cambmock_admin')`) {
		t.Errorf("the page's script can read the admin cookie")
	}
	dom := js[string](tb, `document.documentElement.outerHTML`)
	if strings.Contains(dom, token) || strings.Contains(dom, apiKey) {
		t.Errorf("the page shows the admin token or the API key")
	}
	tb.checkClean()
}

// testMany: with 10,000 tasks the page shows one page of them at once,
// pages through the rest and still follows new tasks live. The server
// runs on the real clock, so the clock's controls are off.
func testMany(t *testing.T, browser context.Context) {
	const n = 10000
	ts := mockservertest.NewTestServer(t, mockserver.WithClock(scenarios.SystemClock()))
	for i := range n {
		sc := "success"
		if i%3 == 0 {
			sc = "stuck"
		}
		ts.CreateTask(mockserver.NewTask{Scenario: sc, ID: fmt.Sprintf("bulk-%05d", i)})
	}
	tb := openTab(t, browser, ts.URL)
	start := time.Now()
	tb.open("/__admin/ui/")
	tb.wait("the first page of 10,000 tasks", `document.querySelectorAll('[data-task-id]').length === 50 &&
		document.querySelector('[data-page-info]').textContent === '1–50 of 10,000'`)
	shown := time.Since(start)
	if !js[bool](tb, `Array.from(document.querySelectorAll('[data-action="advance"]')).every((b) => b.disabled) && !document.querySelector('[data-action="reset"]').disabled`) {
		t.Errorf("on the real clock the advance buttons are not all off, or reset is")
	}
	if first := js[string](tb, `document.querySelector('[data-task-id]').dataset.taskId`); first != "bulk-09999" {
		t.Errorf("the first task shown is %s, want the newest, bulk-09999", first)
	}
	tb.click(`[data-page="older"]`)
	tb.wait("the second page", `document.querySelector('[data-task-id]').dataset.taskId === 'bulk-09949' && document.querySelectorAll('[data-task-id]').length === 50`)
	tb.set(`[data-filter="scenario"]`, "stuck")
	tb.wait("the stuck tasks", `document.querySelector('[data-page-info]').textContent === '1–50 of 3,334' &&
		Array.from(document.querySelectorAll('[data-task-id]')).every((e) => e.dataset.scenario === 'stuck')`)
	tb.set(`[data-filter="scenario"]`, "")
	c := newClient(t, ts)
	start = time.Now()
	id := c.create("rate-limited")
	c.play(id, 0)
	checkTask(t, tb, ts, id)
	t.Logf("10,000 tasks: the first page showed in %v; a new task appeared in %v", shown.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	tb.checkClean()
}

// testProxy: the same page on the checking proxy shows the tasks that went
// through it, as the mock behind it served them, and hides what the proxy
// lacks (scenarios, a clock, reset).
func testProxy(t *testing.T, browser context.Context) {
	mock := mockservertest.NewTestServer(t)
	p, err := proxy.New(mock.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	t.Cleanup(p.Close)
	// A client that talks to the proxy; the test moves the mock's clock.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	through := func(method, path, body string, header ...string) (int, []byte) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, ps.URL+path, r)
		req.Header.Set("X-Api-Key", apiKey)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	create := func(scenario string) string {
		t.Helper()
		code, b := through("POST", "/apis/text-to-sound", `{"prompt":"rain","duration":3}`, mockserver.ScenarioHeader, scenario)
		var v struct {
			TaskID string `json:"task_id"`
		}
		if code != 200 || json.Unmarshal(b, &v) != nil {
			t.Fatalf("create through the proxy: %d %s", code, b)
		}
		return v.TaskID
	}
	play := func(id string, gaps ...float64) {
		for _, g := range gaps {
			mock.Advance(time.Duration(g * float64(time.Second)))
			through("GET", "/apis/text-to-sound/"+id, "")
		}
	}
	var tb *tab
	shows := func(id string) {
		t.Helper()
		ti := info(t, mock, id)
		n := pollEvents(ti)
		tb.wait(fmt.Sprintf("task %s shows %s and %d poll marks", id, ti.Status, n), fmt.Sprintf(
			`(() => { const el = document.querySelector('[data-task-id=%[1]q]'); if (!el) return false;
			  return el.dataset.status === %[2]q && el.textContent.includes(%[2]q) &&
			    el.querySelectorAll('svg[data-timeline=%[1]q] [data-poll]').length === %[3]d; })()`, id, string(ti.Status), n))
	}
	first := create("rate-limited")
	play(first, 0, 0.2, 2, 2, 2)

	tb = openTab(t, browser, ps.URL)
	tb.open("/__admin/ui/")
	shows(first)
	if got := js[string](tb, `document.querySelector('[data-service-name]').textContent`); got != "checking proxy" {
		t.Errorf("the page names the server %q, want checking proxy", got)
	}
	for _, sel := range []string{"[data-scenarios-box]", "[data-advance-box]", "[data-reset-box]", "[data-clock-box]"} {
		if !js[bool](tb, fmt.Sprintf(`document.querySelector(%q).hidden`, sel)) {
			t.Errorf("the proxy's page shows %s", sel)
		}
	}
	later := create("error")
	play(later, 0, 2)
	shows(later)
	tb.wait("the journal shows the 9 requests", `document.querySelectorAll('[data-journal] [data-request]').length === 9`)
	tb.click(fmt.Sprintf(`[data-task-id=%q] .row`, first))
	tb.wait("the full timeline and its verdict", fmt.Sprintf(`(() => { const svg = document.querySelector('svg.big[data-timeline=%[1]q]');
		return !!svg && svg.querySelectorAll('[data-poll]').length === 5 && svg.querySelector('[data-poll][data-marks~="poll-interval"]') !== null &&
		  document.querySelector('[data-task-id=%[1]q] .verdicts').textContent.includes('poll-interval'); })()`, first))
	if p := tb.screenshot("proxy"); *screenshotTo != "" {
		b, _ := os.ReadFile(p)
		os.WriteFile(strings.TrimSuffix(*screenshotTo, ".png")+"-proxy.png", b, 0o644)
	}
	if seen := tb.seen(); strings.Contains(seen, apiKey) || strings.Contains(seen, "SECRET") {
		t.Errorf("the proxy's page holds the API key the client sent")
	}
	tb.checkClean()
}
