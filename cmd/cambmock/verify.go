package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
)

const verifyHelp = `Usage: cambmock verify [flags]

Checks an API against openapi.yaml: the live camb.ai API (the default), the
mock, or your own deployment, for every kind of task the spec declares
(text-to-sound, tts, text-to-voice, audio-separation, dub, transcription,
translation, translated-tts), side by side; --kind picks some. Every
response is validated against the spec, and the suite checks what a schema
cannot say (a created task is known, a SUCCESS has an integer run_id, a
terminal status stays when polled again, PENDING ends within
--pending-bound, an audio result is a WAV of the asked-for length, every
URL of a JSON result downloads without the key and serves what its
Content-Type says, the bulk endpoint answers each run, keys and unknown ids
are rejected as declared). It ends with a drift report: the statuses,
exception reasons, fields and content types the target returned, and the
latency of every call.

The report names each result by its check for the default kind,
text-to-sound ("PASS  status-conforms"), and as KIND/CHECK for the others
("PASS  tts/status-conforms"), each kind under a heading; so do the JSON
report (fields kind and id) and the JUnit file (class contract.KIND).

By default it is read-only: it creates no task, and checks the tasks given
with --task-id and the answers to requests that cost nothing. With
--allow-spend it creates one task of each kind checked, which costs
credits; it says which before it does. Each create body is built from the
spec: the required fields from the request schema's examples, the length
--duration where the kind's request says one, and a tiny WAV as the file of
a multipart upload.

The API key is sent only to --base-url: verify follows no redirect of an
API request (openapi.yaml declares none, so a 3xx fails the check whose
request got it). Only the file URLs of a result, fetched without the key,
may redirect. The key never appears in a report.

Against a cambmock that accepts any non-empty key (cambmock serve without
--api-key), auth-wrong-key is skipped with a note; start the mock with
--api-key KEY to check keys too.

Exit status: 0 conformant (warnings and skips allowed), 1 violations found,
2 usage error, target unreachable, or no operation of the API answering at
--base-url (verify then says where the API answers, if it can tell).

Example:
  CAMB_API_KEY=... cambmock verify --task-id 2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1e
  CAMB_API_KEY=... cambmock verify --kind tts --task-id tts/2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1e
  cambmock verify --base-url http://127.0.0.1:8080/apis --api-key any --allow-spend
`

func verify(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("verify", verifyHelp, stdout, getenv)
	base := fs.String("base-url", "CAMB_BASE_URL", cambmock.LiveBaseURL, "the API's base `URL`")
	key := fs.String("api-key", "CAMB_API_KEY", "", "the API `key` to send in x-api-key")
	kinds := fs.List("kind", "CAMB_KINDS", ",", "check only this `kind` of task, such as tts; repeatable (default every kind the spec declares)")
	taskIDs := fs.List("task-id", "CAMB_TASK_IDS", ",", "an existing task to check, read-only, as `KIND/ID` (or ID of text-to-sound, or of the one --kind); repeatable")
	spend := fs.Bool("allow-spend", "CAMB_ALLOW_SPEND", "create a task of each kind checked to check the whole flow (costs credits on the live API)")
	duration := fs.Duration("duration", "", 2*time.Second, "the length of the audio --allow-spend asks for, where a kind's request says one (text-to-sound's duration)")
	timeout := fs.Duration("timeout", "CAMBMOCK_VERIFY_TIMEOUT", 5*time.Minute, "the bound on the whole run")
	pending := fs.Duration("pending-bound", "", 0, "how long a task may stay PENDING, from its first poll; below --timeout (default 60% of --timeout)")
	format := fs.String("format", "", "text", "report `format`: text or json")
	junit := fs.String("junit", "", "", "also write a JUnit XML report to `file`")
	scenario := fs.String("scenario", "", "", "send X-Cambmock-Scenario: `name`, to check a cambmock scenario")
	specFile := fs.String("spec", "CAMBMOCK_SPEC", "", "check against the OpenAPI document in `file` instead of the embedded one (see cambmock spec)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("verify: --format %q is not text or json", *format)
	}
	if *key == "" {
		return usageError("verify: no API key; give --api-key KEY or set $CAMB_API_KEY")
	}
	spec, err := loadSpec(*specFile)
	if err != nil {
		return err
	}
	var known []string
	for _, k := range spec.Kinds() {
		known = append(known, k.Name)
	}
	for _, k := range *kinds {
		if spec.Kind(k) == nil {
			return usageError("verify: --kind %q is not a kind of task the spec declares; give one of %s", k, strings.Join(known, ", "))
		}
	}
	if *duration <= 0 {
		return usageError("verify: --duration %v is not above 0", *duration)
	}
	for _, k := range spec.Kinds() {
		if *kinds != nil && !slices.Contains(*kinds, k.Name) {
			continue
		}
		if al := k.Create.AudioLength; al != nil && al.Field != "" && al.Max > 0 && duration.Seconds() > al.Max {
			return usageError("verify: --duration %v is above %vs, the most a %s task's %s may be (openapi.yaml's x-cambmock audio-length max)", *duration, al.Max, k.Name, al.Field)
		}
	}
	tg := contract.Target{
		BaseURL:      *base,
		APIKey:       cambmock.APIKey(*key),
		Kinds:        *kinds,
		TaskIDs:      *taskIDs,
		AllowSpend:   *spend,
		Duration:     duration.Seconds(),
		Timeout:      *timeout,
		PendingBound: *pending,
		Spec:         spec,
	}
	if *scenario != "" {
		tg.Header = http.Header{"X-Cambmock-Scenario": {*scenario}}
	}
	plan, err := contract.Plan(tg)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *spend {
		var parts []string
		for _, c := range plan {
			parts = append(parts, c.String())
		}
		fmt.Fprintf(stderr, "verify: --allow-spend: this run creates %s at %s; on the live API it costs credits\n", joinAnd(parts), redactedURL(*base))
	} else {
		fmt.Fprintf(stderr, "verify: read-only: no task will be created (%d task id(s) given)\n", len(*taskIDs))
	}
	if isTerminal(stderr) {
		tg.Progress = func(p contract.Progress) {
			fmt.Fprintf(stderr, "\r\033[Kpolling %s task %s: %s (%d polls, %v)", p.Kind, p.Task, p.Status, p.Polls, p.Elapsed.Round(time.Second))
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

// joinAnd joins phrases as a sentence lists them: "a, b and c".
func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return "no task"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// redactedURL shows a URL without its password.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
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
