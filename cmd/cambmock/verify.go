package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
)

const verifyHelp = `Usage: cambmock verify [flags]

Checks an API against openapi.yaml: the live camb.ai API (the default), the
mock, or your own deployment. Every response is validated against the spec,
and the suite checks what a schema cannot say (a created task is known, a
SUCCESS has an integer run_id, a terminal status stays when polled again,
PENDING ends within --pending-bound, the audio is a WAV of the asked-for
length, keys and unknown ids are rejected as declared). It ends with a
drift report: the statuses, exception reasons, fields and content types the
target returned, and the latency of every call.

By default it is read-only: it creates no task, and checks the tasks given
with --task-id and the answers to requests that cost nothing. With
--allow-spend it creates one short sound task, which costs credits.

The API key is sent only to --base-url: verify follows no redirect of an
API request (openapi.yaml declares none, so a 3xx fails the check whose
request got it). Only the pre-signed FILE_URL, fetched without the key,
may redirect. The key never appears in a report.

Against a cambmock that accepts any non-empty key (cambmock serve without
--api-key), auth-wrong-key is skipped with a note; start the mock with
--api-key KEY to check keys too.

Exit status: 0 conformant (warnings and skips allowed), 1 violations found,
2 usage error, target unreachable, or no operation of the API answering at
--base-url (verify then says where the API answers, if it can tell).

Example:
  CAMB_API_KEY=... cambmock verify --task-id 2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1e
  cambmock verify --base-url http://127.0.0.1:8080/apis --api-key any --allow-spend
`

func verify(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("verify", verifyHelp, stdout, getenv)
	base := fs.String("base-url", "CAMB_BASE_URL", cambmock.LiveBaseURL, "the API's base `URL`")
	key := fs.String("api-key", "CAMB_API_KEY", "", "the API `key` to send in x-api-key")
	taskIDs := fs.List("task-id", "CAMB_TASK_IDS", ",", "an existing task `id` to check, read-only; repeatable")
	spend := fs.Bool("allow-spend", "CAMB_ALLOW_SPEND", "create a short sound task to check the whole flow (costs credits on the live API)")
	duration := fs.Duration("duration", "", 2*time.Second, "the length of the sound --allow-spend creates")
	timeout := fs.Duration("timeout", "CAMBMOCK_VERIFY_TIMEOUT", 5*time.Minute, "the bound on the whole run")
	pending := fs.Duration("pending-bound", "", 0, "how long a task may stay PENDING, from its first poll; below --timeout (default 60% of --timeout)")
	format := fs.String("format", "", "text", "report `format`: text or json")
	junit := fs.String("junit", "", "", "also write a JUnit XML report to `file`")
	scenario := fs.String("scenario", "", "", "send X-Cambmock-Scenario: `name`, to check a cambmock scenario")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("verify: --format %q is not text or json", *format)
	}
	if *key == "" {
		return usageError("verify: no API key; give --api-key KEY or set $CAMB_API_KEY")
	}
	if *duration <= 0 || *duration > 10*time.Second {
		return usageError("verify: --duration %v is not above 0 and at most 10s (the API's cap for sound)", *duration)
	}
	tg := contract.Target{
		BaseURL:      *base,
		APIKey:       cambmock.APIKey(*key),
		TaskIDs:      *taskIDs,
		AllowSpend:   *spend,
		Duration:     duration.Seconds(),
		Timeout:      *timeout,
		PendingBound: *pending,
	}
	if *scenario != "" {
		tg.Header = http.Header{"X-Cambmock-Scenario": {*scenario}}
	}
	if *spend {
		fmt.Fprintf(stderr, "verify: --allow-spend: this run creates 1 sound task of %v at %s; on the live API it costs credits\n", *duration, *base)
	} else {
		fmt.Fprintf(stderr, "verify: read-only: no task will be created (%d task id(s) given)\n", len(*taskIDs))
	}
	if isTerminal(stderr) {
		tg.Progress = func(p contract.Progress) {
			fmt.Fprintf(stderr, "\r\033[Kpolling %s: %s (%d polls, %v)", p.Task, p.Status, p.Polls, p.Elapsed.Round(time.Second))
		}
	}
	r, err := contract.Verify(ctx, tg)
	if tg.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *junit != "" {
		if err := writeFile(*junit, r.WriteJUnit); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("verify: writing the JUnit report: %w", err)}
		}
	}
	if *format == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if r.Failed() {
		return &exitError{code: 1, err: fmt.Errorf("verify: %d check(s) failed: %s", r.Count(contract.Fail), strings.Join(r.FailedChecks(), ", "))}
	}
	return nil
}

// writeFile writes a file through a temporary one, so a failure never
// leaves half a report.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(dirOf(name), ".cambmock-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

func dirOf(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[:i+1]
	}
	return "."
}

// isTerminal reports whether w is a terminal, for the live progress line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
