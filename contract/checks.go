package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cambmock/cambmock"
)

// The read-only checks: requests that cost nothing on any API.

// checkUnknownTask polls a task id that cannot exist. A transport failure
// here means the target cannot be reached: Verify stops with an error.
func (s *suite) checkUnknownTask(ctx context.Context) (*exchange, error) {
	id := randomID()
	e := s.call(ctx, s.kind.Status.ID, CheckUnknownTask, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, s.kind.Status.URL(id), nil, nil, string(s.tg.APIKey))
	})
	if e.err != nil {
		return nil, s.unreachable(e.err)
	}
	switch {
	case isRedirect(e.code):
		// inspect has reported it.
	case e.code == http.StatusNotFound:
	case e.code >= 200 && e.code < 300:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("a task id that does not exist got %d, as if the task existed", e.code),
			wantGot("404 and a detail saying why", fmt.Sprintf("%d %s", e.code, bodyText(e)))))
	case e.code == http.StatusUnauthorized || e.code == http.StatusForbidden:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("the API key was rejected (%d), so nothing else can be checked; give a valid key with --api-key or $CAMB_API_KEY", e.code), ""))
	default:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("a task id that does not exist got %d, not the declared 404", e.code),
			wantGot("404", fmt.Sprint(e.code))))
	}
	if html := strings.Contains(e.header.Get("Content-Type"), "html"); html && e.code == http.StatusNotFound {
		s.note(CheckUnknownTask, "the target answered an HTML page: is the base URL right? It should end in %s", s.spec.BasePath())
	}
	return e, nil
}

// bodyText shows a JSON body compactly and cut short, for a Diff.
func bodyText(e *exchange) string {
	var b bytes.Buffer
	if json.Compact(&b, e.body) != nil {
		return "(a body that is not JSON)"
	}
	return clip(b.String(), 2*maxValue)
}

// unreachable words why the target could not be reached.
func (s *suite) unreachable(err error) error {
	msg := transportError(err)
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		msg = fmt.Sprintf("the host %q cannot be found (%s); check --base-url", s.base.Host, dns.Err)
	case strings.Contains(msg, "certificate") || strings.Contains(msg, "tls:") || strings.Contains(msg, "x509"):
		msg = fmt.Sprintf("TLS failed: %s; check the base URL's scheme and host (http:// for a local mock)", msg)
	case errors.As(err, &op) && op.Op == "dial":
		msg = fmt.Sprintf("cannot connect to %s: %s; is the server running, and is --base-url right?", s.base.Host, op.Err)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout"):
		msg = fmt.Sprintf("no answer from %s in time (%s); check --base-url, or raise --timeout", s.base.Host, msg)
	}
	return fmt.Errorf("%w %s: %s", ErrTarget, s.base.Redacted(), s.scrub.text(msg))
}

// checkAuth polls a task with a missing key ("") or one that cannot be
// valid. Against cambmock accepting any non-empty key, a wrong key cannot
// be told from a right one: the check is skipped and says so.
func (s *suite) checkAuth(ctx context.Context, check, key string) *exchange {
	e := s.call(ctx, s.kind.Status.ID, check, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, s.kind.Status.URL(randomID()), nil, nil, key)
	})
	switch {
	case e.err != nil:
		s.fail(check, s.failure(e, "no answer: "+transportError(e.err), ""))
		return e
	case isRedirect(e.code):
		return e // inspect has reported it
	case e.code == http.StatusUnauthorized || e.code == http.StatusForbidden:
		s.note(check, "answered %d", e.code)
		return e
	}
	what := "without a key"
	if key != "" {
		what = "with a key that cannot be valid"
	}
	problem := fmt.Sprintf("a request %s got %d, not 401 or 403", what, e.code)
	if key != "" {
		switch s.cambmockAuth(ctx, check) {
		case "any-key":
			s.skip(check, "the target is cambmock accepting any non-empty key (its /__admin/health says auth: any-key), "+
				"so no key is wrong there; start it with --api-key KEY (mockserver.WithAPIKeys in Go) to check keys")
			return e
		case "keys":
			problem += "; the target is cambmock, whose /__admin/health says it checks keys, yet it accepted this one"
		default:
			problem += ": the target accepts any key"
		}
	}
	s.fail(check, s.failure(e, problem, wantGot("401 or 403", fmt.Sprint(e.code))))
	return e
}

// cambmockAuth asks the target's root (the base URL without the spec's
// base path) for cambmock's /__admin/health, sending no key, and returns
// what it says of keys: "any-key", "keys", or "" when the answer is not
// cambmock's.
func (s *suite) cambmockAuth(ctx context.Context, check string) string {
	root := *s.base
	root.Path = strings.TrimSuffix(root.Path, s.spec.BasePath())
	root.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(root.String(), "/")+"/__admin/health", nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "cambmock-verify")
	e := s.send(s.client, req, opHealth, check)
	if e.err != nil || e.code != http.StatusOK || !strings.Contains(e.header.Get("Content-Type"), "json") {
		return ""
	}
	var h struct {
		Service string `json:"service"`
		Auth    string `json:"auth"`
	}
	if json.Unmarshal(e.body, &h) != nil || h.Service != "cambmock" {
		return ""
	}
	return h.Auth
}

func (s *suite) checkUnknownRun(ctx context.Context) *exchange {
	op := s.kind.Result
	if op == nil {
		s.skip(CheckUnknownRun, "openapi.yaml declares no result operation for %s tasks", s.kind.Name)
		return nil
	}
	e := s.call(ctx, op.ID, CheckUnknownRun, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, op.URL("987654321987"), nil, nil, string(s.tg.APIKey))
	})
	switch {
	case e.err != nil:
		s.fail(CheckUnknownRun, s.failure(e, "no answer: "+transportError(e.err), ""))
	case isRedirect(e.code):
	case e.code != http.StatusNotFound && e.code != http.StatusBadRequest:
		s.fail(CheckUnknownRun, s.failure(e, fmt.Sprintf("a run id that does not exist got %d, not 404 (or 400)", e.code),
			wantGot("404 (or 400)", fmt.Sprint(e.code))))
	default:
		s.note(CheckUnknownRun, "answered %d", e.code)
	}
	return e
}

// createSchema tells what a create body of kind holds: the fields it
// requires, and the field that gives the audio's length ("" if none).
func createSchema(kind *cambmock.Kind) (required []string, length string, props map[string]bool) {
	props = map[string]bool{}
	if kind.Create.AudioLength != nil {
		length = kind.Create.AudioLength.Field
	}
	rb := kind.Create.Op.RequestBody
	if rb == nil || rb.Value == nil {
		return nil, length, props
	}
	mt := rb.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, length, props
	}
	for name := range mt.Schema.Value.Properties {
		props[name] = true
	}
	return mt.Schema.Value.Required, length, props
}

// invalidCreate is a create body no API can make a task of: its required
// fields left out, and its length of the wrong type.
func invalidCreate(kind *cambmock.Kind) map[string]any {
	body := map[string]any{}
	if _, length, _ := createSchema(kind); length != "" {
		body[length] = "not-a-number"
	}
	return body
}

func (s *suite) checkInvalidCreate(ctx context.Context) *exchange {
	// No API can create a task from it, so this costs nothing even in
	// read-only mode.
	op := s.kind.Create
	e := s.call(ctx, op.ID, CheckInvalidCreateBody, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, op.URL(""), nil, invalidCreate(s.kind), string(s.tg.APIKey))
	})
	required, length, _ := createSchema(s.kind)
	at := slices.Clone(required)
	if length != "" {
		at = append(at, length)
	}
	what := "an invalid create body"
	if len(required) > 0 {
		what = "a create body without " + strings.Join(required, " or ")
	}
	switch {
	case e.err != nil:
		s.fail(CheckInvalidCreateBody, s.failure(e, "no answer: "+transportError(e.err), ""))
		return e
	case isRedirect(e.code):
		return e
	case e.code != http.StatusUnprocessableEntity:
		s.fail(CheckInvalidCreateBody, s.failure(e, fmt.Sprintf("%s got %d, not 422", what, e.code), wantGot("422", fmt.Sprint(e.code))))
		return e
	}
	var body struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	json.Unmarshal(e.body, &body)
	var locs []string
	for _, d := range body.Detail {
		locs = append(locs, jsonText(d.Loc))
		for _, l := range d.Loc {
			if name, ok := l.(string); ok && name != "" && slices.Contains(at, name) {
				return e
			}
		}
	}
	if len(at) == 0 {
		return e // the spec names no field to expect
	}
	s.fail(CheckInvalidCreateBody, s.failure(e, fmt.Sprintf("the 422 does not name the field at fault (%s) in any loc", strings.Join(at, " or ")),
		wantGot(fmt.Sprintf("a loc such as [\"body\",%q]", at[0]), "locs "+strings.Join(locs, ", "))))
	return e
}

// checkBaseURL stops the run when every probe of the API answered 404 or
// 405: no operation answered as an API would (no 422, no 401 or 403), so
// the base URL is not the API's, and every check that expects a 404 would
// pass for the wrong reason. It says where the API probably is.
func (s *suite) checkBaseURL(ctx context.Context, probes []*exchange) error {
	var seen []string
	for _, e := range probes {
		if e == nil {
			continue
		}
		if e.code != http.StatusNotFound && e.code != http.StatusMethodNotAllowed {
			return nil
		}
		path := e.rel
		if op := s.spec.OperationByID(e.op); op != nil {
			path = op.Path
		}
		if got := fmt.Sprintf("%s %s %d", e.req.Method, path, e.code); !slices.Contains(seen, got) {
			seen = append(seen, got)
		}
	}
	if len(seen) == 0 {
		return nil
	}
	msg := fmt.Sprintf("no operation of openapi.yaml answers there: every request got 404 or 405 (%s), none the 422, 401 or 403 an API answers",
		strings.Join(seen, ", "))
	if alt := s.apiAt(ctx); alt != "" {
		return fmt.Errorf("%w %s: %s; the API answers at %s; give --base-url %s", ErrTarget, s.base.Redacted(), msg, alt, alt)
	}
	return fmt.Errorf("%w %s: %s; is --base-url the API's base URL, such as %s?", ErrTarget, s.base.Redacted(), msg, cambmock.LiveBaseURL)
}

// apiAt tries the invalid create at the base URL plus the spec's base
// path, and returns that URL if an API answers there (422, 401 or 403).
func (s *suite) apiAt(ctx context.Context) string {
	bp := s.spec.BasePath()
	if bp == "" || strings.HasSuffix(s.base.Path, bp) {
		return ""
	}
	alt := *s.base
	alt.Path = strings.TrimSuffix(alt.Path, "/") + bp
	alt.RawPath = ""
	req := s.newRequestAt(ctx, &alt, http.MethodPost, s.kind.Create.URL(""), nil, invalidCreate(s.kind), string(s.tg.APIKey))
	e := s.send(s.client, req, s.kind.Create.ID, CheckInvalidCreateBody)
	switch e.code {
	case http.StatusUnprocessableEntity, http.StatusUnauthorized, http.StatusForbidden:
		return alt.Redacted()
	}
	return ""
}

// create creates a task of kind and returns its id, or "" if it could not.
func (s *suite) create(ctx context.Context, kind *cambmock.Kind, duration float64) string {
	prompt := s.tg.Prompt
	if prompt == "" {
		prompt = "A short soft beep, for an API contract check"
	}
	body := map[string]any{"prompt": prompt}
	_, length, props := createSchema(kind)
	if length != "" {
		body[length] = duration
	}
	if props["audio_type"] {
		body["audio_type"] = "sound"
	}
	e := s.call(ctx, kind.Create.ID, CheckCreateConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, kind.Create.URL(""), nil, body, string(s.tg.APIKey))
	})
	if cut(ctx, e) {
		s.skip(CheckTaskCreated, "the run's deadline (Target.Timeout, --timeout) came before the task could be created")
		return ""
	}
	s.ran(CheckTaskCreated)
	switch {
	case e.err != nil:
		s.fail(CheckTaskCreated, s.failure(e, "the task could not be created: "+transportError(e.err), ""))
		return ""
	case e.code != http.StatusOK:
		s.fail(CheckTaskCreated, s.failure(e, fmt.Sprintf("the task could not be created: the create answered %d", e.code), ""))
		return ""
	}
	var created struct {
		TaskID any `json:"task_id"`
	}
	json.Unmarshal(e.body, &created)
	id, ok := created.TaskID.(string)
	if !ok || id == "" {
		s.fail(CheckTaskCreated, s.failure(e, "the create answer has no task_id string", wantGot(`a "task_id" string`, jsonText(created.TaskID))))
		return ""
	}
	return id
}

// isHTTPURL reports whether s is an http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
