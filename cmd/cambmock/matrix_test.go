package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMain lets the test binary play a client for cambmock matrix: with
// CAMBMOCK_TEST_CLIENT set it is that client, not the tests.
func TestMain(m *testing.M) {
	if kind := os.Getenv("CAMBMOCK_TEST_CLIENT"); kind != "" {
		os.Exit(testClient(kind == "good"))
	}
	os.Exit(m.Run())
}

// testClient creates a task and polls it: the good client every 100 ms,
// honouring Retry-After and stopping at any status but PENDING; the bad
// one every 10 ms, ignoring Retry-After, polling twice more after a
// terminal status and looping on one it does not know.
func testClient(good bool) int {
	base, key := os.Getenv("CAMB_BASE_URL"), os.Getenv("CAMB_API_KEY")
	hc := &http.Client{Timeout: 2 * time.Second}
	do := func(method, path, body string) (int, http.Header, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	interval := 10 * time.Millisecond
	if good {
		interval = 100 * time.Millisecond
	}
	_, _, body := do("POST", "/text-to-sound", `{"prompt":"x"}`)
	var created struct {
		TaskID string `json:"task_id"`
	}
	json.Unmarshal(body, &created)
	for {
		code, h, body := do("GET", "/text-to-sound/"+created.TaskID, "")
		wait := interval
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && good {
			wait = time.Duration(s) * time.Second
		}
		var st struct{ Status string }
		json.Unmarshal(body, &st)
		switch {
		case code != 200 || st.Status == "PENDING":
		case st.Status == "SUCCESS" || st.Status == "ERROR" || good:
			if !good {
				for range 2 {
					time.Sleep(interval)
					do("GET", "/text-to-sound/"+created.TaskID, "")
				}
			}
			fmt.Println("ended", st.Status)
			return 0
		}
		time.Sleep(wait)
	}
}

func TestMatrixCommand(t *testing.T) {
	t.Parallel()
	client := func(kind string) string {
		return "CAMBMOCK_TEST_CLIENT=" + kind + " " + strconv.Quote(os.Args[0])
	}
	junit := filepath.Join(t.TempDir(), "matrix.xml")
	args := []string{"matrix", "--only", "success", "--only", "rate-limited", "--only", "drift-failed-status",
		"--time-scale", "0.01", "--min-interval", "50ms", "--deadline", "4s"}

	good := runCmd(t, nil, append(args, "--client", client("good"), "--junit", junit)...)
	if good.code != 0 {
		t.Fatalf("matrix of the good client: exit %d\n%s%s", good.code, good.stdout, good.stderr)
	}
	for _, want := range []string{
		"SCENARIO             SPEC  EXIT  ENDED    POLLS  VERDICT  WALL",
		"3 of 3 scenarios passed",
	} {
		if !strings.Contains(good.stdout, want) {
			t.Errorf("the good client's table lacks %q:\n%s", want, good.stdout)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &suite); err != nil || suite.Tests != 3 || suite.Failures != 0 {
		t.Errorf("JUnit: %+v %v\n%s", suite, err, data)
	}

	bad := runCmd(t, nil, append(args, "--client", client("bad"), "--format", "json")...)
	if bad.code != 1 {
		t.Fatalf("matrix of the bad client: exit %d, want 1\n%s", bad.code, bad.stderr)
	}
	var runs []struct {
		Scenario   string
		TimedOut   bool `json:"timed_out"`
		Discipline []struct{ Violations []string }
	}
	if err := json.Unmarshal([]byte(bad.stdout), &runs); err != nil {
		t.Fatalf("--format json: %v\n%s", err, bad.stdout)
	}
	got := map[string]string{}
	for _, r := range runs {
		var names []string
		for _, d := range r.Discipline {
			for _, v := range d.Violations {
				name, _, _ := strings.Cut(v, ":")
				names = append(names, name)
			}
		}
		got[r.Scenario] = strings.Join(names, " ") + fmt.Sprintf(" timed-out=%v", r.TimedOut)
	}
	want := map[string]string{
		"success":             "poll-interval after-terminal timed-out=false",
		"rate-limited":        "poll-interval retry-after after-terminal timed-out=false",
		"drift-failed-status": "poll-interval after-unknown timed-out=true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the bad client's verdicts mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(bad.stderr, "cambmock: matrix: the client failed 3 of 3 scenarios: success, rate-limited, drift-failed-status") {
		t.Errorf("stderr: %s", bad.stderr)
	}
}

func TestMatrixUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"matrix"}, "matrix: no --client command; give the program to run, such as --client './my-client'"},
		{[]string{"matrix", "--client", "true", "--only", "nope"}, `matrix: RunMatrix: unknown scenario "nope"; known scenarios: `},
		{[]string{"matrix", "--client", "true", "--time-scale", "0"}, "matrix: RunMatrix: mockserver: WithTimeScale: 0 is not from 0.0001 to 1000; give 0.01 to play scenarios 100 times faster"},
		{[]string{"matrix", "--client", "true", "--deadline", "0s"}, "matrix: --deadline 0s is not above zero"},
	} {
		r := runCmd(t, nil, tt.args...)
		if r.code != 2 || r.err == nil || !strings.HasPrefix(r.err.Error(), tt.want) {
			t.Errorf("cambmock %v: exit %d, error %v; want 2, %q", tt.args, r.code, r.err, tt.want)
		}
	}
}

// TestMatrixClientsThatNeverRan: a client that cannot start, or exits at
// once, creates no task and fails every scenario, with its output shown.
func TestMatrixClientsThatNeverRan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, client, want string
	}{
		{"no such file", "./no-such-file", "no-task: the client created no task and exited 127"},
		{"exit 0", "exit 0", "no-task: the client created no task and exited 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, nil, "matrix", "--only", "success", "--only", "error", "--deadline", "5s", "--client", tc.client)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range []string{"success: " + tc.want, "error: " + tc.want, "0 of 2 scenarios passed"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("the table lacks %q:\n%s", want, r.stdout)
				}
			}
			if tc.name == "no such file" && !strings.Contains(r.stdout, "| sh: 1: ./no-such-file: not found") {
				t.Errorf("the table does not show the client's stderr:\n%s", r.stdout)
			}
		})
	}
}

// TestMatrixExitAfterSuccess: a client whose task reported SUCCESS but that
// exits non-zero fails the run, naming why; one that exits non-zero on an
// ERROR task has its reason.
func TestMatrixExitAfterSuccess(t *testing.T) {
	t.Parallel()
	client := "CAMBMOCK_TEST_CLIENT=good " + strconv.Quote(os.Args[0]) + "; exit 3"
	r := runCmd(t, nil, "matrix", "--only", "success", "--only", "error", "--time-scale", "0.01", "--min-interval", "50ms",
		"--deadline", "5s", "--client", client)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "success: exit: the client failed (exit status 3) although its task reported SUCCESS with a run id") {
		t.Errorf("the table does not fail the success run for its exit:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "error: exit:") || !strings.Contains(r.stdout, "1 of 2 scenarios passed") {
		t.Errorf("an exit after ERROR is the scenario's own reason, not a failure:\n%s", r.stdout)
	}
}

// TestMatrixEndsBackgroundChildren: what a client starts in the background
// ends with the run, not at the deadline.
func TestMatrixEndsBackgroundChildren(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	start := time.Now()
	r := runCmd(t, nil, "matrix", "--only", "success", "--deadline", "20s", "--client", "sleep 60 & echo $! > "+strconv.Quote(pidFile))
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the run took %v: it waited for the background child", took)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (no task)", r.code)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for range 100 {
		if err := syscall.Kill(pid, 0); err != nil {
			return // gone
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("the client's background child %d outlived the run", pid)
}
