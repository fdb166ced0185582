// Package contract is a contract suite for camb.ai's polled-task API: it
// checks that an API (the live one, cambmock's mock, or a team's own
// deployment) behaves as openapi.yaml says, for every kind of task the spec
// declares (text-to-sound, tts, dub, transcription and the others), and
// reports where it has drifted.
//
// Every response the suite receives is validated against openapi.yaml with
// kin-openapi (status code declared, content type, headers, body schema).
// Beyond the schema it checks what a schema cannot say: a created task is
// known to the status endpoint, SUCCESS carries an integer run_id, a
// terminal status stays terminal, PENDING ends within a bound, an audio
// result is a well-formed WAV of the requested length, every URL of a JSON
// result downloads without the key and serves what its Content-Type says,
// the bulk endpoint answers each run, keys and unknown ids are rejected as
// declared. [Checks] lists them all; each kind of task gets every check.
//
// # Kinds
//
// The kinds, their operations and the statuses come from the spec in force
// ([Target.Spec], else the embedded openapi.yaml): each operation's
// x-cambmock extension names its kind and role. [Target.Kinds] picks
// kinds; by default every kind is checked, side by side, one goroutine per
// kind. A kind's result is fetched from its own result operation and from
// every one whose also-kinds names it (translated-tts's audio from
// /tts-result, its text from /translation-result); json-when names the
// query that asks a result operation for its JSON answer (FILE_URL for
// text-to-sound) rather than its audio.
//
// A [Result] names its kind. The results of the spec's default kind
// (text-to-sound) have IDs that are the check names, as they always had
// ("status-conforms"); those of another kind are KIND/CHECK
// ("tts/status-conforms"). Reports list the default kind first.
//
// # Spending
//
// The suite never follows a redirect of an API request: openapi.yaml
// declares none, so a 3xx fails the check whose request got it, and the
// API key never reaches another host. Only a file URL of a result, fetched
// without the key, may redirect. By default the suite is read-only: it
// creates no task, and checks only the tasks it is given and the answers
// to requests that cost nothing (bogus ids, a missing key, an invalid
// body). With [Target.AllowSpend] it creates one task of each kind checked,
// which costs credits on the live API; [Plan] says which. Each create body
// is built from the spec: its required fields from the request schema's
// examples, defaults or enums, the audio length where the kind's
// audio-length names a field, and a tiny generated WAV as the file part of
// a multipart create.
//
// [Verify] runs the suite against a [Target] and returns a [Report];
// package contract/contracttest runs it as subtests of a Go test. A
// [Monitor] makes the same checks of traffic it is shown but did not make,
// as the checking proxy in package contract/proxy does.
package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
)

// The names of the checks. They are stable: reports, JUnit files and
// tests refer to them.
const (
	CheckAuthMissingKey    = "auth-missing-key"
	CheckAuthWrongKey      = "auth-wrong-key"
	CheckUnknownTask       = "unknown-task"
	CheckUnknownRun        = "unknown-run"
	CheckInvalidCreateBody = "invalid-create-body"
	CheckCreateConforms    = "create-conforms"
	CheckTaskCreated       = "task-created"
	CheckStatusConforms    = "status-conforms"
	CheckSuccessRunID      = "success-has-run-id"
	CheckTerminalIsFinal   = "terminal-is-final"
	CheckPendingEnds       = "pending-ends"
	CheckRetryAfter        = "rate-limit-retry-after"
	CheckResultConforms    = "result-conforms"
	CheckResultAudio       = "result-audio"
	CheckResultFileURL     = "result-file-url"
	CheckBulkConforms      = "bulk-conforms"
	CheckBulkAnswers       = "bulk-answers"
)

// A Check is one thing the suite verifies.
type Check struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose"`
	// Spends is true for checks that need a task the suite creates, or one
	// given in Target.TaskIDs.
	Spends bool `json:"needs_task"`
}

// Checks returns every check of the suite, in the order reports list them
// for each kind of task. The purposes are those of the spec's default
// kind (text-to-sound); a [Result] of another kind carries a purpose that
// names its own operations where they differ (its result and bulk
// checks).
func Checks() []Check {
	return []Check{
		{CheckAuthMissingKey, "a request without x-api-key is rejected with a declared code (401 or 403) and body", false},
		{CheckAuthWrongKey, "a request with a key that cannot be valid is rejected with a declared code (401 or 403) and body (skipped against a cambmock that accepts any key)", false},
		{CheckUnknownTask, "polling a task id that does not exist gets the declared 404 and error body", false},
		{CheckUnknownRun, "fetching a run id that does not exist gets a declared 4xx and error body", false},
		{CheckInvalidCreateBody, "an invalid create body gets 422 in the declared FastAPI shape, naming the field", false},
		{CheckCreateConforms, "every create response conforms to openapi.yaml", true},
		{CheckTaskCreated, "create returns a task id that the status endpoint knows", true},
		{CheckStatusConforms, "every status response conforms to openapi.yaml", true},
		{CheckSuccessRunID, "a SUCCESS status carries an integer run_id", true},
		{CheckTerminalIsFinal, "a terminal status stays: polled again, the task answers 200 with the same status and run_id", true},
		{CheckPendingEnds, "PENDING ends within the bound (Target.PendingBound, by default 60% of Target.Timeout)", true},
		{CheckRetryAfter, "every 429 carries a Retry-After header", false},
		{CheckResultConforms, "every result response conforms to openapi.yaml", true},
		{CheckResultAudio, "the result is a well-formed WAV whose length matches the requested duration within 0.1 s", true},
		{CheckResultFileURL, "the FILE_URL result gives a URL that serves the same WAV", true},
		{CheckBulkConforms, "every bulk result response conforms to openapi.yaml", true},
		{CheckBulkAnswers, "the bulk endpoint answers for the run id with an output_url", true},
	}
}

// Target is an API to check. BaseURL is required; every other field has a
// useful zero value.
type Target struct {
	// BaseURL is the API's base URL, such as https://client.camb.ai/apis or
	// http://127.0.0.1:8080/apis.
	BaseURL string
	// APIKey is sent in the header the spec's security scheme names
	// (x-api-key). It never appears in reports or logs: a copy the target
	// echoes (in a body, a path, a header) is replaced by "[redacted]",
	// as are its URL-encoded and JSON-escaped forms, unless the key is
	// shorter than 4 bytes.
	APIKey cambmock.APIKey
	// Client sends the requests; nil means a new client whose requests
	// time out after RequestTimeout. API requests go through a shallow
	// copy of it that follows no redirect (Client itself is not changed);
	// a pre-signed file URL, fetched without the key, goes through Client
	// as it is, and may redirect.
	Client *http.Client
	// Header holds headers added to every request, such as
	// X-Cambmock-Scenario to pick a mock scenario.
	Header http.Header

	// Kinds names the kinds of task to check, such as "tts"; nil means
	// every kind the spec declares. A name the spec does not declare is an
	// error of Verify.
	Kinds []string
	// TaskIDs are existing tasks to check, read-only: each KIND/ID, such
	// as "tts/2f1c6b0e-...", or a bare ID of the spec's default kind
	// (text-to-sound), or of the one kind Kinds names.
	TaskIDs []string
	// AllowSpend lets the suite create a task of each kind checked, which
	// costs credits on the live API ([Plan] says what it creates). Without
	// it no task is created.
	AllowSpend bool
	// Duration is the length in seconds of the audio the suite asks for,
	// where a kind's create says how long its audio is (text-to-sound's
	// duration); zero means 2.
	Duration float64
	// Prompt, if not empty, is the text of the tasks the suite creates: it
	// fills a required string field named prompt or text. Empty means the
	// spec's example of that field.
	Prompt string

	// Timeout bounds the whole run; zero means 5 minutes.
	Timeout time.Duration
	// PendingBound is how long a task may stay in progress (PENDING),
	// counted from its first poll; zero means 60% of Timeout, which leaves
	// the rest of the run for the polls after the terminal status and the
	// results. It must be below Timeout, so that a stuck task is judged
	// by pending-ends before the run's deadline.
	PendingBound time.Duration
	// RequestTimeout bounds each request when Client is nil; zero means 60 s,
	// as the official SDK.
	RequestTimeout time.Duration
	// PollInterval is the first wait between polls, growing by half each
	// poll up to 10 s; zero means 1 s. A Retry-After answer sets the wait.
	PollInterval time.Duration
	// Sleep waits between polls and retries; nil means real time. Tests of
	// a mock on a manual clock pass a function that moves the clock, so a
	// ten-minute progression takes microseconds. It is called from one
	// goroutine per kind checked, concurrently.
	Sleep func(ctx context.Context, d time.Duration) error

	// Spec is the document to check against; nil means the embedded openapi.yaml.
	Spec *cambmock.Spec
	// Logger receives a debug line per request (keys redacted); nil discards.
	Logger *slog.Logger
	// Progress, if set, is called after each status poll, for a live
	// progress line; never by two kinds at once.
	Progress func(Progress)
}

// Progress is what [Target.Progress] is told after each status poll.
type Progress struct {
	Kind    string // the kind of the task, such as "tts"
	Task    string
	Status  string // the status seen, or the HTTP code or error if there was none
	Polls   int
	Elapsed time.Duration
}

// ErrTarget is wrapped by the errors [Verify] returns when it cannot run.
var ErrTarget = errors.New("cannot check the target")

func (tg *Target) validate() error {
	if tg.BaseURL == "" {
		return fmt.Errorf("%w: no base URL; give one such as https://client.camb.ai/apis", ErrTarget)
	}
	u, err := url.Parse(tg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base URL %q is not an http(s) URL such as https://client.camb.ai/apis", ErrTarget, tg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: base URL %q has a query or fragment; give only scheme, host and path", ErrTarget, tg.BaseURL)
	}
	if tg.Duration < 0 || tg.Timeout < 0 || tg.PendingBound < 0 || tg.RequestTimeout < 0 || tg.PollInterval < 0 {
		return fmt.Errorf("%w: durations must not be negative", ErrTarget)
	}
	if timeout, pending := tg.bounds(); pending >= timeout {
		return fmt.Errorf("%w: the pending bound %v (Target.PendingBound, --pending-bound) is not below the timeout %v (Target.Timeout, --timeout); "+
			"give a bound below the timeout, so a task stuck in PENDING is judged before the run ends", ErrTarget, pending, timeout)
	}
	return nil
}

// kinds returns the kinds tg checks, the spec's default kind first, then
// the others by name.
func (tg *Target) kinds(spec *cambmock.Spec) ([]*cambmock.Kind, error) {
	all := spec.Kinds()
	def := spec.DefaultKind()
	slices.SortStableFunc(all, func(a, b *cambmock.Kind) int {
		switch {
		case a == def:
			return -1
		case b == def:
			return 1
		}
		return 0
	})
	if tg.Kinds == nil {
		return all, nil
	}
	var out []*cambmock.Kind
	for _, name := range tg.Kinds {
		if spec.Kind(name) == nil {
			return nil, fmt.Errorf("%w: unknown kind %q; the spec declares %s", ErrTarget, name, kindNames(all))
		}
	}
	for _, k := range all {
		if slices.Contains(tg.Kinds, k.Name) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: Target.Kinds names no kind; give some of %s, or nil for all", ErrTarget, kindNames(all))
	}
	return out, nil
}

func kindNames(kinds []*cambmock.Kind) string { return strings.Join(kindList(kinds), ", ") }

func kindList(kinds []*cambmock.Kind) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return names
}

// taskIDs sorts tg.TaskIDs by kind: KIND/ID, or a bare ID of the default
// kind, or of the one kind checked.
func (tg *Target) taskIDs(spec *cambmock.Spec, kinds []*cambmock.Kind) (map[string][]string, error) {
	out := map[string][]string{}
	checked := func(name string) bool {
		return slices.ContainsFunc(kinds, func(k *cambmock.Kind) bool { return k.Name == name })
	}
	for _, given := range tg.TaskIDs {
		kind, id := "", given
		if prefix, rest, ok := strings.Cut(given, "/"); ok && spec.Kind(prefix) != nil {
			kind, id = prefix, rest
		}
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/?#") {
			return nil, fmt.Errorf("%w: task id %q cannot be used in a URL path", ErrTarget, given)
		}
		switch {
		case kind != "" && !checked(kind):
			return nil, fmt.Errorf("%w: task id %q is a %s task, but Target.Kinds (--kind) leaves %s out; check %s too, or leave the id out", ErrTarget, given, kind, kind, kind)
		case kind != "":
		case checked(spec.DefaultKind().Name):
			kind = spec.DefaultKind().Name
		case len(kinds) == 1:
			kind = kinds[0].Name
		default:
			return nil, fmt.Errorf("%w: task id %q names no kind, and the default kind %s is not checked; give it as KIND/ID, such as %s/%s", ErrTarget, given, spec.DefaultKind().Name, kinds[0].Name, given)
		}
		out[kind] = append(out[kind], id)
	}
	return out, nil
}

// bounds returns the run's timeout and the pending bound, defaults
// applied.
func (tg *Target) bounds() (timeout, pending time.Duration) {
	timeout, pending = tg.Timeout, tg.PendingBound
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	if pending == 0 {
		pending = time.Duration(float64(timeout) * pendingShare)
	}
	return timeout, pending
}
