package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// echoKey is an API key with characters that URL-encoding, JSON and Go
// quoting each spell their own way.
const echoKey = `sk-echo/Key+1<&>"x`

// spellings returns the ways text may hold secret, each written out by
// hand rather than by the code under test.
func spellings(secret string) []string {
	jsonHTML, _ := json.Marshal(secret)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	enc.Encode(secret)
	return []string{
		secret,
		url.QueryEscape(secret),
		url.PathEscape(secret),
		strings.ToLower(url.QueryEscape(secret)),
		strings.Trim(string(jsonHTML), `"`),
		strings.Trim(strings.TrimSpace(plain.String()), `"`),
		strings.Trim(fmt.Sprintf("%q", secret), `"`),
	}
}

// assertNoSecret fails the test if text, named what, holds secret in
// any spelling.
func assertNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range spellings(s) {
			if strings.Contains(text, form) {
				t.Errorf("%s holds the secret %q as %q:\n%s", what, s, form, text)
				return
			}
		}
	}
}

// decoded returns every string and object key of the JSON values in data
// (one value, or one per line), one a line: the text a reader of the JSON
// sees, whatever escaping it went through.
func decoded(t *testing.T, data string) string {
	t.Helper()
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				out = append(out, k)
				walk(e)
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not JSON: %v\n%s", err, data)
		}
		walk(v)
	}
	return strings.Join(out, "\n")
}

// echoUpstream quotes the request's key in every answer: in a status's
// message and an extra field's name, a 429's Retry-After and body, and a
// 500's body and status line. The task ends in ERROR on the fourth poll.
func echoUpstream(t *testing.T) string {
	t.Helper()
	var polls atomic.Int32
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("X-Api-Key")
		kJSON, _ := json.Marshal(k)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			fmt.Fprint(w, `{"task_id":"task-echo"}`)
			return
		}
		switch polls.Add(1) {
		case 1:
			fmt.Fprintf(w, `{"status":"PENDING","message":"seen key %s, also as %s","extra":{%s:1}}`, strings.Trim(string(kJSON), `"`), url.QueryEscape(k), kJSON)
		case 2:
			h.Set("Retry-After", k)
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"detail":"slow down, %s"}`, strings.Trim(string(kJSON), `"`))
		case 3:
			conn, _, _ := http.NewResponseController(w).Hijack()
			defer conn.Close()
			body := "internal error for key=" + url.QueryEscape(k) + " (" + k + ")"
			fmt.Fprintf(conn, "HTTP/1.1 500 Key %s broke\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", k, len(body), body)
		default:
			fmt.Fprintf(w, `{"status":"ERROR","run_id":null,"exception_reason":%s,"message":{"key":%s}}`, kJSON, kJSON)
		}
	})
	return up.URL + "/apis"
}

// TestEchoedKeyScrubbed records a task from an upstream that quotes the
// client's key everywhere: no file, log line or admin answer holds it.
func TestEchoedKeyScrubbed(t *testing.T) {
	dir := t.TempDir()
	logger, logs := newLogger()
	rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	p, ps := startProxy(t, echoUpstream(t), proxy.WithRecorder(rec), proxy.WithLogger(logger))
	c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
	do := func(method, path, body string) {
		req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
		req.Header.Set("X-Api-Key", echoKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	do("POST", "/text-to-sound", `{"prompt":"rain"}`)
	for range 4 {
		do("GET", "/text-to-sound/task-echo", "")
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("recorded files: %v; want one", files)
	}
	data, _ := os.ReadFile(files[0])
	assertNoSecret(t, "the scenario file", string(data), echoKey)
	loaded, err := scenarios.LoadPath(dir, loadSpec(t))
	if err != nil {
		t.Fatalf("the scrubbed recording does not load: %v\n%s", err, data)
	}
	if len(loaded[0].Poll) != 4 {
		t.Errorf("the recording has %d steps; want the 4 answers:\n%s", len(loaded[0].Poll), data)
	}
	var asJSON bytes.Buffer
	enc := json.NewEncoder(&asJSON)
	enc.SetEscapeHTML(false)
	enc.Encode(loaded)
	assertNoSecret(t, "the loaded scenario", asJSON.String(), echoKey)
	if !strings.Contains(string(data), "[redacted]") {
		t.Errorf("the scenario file does not show where the key was:\n%s", data)
	}

	p.LogSummary()
	assertNoSecret(t, "the logs", logs.String(), echoKey)
	assertNoSecret(t, "the logs, decoded", decoded(t, logs.String()), echoKey)
	for _, path := range []string{"/__admin/violations", "/__admin/health"} {
		resp, body, _ := get(t, ps.Client(), ps.URL+path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		assertNoSecret(t, "GET "+path, string(body), echoKey)
		assertNoSecret(t, "GET "+path+", decoded", decoded(t, string(body)), echoKey)
	}
	if s := p.Summary(); len(s.Findings) == 0 {
		t.Errorf("no findings; the upstream's answers are off-spec")
	}
}

const (
	upUser = "alice-upstream"
	upPass = "pw-s3cret-99"
)

// withUserinfo returns base (http://host/apis) with the test's userinfo.
func withUserinfo(base string) string {
	return strings.Replace(base, "http://", "http://"+upUser+":"+upPass+"@", 1)
}

// TestUpstreamUserinfo gives the proxy an upstream URL with a user name and
// password: it authenticates with them, and shows neither.
func TestUpstreamUserinfo(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"PENDING","run_id":null,"exception_reason":null,"message":null}`)
	})
	logger, logs := newLogger()
	p, ps := startProxy(t, withUserinfo(up.URL+"/apis"), proxy.WithLogger(logger))

	get(t, ps.Client(), ps.URL+"/apis/text-to-sound/t1")
	get(t, ps.Client(), ps.URL+"/apis/text-to-sound/t1", "Authorization", "Bearer the-client's-own")
	basic := (&http.Request{Header: http.Header{}})
	basic.SetBasicAuth(upUser, upPass)
	mu.Lock()
	got := auths
	mu.Unlock()
	if len(got) != 2 || got[0] != basic.Header.Get("Authorization") || got[1] != "Bearer the-client's-own" {
		t.Errorf("the upstream saw Authorization %q; want basic auth from the URL, then the client's own", got)
	}

	resp, body, _ := get(t, ps.Client(), ps.URL+"/__admin/health")
	var health struct{ Upstream string }
	json.Unmarshal(body, &health)
	if want := "http://[redacted]@" + strings.TrimPrefix(up.URL, "http://") + "/apis"; resp.StatusCode != 200 || health.Upstream != want {
		t.Errorf("health = %d %s; want upstream %q", resp.StatusCode, body, want)
	}
	if p.Upstream() != health.Upstream {
		t.Errorf("Upstream() = %q; want %q, as health shows it", p.Upstream(), health.Upstream)
	}
	for _, path := range []string{"/__admin/health", "/__admin/violations", "/nowhere"} {
		_, body, _ := get(t, ps.Client(), ps.URL+path)
		assertNoSecret(t, "GET "+path, decoded(t, string(body)), upUser, upPass)
	}
	assertNoSecret(t, "the logs", decoded(t, logs.String()), upUser, upPass)
}

// TestUpstreamUserinfoFailures: neither the 502 of an upstream that is
// down, its log line, nor New's error for a bad URL shows the userinfo.
func TestUpstreamUserinfoFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	logger, logs := newLogger()
	_, ps := startProxy(t, withUserinfo("http://"+closed+"/apis"), proxy.WithLogger(logger))
	resp, body, _ := get(t, ps.Client(), ps.URL+"/apis/text-to-sound/x")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "cambmock proxy: upstream "+closed+" failed") {
		t.Errorf("down upstream: %d %s; want a 502 naming the host", resp.StatusCode, body)
	}
	assertNoSecret(t, "the 502 body", decoded(t, string(body)), upUser, upPass)
	assertNoSecret(t, "the logs", decoded(t, logs.String()), upUser, upPass)

	for _, bad := range []string{withUserinfo("http:///apis"), withUserinfo("http://host/apis?x=1"), "ftp://" + upUser + ":" + upPass + "@host/apis", upUser + ":" + upPass + "@host/apis"} {
		_, err := proxy.New(bad)
		if err == nil {
			t.Errorf("New(%q) = nil error; want one", bad)
			continue
		}
		assertNoSecret(t, "New's error", err.Error(), upPass)
	}
}

// TestRecordingUpstreamUserinfo records a task from an upstream URL with
// userinfo: the file names the upstream without it.
func TestRecordingUpstreamUserinfo(t *testing.T) {
	up := mockservertest.NewTestServer(t)
	dir := t.TempDir()
	source := withUserinfo(up.BaseURL())
	rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	_, ps := startProxy(t, source, proxy.WithRecorder(rec))
	c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
	c.flow("success", func() {})
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("recorded files: %v", files)
	}
	data, _ := os.ReadFile(files[0])
	assertNoSecret(t, "the scenario file", string(data), upUser, upPass)
	if !strings.Contains(string(data), "http://[redacted]@127.0.0.1:") {
		t.Errorf("the scenario file does not name the upstream:\n%s", data)
	}
}
