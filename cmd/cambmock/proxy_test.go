package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// proxying is a run of cambmock proxy or record in a goroutine.
type proxying struct {
	serving
}

// startProxyCmd runs "cambmock name args..." (name is proxy or record)
// with JSON logs until [serving.stop] or the end of the test, and learns
// its address from the "cambmock NAME listening" log line.
func startProxyCmd(t *testing.T, name string, args ...string) *proxying {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &proxying{serving{
		logs:   &syncBuffer{},
		client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		cancel: cancel,
		done:   make(chan error, 1),
	}}
	args = append([]string{name, "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)
	go func() { p.done <- run(ctx, args, io.Discard, p.logs, getenv(nil)) }()
	t.Cleanup(func() {
		p.client.CloseIdleConnections()
		if !p.ended {
			cancel()
			<-p.done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for p.url == "" {
		for _, l := range logLines(t, p.logs.String()) {
			if l["msg"] == "cambmock "+name+" listening" {
				p.url = strings.TrimSuffix(l["base_url"], "/apis")
			}
		}
		select {
		case err := <-p.done:
			p.ended = true
			t.Fatalf("cambmock %q ended at start: %v\nlogs:\n%s", args, err, p.logs)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cambmock %q logged no listening line in 5s; logs:\n%s", args, p.logs)
		}
	}
	return p
}

const (
	proxyKey = "sk-cambmock-proxy-test-7d1f"
	upUser   = "alice-upstream"
	upPass   = "pw-s3cret-99"
)

// withUserinfo returns base (http://host/apis) with the test's userinfo.
func withUserinfo(base string) string {
	return strings.Replace(base, "http://", "http://"+upUser+":"+upPass+"@", 1)
}

// assertNoUserinfo fails the test if text, named what, shows the
// upstream's user name or password.
func assertNoUserinfo(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{upUser, upPass} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the upstream's %q:\n%s", what, s, text)
		}
	}
}

// TestRecordUpstreamUserinfo records through an upstream URL with a user
// name and password: the upstream gets them as basic auth, and neither
// the startup log, the health answer, a recording nor any log line shows
// them.
func TestRecordUpstreamUserinfo(t *testing.T) {
	t.Parallel()
	up := mockservertest.NewTestServer(t)
	var mu sync.Mutex
	var auths []string
	// In front of the mock, to see what the proxy sends.
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		up.Server().ServeHTTP(w, r)
	}))
	t.Cleanup(spy.Close)
	dir := t.TempDir()
	p := startProxyCmd(t, "record", "--upstream", withUserinfo(spy.URL+"/apis"), "--out", dir)

	wantShown := "http://[redacted]@" + strings.TrimPrefix(spy.URL, "http://") + "/apis"
	code, body := p.do(t, http.MethodGet, "/__admin/health", "", nil, "")
	var health struct{ Upstream string }
	if err := json.Unmarshal(body, &health); code != 200 || err != nil || health.Upstream != wantShown {
		t.Errorf("GET /__admin/health = %d %s; want upstream %q", code, body, wantShown)
	}
	assertNoUserinfo(t, "GET /__admin/health", string(body))

	id := p.createTask(t, proxyKey, "")
	for range 3 {
		p.pollStatus(t, proxyKey, id)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("cambmock record returned %v", err)
	}
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(upUser, upPass)
	mu.Lock()
	for _, a := range auths {
		if a != req.Header.Get("Authorization") {
			t.Errorf("the upstream got Authorization %q; want basic auth from the URL", a)
		}
	}
	mu.Unlock()

	logs := p.logs.String()
	assertNoUserinfo(t, "the logs", logs)
	var listening map[string]string
	for _, l := range logLines(t, logs) {
		if l["msg"] == "cambmock record listening" {
			listening = l
		}
	}
	if listening["upstream"] != wantShown {
		t.Errorf("the startup log names upstream %q; want %q", listening["upstream"], wantShown)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("recorded %q; want one file", files)
	}
	data, _ := os.ReadFile(files[0])
	assertNoUserinfo(t, "the recording", string(data))
	if !strings.Contains(string(data), wantShown) {
		t.Errorf("the recording does not name the upstream as %s:\n%s", wantShown, data)
	}
}

// TestProxyUpstreamDownUserinfo: the 502 of an upstream that is down, and
// the log line of it, do not show the upstream URL's userinfo.
func TestProxyUpstreamDownUserinfo(t *testing.T) {
	t.Parallel()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	p := startProxyCmd(t, "proxy", "--upstream", withUserinfo("http://"+closed+"/apis"))
	code, body := p.do(t, http.MethodGet, "/apis/text-to-sound/x", proxyKey, nil, "")
	if code != http.StatusBadGateway || !strings.Contains(string(body), "upstream "+closed+" failed") {
		t.Errorf("GET through a down upstream = %d %s; want a 502 naming it", code, body)
	}
	assertNoUserinfo(t, "the 502", string(body))
	p.stop(t)
	assertNoUserinfo(t, "the logs", p.logs.String())
}

// TestProxyLogsViolationsOnce polls an off-spec upstream 12 times through
// cambmock proxy: one violation line per kind, and at the stop one summary
// line per kind with its count.
func TestProxyLogsViolationsOnce(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"FAILED","run_id":null,"exception_reason":null,"message":"Sound generation failed."}`)
	}))
	t.Cleanup(up.Close)
	p := startProxyCmd(t, "proxy", "--upstream", up.URL+"/apis")
	for range 12 {
		if code, body := p.do(t, http.MethodGet, "/apis/text-to-sound/task-1", proxyKey, nil, ""); code != 200 {
			t.Fatalf("poll = %d %s", code, body)
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("cambmock proxy returned %v", err)
	}
	type kind struct{ Check, Problem, Count string }
	var first, summary []kind
	for _, l := range logLines(t, p.logs.String()) {
		switch l["msg"] {
		case "violation":
			first = append(first, kind{l["check"], l["problem"], "12"})
		case "violation summary":
			summary = append(summary, kind{l["check"], l["problem"], l["count"]})
		}
	}
	if len(first) == 0 || first[0].Check != "status-conforms" {
		t.Fatalf("violation lines = %v; want status-conforms first\nlogs:\n%s", first, p.logs)
	}
	if diff := cmp.Diff(first, summary); diff != "" {
		t.Errorf("summary lines mismatch (-one per violation line, count 12 +got):\n%s", diff)
	}
}

func TestRecordMaxAudioBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"zero", []string{"record", "--out", t.TempDir(), "--max-audio-bytes", "0"}, nil,
			"record: --max-audio-bytes 0 is not above zero; give the most bytes of audio to keep per task, such as 104857600"},
		{"env", []string{"record", "--out", t.TempDir()}, map[string]string{"CAMBMOCK_MAX_AUDIO_BYTES": "-5"},
			"record: --max-audio-bytes -5 is not above zero; give the most bytes of audio to keep per task, such as 104857600"},
		{"env-not-a-number", []string{"record", "--out", t.TempDir()}, map[string]string{"CAMBMOCK_MAX_AUDIO_BYTES": "100MiB"},
			`record: $CAMBMOCK_MAX_AUDIO_BYTES="100MiB" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.env, tt.args...)
			if r.code != 2 || r.err == nil || r.err.Error() != tt.want {
				t.Errorf("cambmock %q: exit %d, error %v; want exit 2 and %q", tt.args, r.code, r.err, tt.want)
			}
		})
	}

	// The cap reaches the recorder: audio over it is not kept.
	up := mockservertest.NewTestServer(t)
	dir := t.TempDir()
	p := startProxyCmd(t, "record", "--upstream", up.BaseURL(), "--out", dir, "--keep-audio", "--max-audio-bytes", "1000")
	id := p.createTask(t, proxyKey, "")
	var status map[string]any
	for range 3 {
		status = p.pollStatus(t, proxyKey, id)
	}
	code, body := p.do(t, http.MethodGet, fmt.Sprintf("/apis/text-to-sound-result/%v", status["run_id"]), proxyKey, nil, "")
	if code != 200 || len(body) <= 1000 {
		t.Errorf("the result through record = %d, %d bytes; want 200 and the whole audio", code, len(body))
	}
	p.stop(t)
	if wavs, _ := filepath.Glob(filepath.Join(dir, "*.wav")); len(wavs) != 0 {
		t.Errorf("kept %q over --max-audio-bytes 1000", wavs)
	}
	if !strings.Contains(p.logs.String(), "record: the audio is over the cap on kept audio (--max-audio-bytes); not kept") {
		t.Errorf("the logs do not say the audio was not kept:\n%s", p.logs)
	}
}
