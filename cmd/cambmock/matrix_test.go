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
		{[]string{"matrix", "--client", "true", "--time-scale", "0"}, "matrix: RunMatrix: mockserver: WithTimeScale: 0 is not above 0 and at most 1000; give 0.01 to play scenarios 100 times faster"},
		{[]string{"matrix", "--client", "true", "--deadline", "0s"}, "matrix: --deadline 0s is not above zero"},
	} {
		r := runCmd(t, nil, tt.args...)
		if r.code != 2 || r.err == nil || !strings.HasPrefix(r.err.Error(), tt.want) {
			t.Errorf("cambmock %v: exit %d, error %v; want 2, %q", tt.args, r.code, r.err, tt.want)
		}
	}
}
