package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser the tests drive: Debian's chromium, found at run time.

// chromiumNames are the commands tried, in order, after $CAMBMOCK_CHROMIUM.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func findChromium() (string, bool) {
	if p := os.Getenv("CAMBMOCK_CHROMIUM"); p != "" {
		return p, true
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, true
		}
	}
	return "", false
}

// startBrowser starts one headless Chromium for a test and its subtests,
// or skips the test when there is none. The flags keep it off every
// network but loopback: no background requests, no component updates, no
// sync, and host names other than 127.0.0.1 resolve to nothing.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, ok := findChromium()
	if !ok {
		t.Skipf("no Chromium to drive (looked for %s on $PATH): install Debian's chromium package (apt-get install -y chromium) or set $CAMBMOCK_CHROMIUM to a Chromium binary", strings.Join(chromiumNames, ", "))
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Logf("Chromium (%s) started in %v", path, time.Since(start).Round(time.Millisecond))
	return ctx
}

// A tab is a page of the browser and what it did: its console errors,
// every request it sent and every server-sent event it read.
type tab struct {
	t      *testing.T
	ctx    context.Context
	origin string // the only origin the page may reach

	mu       sync.Mutex
	problems []string
	urls     []string
	headers  []string
	loaded   []network.RequestID
	streams  map[network.RequestID]bool
	messages []string
}

// openTab opens a new tab of the browser for the page at origin; it
// closes when the test ends.
func openTab(t *testing.T, browser context.Context, origin string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, origin: origin, streams: map[network.RequestID]bool{}}
	if err := chromedp.Listen(ctx, tb.event); err != nil {
		t.Fatal(err)
	}
	return tb
}

// event runs in the tab's loop: it only notes what happened.
func (tb *tab) event(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			tb.problems = append(tb.problems, fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		tb.urls = append(tb.urls, ev.Request.URL)
		h, _ := json.Marshal(ev.Request.Headers)
		tb.headers = append(tb.headers, string(h))
		if ev.Type == network.ResourceTypeEventSource {
			tb.streams[ev.RequestID] = true
		}
	case *network.EventLoadingFinished:
		tb.loaded = append(tb.loaded, ev.RequestID)
	case *network.EventEventSourceMessageReceived:
		tb.messages = append(tb.messages, ev.EventName+": "+ev.Data)
	}
}

// do runs actions, failing the test on an error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.problemsText())
	}
}

// open loads the dashboard at path (under the origin) and waits until it
// has shown its first tasks and requests.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.origin+path))
	tb.wait("the page loaded the admin API", `document.querySelector('[data-live]').dataset.live !== 'offline' && document.querySelector('[data-page-info]') !== null`)
}

// wait waits until the JavaScript expression is true.
func (tb *tab) wait(what, expr string) {
	tb.t.Helper()
	// Generous: CI runs every package's tests at once on two cores.
	ctx, cancel := context.WithTimeout(tb.ctx, 25*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		tb.t.Fatalf("waiting until %s (%s): %v%s", what, expr, err, tb.problemsText())
	}
}

// click clicks the first element the CSS selector finds.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (tb *tab) problemsText() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.problems) == 0 {
		return ""
	}
	return "\nthe page reported:\n  " + strings.Join(tb.problems, "\n  ")
}

// js evaluates an expression in the page.
func js[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// checkClean fails the test if the page logged an error or sent a
// request anywhere but its own server on 127.0.0.1.
func (tb *tab) checkClean() {
	tb.t.Helper()
	if p := tb.problemsText(); p != "" {
		tb.t.Errorf("the page is not clean:%s", p)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.urls) == 0 {
		tb.t.Errorf("the page sent no request at all")
	}
	for _, raw := range tb.urls {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() != "127.0.0.1" || u.Scheme+"://"+u.Host != tb.origin {
			if u != nil && (u.Scheme == "data" || u.Scheme == "about") {
				continue
			}
			tb.t.Errorf("the page sent a request to %s; it may reach only %s", raw, tb.origin)
		}
	}
}

// seen returns everything the page holds and exchanged: its DOM, the URLs
// and headers of its requests, the bodies of its answers and the events
// it read from the stream.
func (tb *tab) seen() string {
	tb.t.Helper()
	var b strings.Builder
	b.WriteString(js[string](tb, `document.documentElement.outerHTML + '\n' + document.body.innerText + '\n' + location.href + '\n' + document.cookie`))
	tb.mu.Lock()
	ids := append([]network.RequestID(nil), tb.loaded...)
	streams := tb.streams
	for _, s := range [][]string{tb.urls, tb.headers, tb.messages} {
		b.WriteString(strings.Join(s, "\n"))
	}
	tb.mu.Unlock()
	for _, id := range ids {
		if streams[id] {
			continue
		}
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		cancel()
		if err == nil {
			b.Write(res.Body)
		}
	}
	return b.String()
}

// cookies returns the browser's cookies for u.
func (tb *tab) cookies(u string) []*network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.t.Fatal(err)
	}
	return res.Cookies
}

// screenshot saves the page as a PNG in the test's temporary folder, and
// also at -screenshot when it is given, and returns its path.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(tb.t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot of the dashboard: %s (%d KB)", path, len(png)/1024)
	return path
}

// set sets the value of the form field the CSS selector finds, as a
// person's typing does: the page hears input and change events.
func (tb *tab) set(sel, value string) {
	tb.t.Helper()
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value)
	if !js[bool](tb, expr) {
		tb.t.Fatalf("no %s to set", sel)
	}
}
