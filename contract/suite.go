package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
)

// opFile names, in reports, the fetch of a pre-signed file URL, which is
// no operation of openapi.yaml.
const opFile = "file"

// opHealth names, in reports, the probe of cambmock's /__admin/health the
// suite makes when a wrong key is accepted, which is no operation of
// openapi.yaml either.
const opHealth = "health"

// maxBody bounds how much of a response the suite reads.
const maxBody = 64 << 20

// retries is how many times a request is retried on a network error, a
// 429 or a 5xx, as the official SDK and the docs' sample do.
const retries = 4

// pendingShare is the share of Target.Timeout a task may stay in
// progress when Target.PendingBound is zero: it leaves the rest of the
// run for the polls after the terminal status and the results.
const pendingShare = 0.6

// redirectTold ends the suite's problem for an undeclared redirect.
const redirectTold = ", and the suite does not follow it, so the API key never reaches another host"

// Verify runs the suite against tg. The error is non-nil only when the
// suite could not run (a bad Target, an unreachable host, a TLS failure,
// a base URL where no operation of the API answers); it wraps
// [ErrTarget]. Violations and drift are in the Report.
func Verify(ctx context.Context, tg Target) (*Report, error) {
	if err := tg.validate(); err != nil {
		return nil, err
	}
	s, err := newSuite(tg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	return s.finish(), nil
}

// suite is one run of the checks.
type suite struct {
	tg   Target
	spec *cambmock.Spec
	kind *cambmock.Kind // the kind of task checked: the spec's default kind
	// client sends API requests and follows no redirect; fileClient
	// fetches pre-signed file URLs, without the key, and may.
	client     *http.Client
	fileClient *http.Client
	base       *url.URL
	keyHeader  string
	scrub      *scrubber
	log        *slog.Logger
	timeout    time.Duration
	pending    time.Duration
	interval   time.Duration
	start      time.Time
	virtual    time.Duration // time Target.Sleep stood for

	report    Report
	obs       *observer
	failures  map[string][]Failure
	exercised map[string]bool
	skipped   map[string]bool // checks that met their case but could not judge it
	notes     map[string]string
}

// noRedirects returns a shallow copy of c that follows no redirect: the
// 3xx is the answer. c itself is left as it is.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func newSuite(tg Target) (*suite, error) {
	timeout, pending := tg.bounds()
	s := &suite{
		tg:        tg,
		spec:      tg.Spec,
		log:       tg.Logger,
		timeout:   timeout,
		pending:   pending,
		interval:  tg.PollInterval,
		scrub:     newScrubber(string(tg.APIKey)),
		failures:  map[string][]Failure{},
		exercised: map[string]bool{},
		skipped:   map[string]bool{},
		notes:     map[string]string{},
	}
	s.base, _ = url.Parse(strings.TrimSuffix(tg.BaseURL, "/"))
	if s.spec == nil {
		spec, err := cambmock.LoadSpec()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTarget, err)
		}
		s.spec = spec
	}
	s.kind = s.spec.DefaultKind()
	s.keyHeader = s.spec.APIKeyHeader()
	s.fileClient = tg.Client
	if s.fileClient == nil {
		rt := tg.RequestTimeout
		if rt == 0 {
			rt = 60 * time.Second
		}
		s.fileClient = &http.Client{Timeout: rt}
	}
	s.client = noRedirects(s.fileClient)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.interval == 0 {
		s.interval = time.Second
	}
	s.start = time.Now()
	s.report = Report{
		BaseURL:  s.base.Redacted(),
		ReadOnly: !tg.AllowSpend,
		Started:  s.start,
		Calls:    []Call{},
	}
	s.obs = newObserver(s.spec, redirectTold)
	return s, nil
}

// now is the time since the run started: real time plus the time
// Target.Sleep stood for.
func (s *suite) now() time.Duration { return time.Since(s.start) + s.virtual }

func (s *suite) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if s.tg.Sleep != nil {
		s.virtual += d
		return s.tg.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail records a failure of check; the same problem seen again in the
// same answer is counted, not repeated.
func (s *suite) fail(check string, f Failure) {
	s.exercised[check] = true
	list := s.failures[check]
	for i := range list {
		if list[i].Problem == f.Problem && list[i].Response == f.Response {
			list[i].Count++
			return
		}
	}
	f.Count = 1
	s.failures[check] = append(list, f)
}

func (s *suite) ran(check string) {
	s.exercised[check] = true
	delete(s.skipped, check)
}

// note sets check's note. The key is scrubbed from args, which may come
// from the target, not from format, the suite's own words (a key such as
// "any-key" must not redact "auth: any-key").
func (s *suite) note(check, format string, args ...any) {
	for i, a := range args {
		if str, ok := a.(string); ok {
			args[i] = s.scrub.text(str)
		}
	}
	s.notes[check] = fmt.Sprintf(format, args...)
}

// skip makes check a skip with a note, unless it failed or a later step
// passes it: the check met what it checks but could not judge it. It
// overrides an earlier pass, so a check judged for one task and not for
// another is a skip.
func (s *suite) skip(check, format string, args ...any) {
	s.skipped[check] = true
	delete(s.exercised, check)
	s.note(check, format, args...)
}

func (s *suite) run(ctx context.Context) error {
	// The first request tells whether the target can be reached at all.
	unknownTask, err := s.checkUnknownTask(ctx)
	if err != nil {
		return err
	}
	probes := []*exchange{
		unknownTask,
		s.checkAuth(ctx, CheckAuthMissingKey, ""),
		s.checkAuth(ctx, CheckAuthWrongKey, "cambmock-contract-invalid-key-0000"),
		s.checkUnknownRun(ctx),
		s.checkInvalidCreate(ctx),
	}
	if err := s.checkBaseURL(ctx, probes); err != nil {
		return err
	}
	for _, id := range s.tg.TaskIDs {
		s.follow(ctx, s.kind, id, 0, false)
	}
	if s.tg.AllowSpend {
		d := s.tg.Duration
		if d == 0 {
			d = 2
		}
		if id := s.create(ctx, s.kind, d); id != "" {
			s.follow(ctx, s.kind, id, d, true)
		}
	}
	return nil
}

// finish turns what was found into the report.
func (s *suite) finish() *Report {
	r := &s.report
	r.Elapsed = Duration(time.Since(s.start))
	r.Drift = s.obs.drift
	for _, c := range Checks() {
		res := Result{Check: c, Note: s.notes[c.Name]}
		switch {
		case len(s.failures[c.Name]) > 0:
			res.Outcome = Fail
			res.Failures = s.failures[c.Name]
		case s.exercised[c.Name]:
			res.Outcome = Pass
		default:
			res.Outcome = Skip
			if res.Note == "" && !s.skipped[c.Name] {
				res.Note = s.skipReason(c)
			}
		}
		r.Results = append(r.Results, res)
	}
	return r
}

func (s *suite) skipReason(c Check) string {
	switch {
	case c.Name == CheckRetryAfter:
		return "no 429 was answered"
	case c.Spends && !s.tg.AllowSpend && len(s.tg.TaskIDs) == 0:
		return "needs a task: run with --allow-spend (costs credits) or give --task-id"
	case c.Name == CheckSuccessRunID:
		return "no task reached SUCCESS"
	case c.Name == CheckResultConforms, c.Name == CheckResultAudio, c.Name == CheckResultFileURL, c.Name == CheckBulkConforms, c.Name == CheckBulkAnswers:
		return "no task reached SUCCESS with an integer run_id, so there was no result to fetch"
	}
	return "not reached: an earlier step did not get that far"
}

// exchange is one request and what came back.
type exchange struct {
	op        string
	check     string
	req       *http.Request
	rel       string // the URL path relative to the base URL
	keyHeader string // the header that carries the API key
	scrub     *scrubber
	code      int
	header    http.Header
	body      []byte
	err       error
	latency   time.Duration
}

// describeRequest shows a request without its key.
func (e *exchange) describeRequest() string {
	name := e.keyHeader
	if name == "" {
		name = "API key"
	}
	key := "no " + name
	if e.keyHeader != "" && e.req.Header.Get(e.keyHeader) != "" {
		key = name + ": " + redacted
	}
	u := *e.req.URL
	u.RawQuery = redactQuery(u.RawQuery, e.keyHeader)
	return clip(e.scrub.text(fmt.Sprintf("%s %s (%s)", e.req.Method, u.Redacted(), key)), 600)
}

// describeResponse shows a response, cut short.
func (e *exchange) describeResponse() string {
	if e.err != nil {
		return e.scrub.text("no response: " + e.err.Error())
	}
	ct := e.header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	ct = clip(ct, maxValue)
	var body string
	switch {
	case len(e.body) == 0:
		body = "(empty body)"
	case strings.HasPrefix(ct, "audio/") || !isText(e.body):
		body = fmt.Sprintf("(%d bytes of binary)", len(e.body))
	default:
		// Scrubbed before it is cut, so no part of a key is left.
		body = e.scrub.text(string(e.body[:min(len(e.body), 4096)]))
		body = clip(strings.Join(strings.Fields(body), " "), 400)
	}
	if isRedirect(e.code) {
		if l := e.header.Get("Location"); l != "" {
			ct = "Location " + clip(redactURL(l, e.keyHeader), 2*maxValue) + ", " + ct
		}
	}
	return e.scrub.text(fmt.Sprintf("%d %s %s", e.code, ct, body))
}

func isText(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	return !bytes.ContainsRune(b, 0) && strings.HasPrefix(http.DetectContentType(b), "text/")
}

func (s *suite) failure(e *exchange, problem string, diff string) Failure {
	f := s.scrub.failure(Failure{Problem: problem, Request: e.describeRequest(), Response: e.describeResponse(), Diff: diff})
	f.Diff = clip(f.Diff, 600)
	return f
}

// newRequest builds a request to path (relative to the base URL).
func (s *suite) newRequest(ctx context.Context, method, path string, query url.Values, body any, key string) *http.Request {
	return s.newRequestAt(ctx, s.base, method, path, query, body, key)
}

// newRequestAt builds a request to path relative to base.
func (s *suite) newRequestAt(ctx context.Context, base *url.URL, method, path string, query url.Values, body any, key string) *http.Request {
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, u.String(), rd)
	for k, v := range s.tg.Header {
		req.Header[k] = slices.Clone(v)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set(s.keyHeader, key)
	}
	req.Header.Set("User-Agent", "cambmock-verify")
	return req
}

// send makes one request with client and reads the answer.
func (s *suite) send(client *http.Client, req *http.Request, op, check string) *exchange {
	e := &exchange{op: op, check: check, req: req, rel: strings.TrimPrefix(req.URL.Path, s.base.Path), keyHeader: s.keyHeader, scrub: s.scrub}
	begin := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		e.code, e.header = resp.StatusCode, resp.Header
		var truncated bool
		e.body, truncated, err = cambmock.ReadLimited(resp.Body, maxBody)
		resp.Body.Close()
		if err == nil && truncated {
			err = fmt.Errorf("the body is over %d bytes", maxBody)
		}
		if err != nil {
			err = fmt.Errorf("reading the %d response's body: %w", e.code, err)
		}
	}
	e.err = err
	e.latency = time.Since(begin)
	path := e.rel
	if op == opFile || op == opHealth {
		path = req.URL.Path
	}
	call := Call{Operation: op, Method: req.Method, Path: clip(s.scrub.text(path), 600), Check: check, Code: e.code, Latency: Duration(e.latency)}
	if err != nil {
		call.Error = s.scrub.text(transportError(err))
		e.code = 0
	}
	s.report.Calls = append(s.report.Calls, call)
	s.log.Debug("request", "method", req.Method, "path", call.Path, "code", call.Code, "latency", e.latency, "err", call.Error)
	return e
}

// transportError words a transport error without the URL, which the
// report already shows.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// call sends an API request built by build, retrying on network errors,
// 429 and 5xx answers (waiting for Retry-After when given), and checks
// each answer against the spec under check. It follows no redirect. It
// returns the last exchange.
func (s *suite) call(ctx context.Context, op, check string, retry bool, build func(ctx context.Context) *http.Request) *exchange {
	return s.callWith(ctx, s.client, op, check, retry, build)
}

func (s *suite) callWith(ctx context.Context, client *http.Client, op, check string, retry bool, build func(ctx context.Context) *http.Request) *exchange {
	wait := time.Second
	var e *exchange
	for attempt := 0; ; attempt++ {
		e = s.send(client, build(ctx), op, check)
		s.inspect(e)
		again := e.err != nil || e.code == http.StatusTooManyRequests || e.code >= 500
		if !retry || !again || attempt == retries || ctx.Err() != nil || unreachable(e.err) {
			return e
		}
		d := wait
		if ra, ok := retryAfter(e.header); ok && e.err == nil {
			d = ra
		}
		if s.sleep(ctx, d) != nil {
			return e
		}
		wait *= 2
	}
}

// cut reports whether e failed because ctx ended, which is no fault of
// the target.
func cut(ctx context.Context, e *exchange) bool { return e.err != nil && ctx.Err() != nil }

// unreachable reports whether err says the host cannot be reached at
// all (no such host, connection refused, a TLS failure), which retrying
// will not mend.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var dns *net.DNSError
	var op *net.OpError
	msg := err.Error()
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") ||
		strings.Contains(msg, "certificate") || strings.Contains(msg, "tls:") || strings.Contains(msg, "x509")
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// inspect validates an answer against the spec and notes its drift. Its
// schema violations, and an undeclared redirect, go to the check the
// exchange was made for.
func (s *suite) inspect(e *exchange) {
	if e.err != nil {
		return
	}
	if e.op != opFile {
		s.ran(e.check)
	}
	for _, f := range s.obs.observe(e) {
		check := f.check
		if check == "" {
			check = e.check
		}
		if check == CheckRetryAfter {
			s.ran(CheckRetryAfter)
		}
		if f.problem != "" {
			s.fail(check, s.failure(e, f.problem, f.diff))
		}
	}
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEqual(a, b any) bool { return jsonText(a) == jsonText(b) }
