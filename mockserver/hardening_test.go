package mockserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// Probes of the hardening issue: each makes the request an attacker or a
// careless user would, over real HTTP.

// TestAdminGuard: a web page on another origin cannot drive the admin API,
// writes must be JSON, a DNS-rebound host name is refused, and with a
// token every request but health must carry it.
func TestAdminGuard(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	ts.CreateTask(mockserver.NewTask{ID: "kept"})
	port := strings.TrimPrefix(ts.URL, "http://127.0.0.1:")
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		host    string
		body    string
		code    int
		contain string
	}{
		{"text/plain reset from another origin", "POST", "/__admin/reset", map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, "", "{}", 403, "refuses requests from other origins"},
		{"form post from another origin", "POST", "/__admin/tasks", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, "", "task_id=x", 403, "other origins"},
		{"text/plain reset without an origin", "POST", "/__admin/reset", map[string]string{"Content-Type": "text/plain"}, "", "{}", 415, "takes writes only as JSON"},
		{"form clock move", "POST", "/__admin/clock", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", "by=1h", 415, "takes writes only as JSON"},
		{"cross-site fetch", "GET", "/__admin/tasks", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "", 403, "cross-site"},
		{"rebound host name", "GET", "/__admin/tasks", nil, "rebind.evil.example:" + port, "", 403, "only clients on this machine"},
		{"same origin is fine", "GET", "/__admin/tasks", map[string]string{"Origin": ts.URL}, "", "", 200, `"total": 1`},
		{"localhost is fine", "GET", "/__admin/tasks", nil, "localhost:" + port, "", 200, `"total": 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.contain) {
				t.Errorf("%s %s: %d %s; want %d holding %q", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.contain)
			}
		})
	}
	if _, err := ts.Server().Task("kept"); err != nil {
		t.Errorf("a refused reset reset the server: %v", err)
	}

	const token = "0123456789abcdef0123"
	tok := mockservertest.NewTestServer(t, mockserver.WithAdminToken(token))
	get := func(path string, h map[string]string) int {
		req, _ := http.NewRequest("GET", tok.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := tok.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path   string
		header map[string]string
		want   int
	}{
		{"/__admin/tasks", nil, 401},
		{"/__admin/tasks", map[string]string{"Authorization": "Bearer wrong-token-0000000000"}, 401},
		{"/__admin/tasks", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"/__admin/tasks", map[string]string{"X-Cambmock-Admin-Token": token}, 200},
		{"/__admin/health", nil, 200},
	} {
		if got := get(tc.path, tc.header); got != tc.want {
			t.Errorf("with a token, GET %s %v: %d, want %d", tc.path, tc.header, got, tc.want)
		}
	}
}

// TestQueryRedactedByDecodedName: a key sent in the query under any
// spelling is redacted in the journal.
func TestQueryRedactedByDecodedName(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	for _, q := range []string{"x%2Dapi%2Dkey=sekrit1", "X-API-KEY=sekrit2", "api%5Fkey=sekrit3", "%74oken=sekrit4", "bad%zzname=sekrit5"} {
		req, _ := http.NewRequest("GET", ts.BaseURL()+"/text-to-sound/nope?"+q, nil)
		req.Header.Set("X-Api-Key", "k")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a := mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/__admin/requests"})
	if strings.Contains(string(a.Body), "sekrit") {
		t.Errorf("GET /__admin/requests shows a secret from the query:\n%s", a.Body)
	}
}

// TestLargeBodyWithoutExpect: a client that sends 20 MB without waiting for
// 100-continue reads the 413 the server answered, not a reset.
func TestLargeBodyWithoutExpect(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 20 << 20
	fmt.Fprintf(conn, "POST /apis/text-to-sound HTTP/1.1\r\nHost: %s\r\nX-Api-Key: k\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", strings.TrimPrefix(ts.URL, "http://"), size)
	errs := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := conn.Write(chunk); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to a 20 MB body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), `"detail":"Request body too large`) {
		t.Errorf("answer to a 20 MB body: %d %s; want the 413 JSON", resp.StatusCode, b)
	}
	if err := <-errs; err != nil {
		t.Errorf("sending the body failed: %v; the server should read it after answering", err)
	}
}

// TestWaitTasksIsCapped: the long poll for tasks answers a page, not every
// task.
func TestWaitTasksIsCapped(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	for range 150 {
		ts.CreateTask(mockserver.NewTask{})
	}
	var page struct {
		Total int               `json:"total"`
		Tasks []json.RawMessage `json:"tasks"`
	}
	a := mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/__admin/wait?tasks=1&timeout=1s"})
	if err := json.Unmarshal(a.Body, &page); err != nil || page.Total != 150 || len(page.Tasks) != 100 {
		t.Errorf("wait?tasks=1 with 150 tasks: total %d, %d listed (%v); want 150 and a page of 100", page.Total, len(page.Tasks), err)
	}
	a = mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/__admin/wait?tasks=1&limit=5"})
	if err := json.Unmarshal(a.Body, &page); err != nil || len(page.Tasks) != 5 {
		t.Errorf("wait?tasks=1&limit=5: %d listed (%v)", len(page.Tasks), err)
	}
}

// TestWaitersOfOtherTasksSleep: thousands of waiters on one task are not
// woken by the polls of another.
func TestWaitersOfOtherTasksSleep(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	watched := ts.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	busy := ts.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	const waiters = 5000
	for range waiters {
		wg.Go(func() { watched.WaitForPolls(ctx, 1) })
	}
	for deadline := time.Now().Add(30 * time.Second); ts.Server().Wakeups() < waiters; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("after 30 s, %d waiters have checked their task %d times; want at least one check each", waiters, ts.Server().Wakeups())
		}
	}
	before := ts.Server().Wakeups()
	for range 100 {
		if _, err := pollTask(t.Context(), ts.Client(), ts.URL, busy.ID(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if after := ts.Server().Wakeups(); after != before {
		t.Errorf("100 polls of another task woke the %d waiters of this one %d times", waiters, after-before)
	}
	cancel()
	wg.Wait()
}

// TestTaskExpiry: a task is forgotten its TTL after its last request, on
// the scenario clock, and the admin API shows when.
func TestTaskExpiry(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t, mockserver.WithTaskTTL(time.Minute))
	task := ts.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	if info := task.Info(); info.ExpiresAt == nil || !info.ExpiresAt.Equal(mockservertest.Start.Add(time.Minute)) {
		t.Errorf("expires_at = %v, want a minute after creation", info.ExpiresAt)
	}
	ts.Advance(50 * time.Second)
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, task.ID(), 10*time.Second); err != nil || s.Status != "PENDING" {
		t.Fatalf("poll within the TTL: %+v %v", s, err)
	}
	ts.Advance(50 * time.Second) // 50s after the last request: kept
	if _, err := ts.Server().Task(task.ID()); err != nil {
		t.Errorf("a task 50s after its last request was forgotten: %v", err)
	}
	ts.Advance(11 * time.Second)
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, task.ID(), 10*time.Second); err != nil || s.Code != 404 {
		t.Errorf("poll after the TTL: %+v %v; want 404", s, err)
	}
	if n := len(ts.Server().Tasks()); n != 0 {
		t.Errorf("the server still lists %d tasks", n)
	}
	// A full server makes room by forgetting expired tasks.
	full := mockservertest.NewTestServer(t, mockserver.WithTaskTTL(time.Minute), mockserver.WithMaxTasks(2))
	full.CreateTask(mockserver.NewTask{})
	full.CreateTask(mockserver.NewTask{})
	if _, err := full.Server().CreateTask(mockserver.NewTask{}); err == nil {
		t.Error("a third task fitted in a server of two")
	}
	full.Advance(2 * time.Minute)
	if _, err := full.Server().CreateTask(mockserver.NewTask{}); err != nil {
		t.Errorf("a full server with expired tasks refused a new one: %v", err)
	}
}

// TestScaledClockSaturates: a clock played a million times too fast does
// not wrap around into the past.
func TestScaledClockSaturates(t *testing.T) {
	t.Parallel()
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := scenarios.NewManualClock(origin)
	prev := origin
	for range 20 {
		base.Advance(24 * time.Hour)
		now := mockserver.ScaledNow(base, origin, 1e6)
		if now.Before(prev) {
			t.Fatalf("the scaled clock went back from %v to %v", prev, now)
		}
		prev = now
	}
	if later := mockserver.ScaledNow(base, origin, 1e6); prev.Year() < 2100 || !later.Equal(prev) {
		t.Errorf("after 20 days at a million times, the clock reads %v, then %v; want it saturated, more than 70 years on", prev, later)
	}
}
