package mockserver_test

import (
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
)

// TestAdversarial sends what a careless or hostile client might: each gets
// a 4xx JSON answer, never a 5xx or a hang, and the server serves
// correctly afterwards.
func TestAdversarial(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	send := func(method, path, body string, header http.Header) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header = header
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Set("X-Api-Key", "k")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	huge := http.Header{"X-Padding": {strings.Repeat("a", 100<<10)}}
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		code                     int
	}{
		{"huge header", "GET", "/apis/text-to-sound/x", "", huge, 431},
		{"many headers", "GET", "/apis/text-to-sound/x", "", manyHeaders(2000), 431},
		{"broken JSON", "POST", "/apis/text-to-sound", `{"prompt": "a",`, http.Header{"Content-Type": {"application/json"}}, 422},
		{"JSON array", "POST", "/apis/text-to-sound", `[1,2,3]`, http.Header{"Content-Type": {"application/json"}}, 422},
		{"deep JSON", "POST", "/apis/text-to-sound", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), http.Header{"Content-Type": {"application/json"}}, 422},
		{"NUL in prompt", "POST", "/apis/text-to-sound", "{\"prompt\": \"a\\u0000b\", \"duration\": 1e308}", http.Header{"Content-Type": {"application/json"}}, 422},
		{"huge body", "POST", "/apis/text-to-sound-results", strings.Repeat(" ", 2<<20), http.Header{"Content-Type": {"application/json"}}, 413},
		{"encoded slash", "GET", "/apis/text-to-sound/a%2Fb", "", nil, 404},
		{"dot dot", "GET", "/apis/text-to-sound/..%2F..%2Fetc", "", nil, 404},
		{"long id", "GET", "/apis/text-to-sound/" + strings.Repeat("x", 20000), "", nil, 404},
		{"run id overflow", "GET", "/apis/text-to-sound-result/99999999999999999999999", "", nil, 422},
		{"negative run id", "GET", "/apis/text-to-sound-result/-1", "", nil, 404},
	}
	for _, tt := range tests {
		code, ct, body := send(tt.method, tt.path, tt.body, tt.header)
		if code != tt.code || ct != "application/json" || !strings.HasPrefix(body, `{"detail":`) {
			t.Errorf("%s: %d %s %.200s; want %d with a JSON detail", tt.name, code, ct, body, tt.code)
		}
	}
	// The server still works.
	task := ts.CreateTask(mockserver.NewTask{Scenario: "success"})
	if code, _, body := send("GET", "/apis/text-to-sound/"+task.ID(), "", nil); code != 200 || !strings.Contains(body, "PENDING") {
		t.Errorf("a poll after the abuse: %d %s", code, body)
	}
}

func manyHeaders(n int) http.Header {
	h := http.Header{}
	for i := range n {
		h.Set(fmt.Sprintf("X-Header-%d", i), strings.Repeat("v", 30))
	}
	return h
}

// TestThousandConcurrentPolls polls a thousand tasks at once.
func TestThousandConcurrentPolls(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithStrict(false))
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = ts.CreateTask(mockserver.NewTask{Scenario: "stuck"}).ID()
	}
	// A bound, so that a server that holds a poll fails the test, not CI's timeout.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan string, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", ts.BaseURL()+"/text-to-sound/"+id, nil)
			req.Header.Set("X-Api-Key", "k")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "PENDING") {
				errs <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, id := range ids[:10] {
		if info := ts.Task(id).Info(); info.Polls != 1 {
			t.Errorf("task %s: %d polls, want 1", id, info.Polls)
		}
	}
}

// TestSlowClientsDoNotBlock holds connections that send half a request,
// and checks others are still served at once.
func TestSlowClientsDoNotBlock(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	addr := strings.TrimPrefix(ts.URL, "http://")
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /apis/text-to-sound/x HTTP/1.1\r\nHost: %s\r\nX-Api-Key: k\r\n", addr) // never ends
	}
	task := ts.CreateTask(mockserver.NewTask{})
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", ts.BaseURL()+"/text-to-sound/"+task.ID(), nil)
		req.Header.Set("X-Api-Key", "k")
		resp, err := ts.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("poll beside slow clients: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a poll beside 50 slow clients got no answer in 10s")
	}
}
