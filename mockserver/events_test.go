package mockserver_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// TestAdminEvents: the event stream tells of a task created, each poll it
// is answered, a clock move and a reset, as they happen.
func TestAdminEvents(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/__admin/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /__admin/events: %d %s", resp.StatusCode, ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(want string) string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended before %q", want)
				}
				if strings.HasPrefix(l, "data: ") && strings.Contains(l, want) {
					return l
				}
			case <-ctx.Done():
				t.Fatalf("no event holding %q", want)
			}
		}
	}
	next("{}") // hello
	task := ts.CreateTask(mockserver.NewTask{Scenario: "success", ID: "watched"})
	next(`"task_id":"watched","kind":"text-to-sound","scenario":"success"`)
	pollStatusOf(t, ts, task.ID())
	next(`"path":"/apis/text-to-sound/watched"`)
	next(`"task_id":"watched","kind":"text-to-sound","scenario":"success","endpoint":"poll","code":200,"status":"PENDING","step":1`)
	post(t, ts, "/__admin/clock", `{"by":"2s"}`)
	next(`"now":"2026-01-01T00:00:02Z"`)
	post(t, ts, "/__admin/reset", ``)
	next(`{}`)
}

func pollStatusOf(t *testing.T, ts *mockservertest.TestServer, id string) {
	t.Helper()
	if _, err := pollTask(t.Context(), ts.Client(), ts.URL, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, ts *mockservertest.TestServer, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}
