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
func (s *kindRun) checkUnknownTask(ctx context.Context) (*exchange, error) {
	id := randomID()
	e := s.call(ctx, s.kind.Status.ID, CheckUnknownTask, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, s.kind.Status.URL(id), nil, nil, string(s.tg.APIKey))
	})
	if e.err != nil {
		if cut(ctx, e) {
			return nil, fmt.Errorf("%w %s: %v before the first answer", ErrTarget, s.base.Redacted(), context.Cause(ctx))
		}
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
func (s *kindRun) checkAuth(ctx context.Context, check, key string) *exchange {
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
// cambmock's. It asks once per run, whichever kind asks first.
func (s *suite) cambmockAuth(ctx context.Context, check string) string {
	s.authOnce.Do(func() { s.auth = s.askHealth(ctx, check) })
	return s.auth
}

func (s *suite) askHealth(ctx context.Context, check string) string {
	root := *s.base
	root.Path = strings.TrimSuffix(root.Path, s.spec.BasePath())
	root.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(root.String(), "/")+"/__admin/health", nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "cambmock-verify")
	e := s.send(s.client, req, "", opHealth, check)
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

func (s *kindRun) checkUnknownRun(ctx context.Context) *exchange {
	op := s.unknownRunOp()
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

func (s *kindRun) checkInvalidCreate(ctx context.Context) *exchange {
	// No API can create a task from it, so this costs nothing even in
	// read-only mode.
	op := s.kind.Create
	body, at := invalidBody(op)
	if body == nil {
		s.skip(CheckInvalidCreateBody, "openapi.yaml's create request of %s tasks (%s) requires no field and has no number field, so the suite knows no body that is invalid", s.kind.Name, op.ID)
		return nil
	}
	e := s.call(ctx, op.ID, CheckInvalidCreateBody, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, op.URL(""), nil, body, string(s.tg.APIKey))
	})
	_, schema := bodySchema(op)
	reqd := required(schema)
	what := "an invalid create body"
	if len(reqd) > 0 {
		what = "a create body without " + strings.Join(reqd, " or ")
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
	var answer struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	json.Unmarshal(e.body, &answer)
	var locs []string
	bodyOnly := len(answer.Detail) > 0
	for _, d := range answer.Detail {
		locs = append(locs, jsonText(d.Loc))
		for _, l := range d.Loc {
			if name, ok := l.(string); ok && name != "" && slices.Contains(at, name) {
				return e
			}
		}
		bodyOnly = bodyOnly && len(d.Loc) == 1 && d.Loc[0] == "body"
	}
	if len(at) == 0 {
		return e // the spec names no field to expect
	}
	if bodyOnly && body.contentType != mediaJSON {
		// FastAPI names the form field at fault; a 422 that names only
		// the body conforms to HTTPValidationError all the same.
		s.mu.Lock()
		s.obs.warn("validation", strings.Join(at, " or "), op.ID, fmt.Sprintf("%s answers an invalid form with a 422 whose locs name only the body; FastAPI names the form field at fault (%s)", op.ID, strings.Join(at, " or ")))
		s.mu.Unlock()
		s.note(CheckInvalidCreateBody, "the 422 names only the body, not the field at fault (%s): see the warning", strings.Join(at, " or "))
		return e
	}
	s.fail(CheckInvalidCreateBody, s.failure(e, fmt.Sprintf("the 422 does not name the field at fault (%s) in any loc", strings.Join(at, " or ")),
		wantGot(fmt.Sprintf("a loc such as [\"body\",%q]", at[0]), "locs "+strings.Join(locs, ", "))))
	return e
}

// checkBaseURL stops the run when every probe of the API, of every kind,
// answered 404 or 405: no operation answered as an API would (no 422, no
// 401 or 403), so the base URL is not the API's, and every check that
// expects a 404 would pass for the wrong reason. It says where the API
// probably is.
func (s *suite) checkBaseURL(ctx context.Context) error {
	var seen []string
	more, others := 0, 0
	for i, k := range s.runs {
		found := k.notFound()
		if found == nil {
			return nil
		}
		if i == 0 {
			seen = found
			continue
		}
		more += len(found)
		others++
	}
	if len(seen) == 0 && more == 0 {
		return nil
	}
	list := strings.Join(seen, ", ")
	if others > 0 {
		list += fmt.Sprintf(", and %d more of the %d other kinds' operations", more, others)
	}
	msg := fmt.Sprintf("no operation of openapi.yaml answers there: every request got 404 or 405 (%s), none the 422, 401 or 403 an API answers", list)
	if alt := s.runs[0].apiAt(ctx); alt != "" {
		return fmt.Errorf("%w %s: %s; the API answers at %s; give --base-url %s", ErrTarget, s.base.Redacted(), msg, alt, alt)
	}
	return fmt.Errorf("%w %s: %s; is --base-url the API's base URL, such as %s?", ErrTarget, s.base.Redacted(), msg, cambmock.LiveBaseURL)
}

// notFound returns the kind's probes as "METHOD PATH CODE" when every one
// got 404 or 405, or nil when one got another answer.
func (k *kindRun) notFound() []string {
	seen := []string{}
	for _, e := range k.probes {
		if e == nil {
			continue
		}
		if e.code != http.StatusNotFound && e.code != http.StatusMethodNotAllowed {
			return nil
		}
		path := e.rel
		if op := k.spec.OperationByID(e.op); op != nil {
			path = op.Path
		}
		if got := fmt.Sprintf("%s %s %d", e.req.Method, path, e.code); !slices.Contains(seen, got) {
			seen = append(seen, got)
		}
	}
	return seen
}

// checkServed fails the kind's unknown-id checks, which a 404 would pass
// for the wrong reason, when every probe of the kind got 404 or 405 while
// another kind's answered: the target does not serve this kind.
func (k *kindRun) checkServed() {
	found := k.notFound()
	if found == nil || len(found) == 0 {
		return
	}
	k.served = false
	problem := fmt.Sprintf("no operation of %s tasks answers at the target: every request for them got 404 or 405 (%s), while other kinds' got answers; "+
		"the target does not serve %s tasks where openapi.yaml says, so a 404 here proves nothing; leave the kind out with --kind (Target.Kinds) if it should not",
		k.kind.Name, strings.Join(found, ", "), k.kind.Name)
	for _, e := range k.probes {
		if e != nil && (e.check == CheckUnknownTask || e.check == CheckUnknownRun) {
			k.fail(e.check, k.failure(e, problem, ""))
		}
	}
}

// apiAt tries the invalid create at the base URL plus the spec's base
// path, and returns that URL if an API answers there (422, 401 or 403).
func (s *kindRun) apiAt(ctx context.Context) string {
	bp := s.spec.BasePath()
	if bp == "" || strings.HasSuffix(s.base.Path, bp) {
		return ""
	}
	alt := *s.base
	alt.Path = strings.TrimSuffix(alt.Path, "/") + bp
	alt.RawPath = ""
	body, _ := invalidBody(s.kind.Create)
	if body == nil {
		body = jsonPayload(map[string]any{})
	}
	req := s.newRequestAt(ctx, &alt, http.MethodPost, s.kind.Create.URL(""), nil, body, string(s.tg.APIKey))
	e := s.send(s.client, req, s.kind.Name, s.kind.Create.ID, CheckInvalidCreateBody)
	switch e.code {
	case http.StatusUnprocessableEntity, http.StatusUnauthorized, http.StatusForbidden:
		return alt.Redacted()
	}
	return ""
}

// create creates a task of the kind, its body built from the spec, and
// returns its id and the audio length it asks for (0 when it cannot say),
// or "" if it could not.
func (s *kindRun) create(ctx context.Context) (string, float64) {
	op := s.kind.Create
	body, err := createBody(op, s.tg.duration(), s.tg.Prompt)
	if err == nil {
		err = conforms(s.spec, op, body)
	}
	if err != nil {
		s.ran(CheckTaskCreated)
		s.fail(CheckTaskCreated, Failure{Problem: fmt.Sprintf("the suite cannot build a create body of %s tasks that conforms to openapi.yaml (from its request schema's examples, defaults and enums): %s; "+
			"give the schema examples that conform", s.kind.Name, s.scrub.text(err.Error()))})
		return "", 0
	}
	e := s.call(ctx, op.ID, CheckCreateConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, op.URL(""), nil, body, string(s.tg.APIKey))
	})
	if cut(ctx, e) {
		s.skip(CheckTaskCreated, "the run's deadline (Target.Timeout, --timeout) came before the task could be created")
		return "", 0
	}
	s.ran(CheckTaskCreated)
	switch {
	case e.err != nil:
		s.fail(CheckTaskCreated, s.failure(e, "the task could not be created: "+transportError(e.err), ""))
		return "", 0
	case e.code != http.StatusOK:
		s.fail(CheckTaskCreated, s.failure(e, fmt.Sprintf("the task could not be created: the create answered %d", e.code), ""))
		return "", 0
	}
	field := taskIDField(op)
	var created map[string]any
	json.Unmarshal(e.body, &created)
	id, ok := created[field].(string)
	if !ok || id == "" {
		s.fail(CheckTaskCreated, s.failure(e, fmt.Sprintf("the create answer has no %s string", field), wantGot(fmt.Sprintf("a %q string", field), jsonText(created[field]))))
		return "", 0
	}
	return id, requestedSeconds(op, body)
}

// taskIDField names the field of a create answer that holds the task id:
// task_id, or the first string field the answer's schema requires.
func taskIDField(op *cambmock.Operation) string {
	s := op.JSONSchema(http.StatusOK)
	if s == nil {
		return "task_id"
	}
	props := properties(s)
	if p := props["task_id"]; p != nil {
		return "task_id"
	}
	for _, name := range required(s) {
		if p := props[name]; p != nil && p.Type.Is("string") {
			return name
		}
	}
	return "task_id"
}

// isHTTPURL reports whether s is an http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
