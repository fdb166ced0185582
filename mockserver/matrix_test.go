package mockserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/scenarios"
)

// client is a test client of the API, good or bad, on the server's manual
// clock.
type matrixClient struct {
	interval      time.Duration // between polls
	honourRetry   bool          // wait for Retry-After
	pollsAfter    int           // extra polls after a terminal status
	stopOnUnknown bool          // stop on a status it does not know
	giveUp        bool          // give up after 10 minutes of polling
}

var errGaveUp = errors.New("gave up after 10 minutes")

func (c matrixClient) run(ctx context.Context, env mockserver.MatrixEnv) error {
	clock := env.Server.ManualClock()
	var waited time.Duration
	sleep := func(d time.Duration) error {
		if waited += d; c.giveUp && waited > 10*time.Minute {
			return errGaveUp
		}
		_, err := clock.Advance(d)
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	// call makes a request, retrying errors, 429 and 5xx.
	call := func(method, path, body string) (int, []byte, error) {
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequestWithContext(ctx, method, env.BaseURL+path, strings.NewReader(body))
			req.Header.Set("X-Api-Key", env.APIKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			wait := time.Second
			if err == nil {
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr == nil && resp.StatusCode < 500 && resp.StatusCode != 429 {
					return resp.StatusCode, b, nil
				}
				if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && c.honourRetry {
					wait = time.Duration(s) * time.Second
				}
			}
			if !c.honourRetry {
				wait = c.interval
			}
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			if attempt == 5 {
				return 0, nil, fmt.Errorf("%s %s kept failing", method, path)
			}
			if err := sleep(wait); err != nil {
				return 0, nil, err
			}
		}
	}
	code, body, err := call("POST", "/text-to-sound", `{"prompt":"rain","duration":2}`)
	if err != nil || code != 200 {
		return fmt.Errorf("create: %d %v", code, err)
	}
	var created struct {
		TaskID string `json:"task_id"`
	}
	json.Unmarshal(body, &created)
	for {
		code, body, err := call("GET", "/text-to-sound/"+created.TaskID, "")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("poll: HTTP %d", code)
		}
		var st struct {
			Status string `json:"status"`
			RunID  any    `json:"run_id"`
		}
		if json.Unmarshal(body, &st) != nil {
			if err := sleep(c.interval); err != nil {
				return err
			}
			continue
		}
		switch st.Status {
		case "PENDING":
		case "SUCCESS", "ERROR", "TIMEOUT", "PAYMENT_REQUIRED":
			for range c.pollsAfter {
				sleep(c.interval)
				call("GET", "/text-to-sound/"+created.TaskID, "")
			}
			if id, ok := st.RunID.(float64); ok && st.Status == "SUCCESS" {
				if code, _, err := call("GET", "/text-to-sound-result/"+strconv.Itoa(int(id)), ""); err != nil || code != 200 {
					return fmt.Errorf("result: %d %v", code, err)
				}
			}
			return nil
		default:
			if c.stopOnUnknown {
				return fmt.Errorf("unknown status %q", st.Status)
			}
		}
		if err := sleep(c.interval); err != nil {
			return err
		}
	}
}

var (
	goodClient = matrixClient{interval: 2 * time.Second, honourRetry: true, stopOnUnknown: true, giveUp: true}
	badClient  = matrixClient{interval: 100 * time.Millisecond, pollsAfter: 2}
)

func matrixConfig(names ...string) mockserver.MatrixConfig {
	return mockserver.MatrixConfig{
		Scenarios: names,
		Deadline:  2 * time.Second,
		Parallel:  1, // the runs share one manual clock
		Options: []mockserver.Option{
			mockserver.WithClock(scenarios.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))),
			mockserver.WithHangLimit(5 * time.Second),
		},
	}
}

// TestMatrixGoodClient: a well-behaved client survives every scenario
// with a clean verdict.
func TestMatrixGoodClient(t *testing.T) {
	runs, err := mockserver.RunMatrix(t.Context(), matrixConfig(), goodClient.run)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 25 {
		t.Fatalf("RunMatrix ran %d scenarios; want every built-in", len(runs))
	}
	for _, r := range runs {
		if !r.Passed() {
			t.Errorf("%s: verdict %s, timed out %v, error %v: %v", r.Scenario, r.Verdict(), r.TimedOut, r.Err, r.Violations)
		}
	}
	ended := map[string]string{}
	for _, r := range runs {
		ended[r.Scenario] = string(r.Ended)
	}
	for name, want := range map[string]string{"success": "SUCCESS", "error": "ERROR", "stuck": "", "drift-failed-status": "FAILED"} {
		if ended[name] != want {
			t.Errorf("run %s ended %q, want %q", name, ended[name], want)
		}
	}
}

// TestMatrixBadClient: a client with no backoff, that ignores Retry-After,
// polls after SUCCESS and loops on FAILED is flagged for each fault, by name.
func TestMatrixBadClient(t *testing.T) {
	runs, err := mockserver.RunMatrix(t.Context(), matrixConfig("success", "rate-limited", "drift-failed-status"), badClient.run)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range runs {
		got[r.Scenario] = r.Verdict()
		if r.Passed() {
			t.Errorf("%s passed: %v", r.Scenario, r.Violations)
		}
	}
	want := map[string]string{
		"success":             "poll-interval, after-terminal",
		"rate-limited":        "poll-interval, retry-after, after-terminal",
		"drift-failed-status": "poll-interval, after-unknown",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts mismatch (-want +got):\n%s", diff)
	}
	if !runs[2].TimedOut {
		t.Errorf("the bad client looping on FAILED was not stopped at the deadline")
	}
}

// TestMatrixUnknownRun flags a client that asks for a run it was never given.
func TestMatrixUnknownRun(t *testing.T) {
	guesser := func(ctx context.Context, env mockserver.MatrixEnv) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", env.BaseURL+"/text-to-sound-result/4242", nil)
		req.Header.Set("X-Api-Key", env.APIKey)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	runs, err := mockserver.RunMatrix(t.Context(), matrixConfig("success"), guesser)
	if err != nil {
		t.Fatal(err)
	}
	// It also never created a task.
	if got := runs[0].Verdict(); got != "unknown-run, no-task" {
		t.Errorf("Verdict() = %q, want unknown-run, no-task (%v)", got, runs[0].Violations)
	}
}

func TestMatrixConfigErrors(t *testing.T) {
	_, err := mockserver.RunMatrix(t.Context(), mockserver.MatrixConfig{Scenarios: []string{"nope"}}, goodClient.run)
	if err == nil || !strings.HasPrefix(err.Error(), `RunMatrix: unknown scenario "nope"; known scenarios: connection-reset,`) {
		t.Errorf("RunMatrix(unknown scenario) = %v", err)
	}
	if _, err := mockserver.RunMatrix(t.Context(), mockserver.MatrixConfig{}, nil); err == nil {
		t.Error("RunMatrix(nil client) succeeded")
	}
}
