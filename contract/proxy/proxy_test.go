package proxy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

const key = "proxy-test-key"

// client calls an API at base.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) do(method, path, body string, header ...string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// flow creates a task with scenario and polls it until terminal,
// advancing clock between polls; it returns what each poll got, as
// "code status", and fetches the results when there is a run id.
func (c *client) flow(scenario string, advance func()) []string {
	c.t.Helper()
	code, _, body := c.do("POST", "/text-to-sound", `{"prompt":"rain","duration":2}`, mockserver.ScenarioHeader, scenario)
	if code == http.StatusTooManyRequests {
		advance()
		code, _, body = c.do("POST", "/text-to-sound", `{"prompt":"rain","duration":2}`, mockserver.ScenarioHeader, scenario)
	}
	if code != 200 {
		c.t.Fatalf("create: %d %s", code, body)
	}
	var created struct {
		TaskID string `json:"task_id"`
	}
	json.Unmarshal(body, &created)
	var seen []string
	var runID string
	for i := 0; i < 12; i++ {
		code, _, body := c.do("GET", "/text-to-sound/"+created.TaskID, "")
		var st struct {
			Status string `json:"status"`
			RunID  any    `json:"run_id"`
		}
		json.Unmarshal(body, &st)
		seen = append(seen, strings.TrimSpace(strings.Join([]string{http.StatusText(code), st.Status}, " ")))
		if code == http.StatusBadGateway {
			break
		}
		if st.Status != "" && st.Status != "PENDING" {
			if n, ok := st.RunID.(float64); ok {
				runID = jsonInt(int64(n))
			}
			break
		}
		advance()
	}
	if runID != "" {
		for _, q := range []string{"", "?output_type=FILE_URL"} {
			code, _, body := c.do("GET", "/text-to-sound-result/"+runID+q, "")
			if code >= 500 { // a scripted failure: retry once, as clients do
				code, _, body = c.do("GET", "/text-to-sound-result/"+runID+q, "")
			}
			if code != 200 {
				c.t.Errorf("result%s: %d %s", q, code, body)
			}
		}
		if code, _, body := c.do("POST", "/text-to-sound-results", `{"run_ids":[`+runID+`]}`); code != 200 {
			c.t.Errorf("bulk: %d %s", code, body)
		}
	}
	return seen
}

// setup starts a mock upstream and a proxy in front of it.
func setup(t *testing.T, opts ...proxy.Option) (*mockservertest.TestServer, *proxy.Proxy, *client) {
	t.Helper()
	up := mockservertest.NewTestServer(t)
	p, err := proxy.New(up.BaseURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	return up, p, &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
}

func checks(s contract.Summary) []string {
	var out []string
	for _, f := range s.Findings {
		out = append(out, f.Check)
	}
	slices.Sort(out)
	return out
}

// TestFaithful sends a client's whole flow for every on-spec scenario
// through the proxy to the mock: no violations. (result-truncated cuts an
// audio answer off, which the proxy reports: see TestCutOffAudio.)
func TestFaithful(t *testing.T) {
	up, p, c := setup(t)
	for _, sc := range up.Server().Scenarios() {
		if sc.OffSpec || slices.Contains([]string{"stuck", "hang", "result-truncated"}, sc.Name) {
			continue
		}
		c.flow(sc.Name, func() { up.Advance(3 * time.Second) })
	}
	s := p.Summary()
	if len(s.Findings) > 0 {
		for _, f := range s.Findings {
			t.Errorf("%s: %s\n  %s\n  %s", f.Check, f.Problem, f.Example.Request, f.Example.Response)
		}
	}
	if s.Requests < 50 {
		t.Errorf("the proxy saw %d requests; the flows make more", s.Requests)
	}
}

// TestDrift sends each off-spec scenario through the proxy: each drift is
// reported once per kind, under the check named for it.
func TestDrift(t *testing.T) {
	want := map[string][]string{
		"drift-failed-status":          {contract.CheckStatusConforms},
		"malformed-json":               {contract.CheckStatusConforms},
		"drift-html-error":             {contract.CheckStatusConforms},
		"drift-undeclared-status":      {contract.CheckStatusConforms},
		"drift-missing-retry-after":    {contract.CheckRetryAfter, contract.CheckStatusConforms},
		"drift-run-id-string":          {contract.CheckStatusConforms, contract.CheckSuccessRunID},
		"drift-success-without-run-id": {contract.CheckSuccessRunID},
		"drift-terminal-regress":       {contract.CheckTerminalIsFinal},
	}
	for name, checksWant := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			up, p, c := setup(t)
			for range 2 { // twice: each kind must still be reported once
				c.flow(name, func() { up.Advance(time.Second) })
			}
			if name == "drift-terminal-regress" {
				// The flow stops at SUCCESS; poll on to see it regress.
				for _, tk := range up.Server().Tasks() {
					c.do("GET", "/text-to-sound/"+tk.ID(), "")
				}
			}
			if diff := cmp.Diff(checksWant, checks(p.Summary())); diff != "" {
				t.Errorf("findings of %s mismatch (-want +got):\n%s", name, diff)
			}
		})
	}
}

func TestEnforce(t *testing.T) {
	up, _, c := setup(t, proxy.WithEnforce(true))
	seen := c.flow("drift-failed-status", func() { up.Advance(time.Second) })
	if diff := cmp.Diff([]string{"OK PENDING", "Bad Gateway"}, seen); diff != "" {
		t.Errorf("polls through --enforce mismatch (-want +got):\n%s", diff)
	}
	code, _, body := c.do("GET", "/text-to-sound/"+up.Server().Tasks()[0].ID(), "")
	if code != 502 || !strings.Contains(string(body), `cambmock proxy --enforce: the upstream's answer violates the contract: status-conforms: the 200 answer violates openapi.yaml: body /status: value is not one of the allowed values`) {
		t.Errorf("enforced answer = %d %s", code, body)
	}
}

func TestAudioStreamsIntact(t *testing.T) {
	up, p, c := setup(t)
	c.flow("success", func() { up.Advance(time.Second) })
	run := up.Server().Tasks()[0].Info().RunID
	direct := &client{t: t, base: up.BaseURL(), http: up.Client()}
	path := "/text-to-sound-result/" + jsonInt(run)
	_, _, want := direct.do("GET", path, "")
	code, h, got := c.do("GET", path, "")
	if code != 200 || h.Get("Content-Type") != "audio/wav" || !bytes.Equal(want, got) || len(got) < 1000 {
		t.Errorf("audio through the proxy: %d %s, %d bytes, equal=%v", code, h.Get("Content-Type"), len(got), bytes.Equal(want, got))
	}
	if f := p.Summary().Findings; len(f) > 0 {
		t.Errorf("findings: %+v", f)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestUpstreamFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	p, err := proxy.New("http://" + closed + "/apis")
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
	code, h, body := c.do("GET", "/text-to-sound/x", "")
	if code != 502 || h.Get("Content-Type") != "application/json" || !strings.Contains(string(body), "cambmock proxy: upstream "+closed+" failed") {
		t.Errorf("down upstream: %d %s", code, body)
	}

	// A hanging upstream: 504 after the timeout, not a hang.
	up := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario("hang"))
	p, _ = proxy.New(up.BaseURL(), proxy.WithTimeout(time.Second))
	ps2 := httptest.NewServer(p)
	defer ps2.Close()
	c = &client{t: t, base: ps2.URL + "/apis", http: ps2.Client()}
	_, _, created := c.do("POST", "/text-to-sound", `{"prompt":"x"}`)
	var tk struct {
		TaskID string `json:"task_id"`
	}
	json.Unmarshal(created, &tk)
	start := time.Now()
	code, _, body = c.do("GET", "/text-to-sound/"+tk.TaskID, "")
	if code != 504 || !strings.Contains(string(body), "did not answer within 1s") {
		t.Errorf("hanging upstream: %d %s", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the 504 took %v", d)
	}
}

// TestRecordReplay records a task's traffic, replays the scenario file
// with the mock, and compares what a client sees both times.
func TestRecordReplay(t *testing.T) {
	for _, name := range []string{"maintenance", "rate-limited", "slow-success", "drift-failed-status", "error"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			up := mockservertest.NewTestServer(t)
			rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", KeepAudio: true, Now: up.Clock().Now})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := proxy.New(up.BaseURL(), proxy.WithRecorder(rec))
			ps := httptest.NewServer(p)
			defer ps.Close()
			c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
			recorded := c.flow(name, func() { up.Advance(1500 * time.Millisecond) })

			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if len(files) != 1 {
				t.Fatalf("recorded files: %v", files)
			}
			data, _ := os.ReadFile(files[0])
			if strings.Contains(string(data), key) {
				t.Errorf("the scenario file holds the API key")
			}
			spec := up.Server().Spec()
			loaded, err := scenarios.LoadPath(dir, spec)
			if err != nil {
				t.Fatalf("the recorded file does not load: %v\n%s", err, data)
			}
			replay := mockservertest.NewTestServer(t, mockserver.WithScenarios(loaded...))
			rc := &client{t: t, base: replay.BaseURL(), http: replay.Client()}
			replayed := rc.flow(loaded[0].Name, func() { replay.Advance(1500 * time.Millisecond) })
			if diff := cmp.Diff(recorded, replayed); diff != "" {
				t.Errorf("replay of %s mismatch (-recorded +replayed):\n%s\n%s", name, diff, data)
			}
			if wavs, _ := filepath.Glob(filepath.Join(dir, "*.wav")); slices.Contains(recorded, "OK SUCCESS") && len(wavs) != 1 {
				t.Errorf("kept audio: %v", wavs)
			}
		})
	}
}
