package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cambmock/cambmock/mockserver"
)

const matrixHelp = `Usage: cambmock matrix --client COMMAND [flags]

Runs your client program once per scenario, each time against a fresh mock
whose every task plays that scenario, and prints how it fared: the client's
exit status, the terminal status the mock served it (if any), the verdict on
its polling discipline, and the wall time. A run passes when the client ends
within --deadline and polls by the rules (at least --min-interval apart,
honouring Retry-After, no polls after a terminal or unknown status, no
result asked for before SUCCESS). The exit status is 0 when every run
passes, 1 otherwise.

The command runs with sh -c and gets, beside your environment:
  CAMB_BASE_URL       the mock's base URL, such as http://127.0.0.1:41234/apis
  CAMB_API_KEY        a key the mock accepts
  CAMBMOCK_SCENARIO   the scenario this run plays
  CAMBMOCK_ADMIN_URL  the mock's admin API, such as http://127.0.0.1:41234/__admin

Example:
  cambmock matrix --client 'python3 my_client.py' --deadline 60s --time-scale 0.1
  cambmock matrix --client ./bin/client --only success --only rate-limited --junit matrix.xml
`

func matrix(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("matrix", matrixHelp, stdout, getenv)
	client := fs.String("client", "CAMBMOCK_CLIENT", "", "the `command` to run per scenario, with sh -c")
	only := fs.List("only", "", ",", "a scenario `name` to run; repeatable (default: every scenario)")
	paths := fs.List("scenarios", "CAMBMOCK_SCENARIOS", string(os.PathListSeparator), "a scenario `file or folder` to load beside the built-ins; repeatable")
	deadline := fs.Duration("deadline", "", 30*time.Second, "the bound on each run; a client still running then is stopped")
	parallel := fs.Int("parallel", "", 4, "how many runs go at once")
	scale := fs.Float64("time-scale", "CAMBMOCK_TIME_SCALE", 1, "play scenarios in `scale` times their written time: 0.1 is ten times faster")
	minInterval := fs.Duration("min-interval", "", mockserver.DefaultMinInterval, "the least time allowed between polls (negative: no limit)")
	maxPolls := fs.Int("max-polls", "", 0, "the most polls allowed per task (0: no limit)")
	ignoreRetry := fs.Bool("ignore-retry-after", "", "do not judge whether polls waited for Retry-After")
	allowTerminal := fs.Bool("allow-polls-after-terminal", "", "do not judge polls after a terminal status")
	allowUnknown := fs.Bool("allow-polls-after-unknown", "", "do not judge polls after an unknown status")
	format := fs.String("format", "", "text", "output `format`: text or json")
	junit := fs.String("junit", "", "", "also write a JUnit XML report to `file`")
	specFile := fs.String("spec", "CAMBMOCK_SPEC", "", "serve the OpenAPI document in `file` instead of the embedded one (see cambmock spec)")
	if err := fs.parse(args); err != nil {
		return err
	}
	switch {
	case *client == "":
		return usageError("matrix: no --client command; give the program to run, such as --client './my-client'")
	case *format != "text" && *format != "json":
		return usageError("matrix: --format %q is not text or json", *format)
	case *deadline <= 0:
		return usageError("matrix: --deadline %v is not above zero", *deadline)
	case *parallel < 1:
		return usageError("matrix: --parallel %d is below 1", *parallel)
	case *maxPolls < 0:
		return usageError("matrix: --max-polls %d is below 0", *maxPolls)
	}
	spec, err := loadSpec(*specFile)
	if err != nil {
		return err
	}
	extra, err := loadScenarios(spec, *paths)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg := mockserver.MatrixConfig{
		Scenarios: *only,
		Deadline:  *deadline,
		Parallel:  *parallel,
		Rules: mockserver.Rules{MinInterval: *minInterval, MaxPolls: *maxPolls, IgnoreRetryAfter: *ignoreRetry,
			AllowPollsAfterTerminal: *allowTerminal, AllowPollsAfterUnknown: *allowUnknown},
		Options: []mockserver.Option{mockserver.WithSpec(spec), mockserver.WithScenarios(extra...), mockserver.WithTimeScale(*scale)},
	}
	if len(cfg.Scenarios) == 0 {
		cfg.Scenarios = nil
	}
	runs, err := mockserver.RunMatrix(ctx, cfg, commandClient(*client))
	if err != nil {
		return usageError("matrix: %v", err)
	}
	for i := range runs {
		var ce *commandError
		if errors.As(runs[i].Err, &ce) {
			runs[i].Output = ce.output
		}
	}
	if *junit != "" {
		if err := writeFile(*junit, func(w io.Writer) error { return matrixJUnit(w, runs) }); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("matrix: writing the JUnit report: %w", err)}
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(runs); err != nil {
			return err
		}
	} else {
		writeMatrix(stdout, runs)
	}
	var failed []string
	for _, r := range runs {
		if !r.Passed() {
			failed = append(failed, r.Scenario)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("matrix: the client failed %d of %d scenarios: %s", len(failed), len(runs), strings.Join(failed, ", "))}
	}
	return nil
}

// commandClient runs command once per matrix run. The command and
// everything it starts run in a process group of their own, which ends
// with the run: at the deadline, and as soon as the command itself exits,
// so that no background child outlives it.
func commandClient(command string) func(context.Context, mockserver.MatrixEnv) error {
	return func(ctx context.Context, env mockserver.MatrixEnv) error {
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		cmd.Env = append(os.Environ(),
			"CAMB_BASE_URL="+env.BaseURL,
			"CAMB_API_KEY="+env.APIKey,
			"CAMBMOCK_SCENARIO="+env.Scenario,
			"CAMBMOCK_ADMIN_URL="+env.AdminURL,
		)
		// The output goes to a file rather than a pipe, so that waiting for
		// the command does not wait for children that hold the pipe open.
		out, err := os.CreateTemp("", "cambmock-matrix-*.out")
		if err != nil {
			return fmt.Errorf("matrix: %w", err)
		}
		defer os.Remove(out.Name())
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 2 * time.Second
		err = cmd.Run()
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if err != nil {
			return &commandError{err: err, output: tail(out, 4096)}
		}
		return nil
	}
}

// commandError is a client command that failed, with the end of its output.
type commandError struct {
	err    error
	output string
}

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// tail returns the last n bytes of f, as valid UTF-8.
func tail(f *os.File, n int64) string {
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(info.Size()-n, 0)
	b := make([]byte, info.Size()-off)
	f.ReadAt(b, off)
	return string(bytes.ToValidUTF8(b, nil))
}

func writeMatrix(w io.Writer, runs []mockserver.MatrixRun) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tSPEC\tEXIT\tENDED\tPOLLS\tVERDICT\tWALL\tRESULT")
	passed := 0
	for _, r := range runs {
		spec := "on"
		if r.OffSpec {
			spec = "off"
		}
		exit := fmt.Sprint(r.ExitCode)
		if r.TimedOut {
			exit = "killed"
		}
		ended := string(r.Ended)
		if ended == "" {
			ended = "-"
		}
		result := "FAIL"
		if r.Passed() {
			result = "pass"
			passed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%v\t%s\n", r.Scenario, spec, exit, ended, r.Polls, r.Verdict(), time.Duration(r.Wall).Round(time.Millisecond), result)
	}
	tw.Flush()
	for _, r := range runs {
		for _, v := range r.Violations {
			fmt.Fprintf(w, "  %s: %s\n", r.Scenario, v)
		}
		if !r.Passed() && strings.TrimSpace(r.Output) != "" {
			fmt.Fprintf(w, "  %s: the client's output ended with:\n", r.Scenario)
			lines := strings.Split(strings.TrimRight(r.Output, "\n"), "\n")
			for _, l := range lines[max(len(lines)-5, 0):] {
				fmt.Fprintf(w, "    | %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "%d of %d scenarios passed\n", passed, len(runs))
}

func matrixJUnit(w io.Writer, runs []mockserver.MatrixRun) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: "cambmock matrix", Tests: len(runs)}
	for _, r := range runs {
		tc := testcase{Name: r.Scenario, Classname: "matrix", Time: fmt.Sprintf("%.3f", time.Duration(r.Wall).Seconds())}
		tc.SystemOut = r.Output
		if !r.Passed() {
			ts.Failures++
			msg := r.Verdict()
			tc.Failure = &failure{Message: msg, Text: strings.Join(r.Violations, "\n")}
		}
		ts.Cases = append(ts.Cases, tc)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(ts); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
