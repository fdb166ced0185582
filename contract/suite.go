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
	"sync"
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

// Verify runs the suite against tg: the read-only checks of every kind
// checked, side by side, then (once they show the API answers at the base
// URL) the tasks given and, with AllowSpend, one task created of each
// kind. The error is non-nil only when the suite could not run (a bad
// Target, an unreachable host, a TLS failure, a base URL where no
// operation of the API answers); it wraps [ErrTarget]. Violations and
// drift are in the Report.
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

// suite is one run of the checks: what its kinds share.
type suite struct {
	tg   Target
	spec *cambmock.Spec
	// client sends API requests and follows no redirect; fileClient
	// fetches file URLs, without the key, and may.
	client     *http.Client
	fileClient *http.Client
	base       *url.URL
	keyHeader  string
	scrub      *scrubber // ready before the kinds start, then only read
	log        *slog.Logger
	timeout    time.Duration
	pending    time.Duration
	interval   time.Duration
	start      time.Time
	runs       []*kindRun

	authOnce sync.Once
	auth     string // what the target's /__admin/health says of keys

	mu     sync.Mutex // guards report.Calls, obs, and calls of Target.Progress
	report Report
	obs    *observer
}

// kindRun is the checks of one kind of task: run in a goroutine of its
// own, recording its verdicts apart from the other kinds'.
type kindRun struct {
	*suite
	*kindPlan
	taskIDs []string
	probes  []*exchange // the read-only requests' answers
	served  bool        // false when every probe got 404 or 405
	virtual time.Duration

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
		tg:       tg,
		log:      tg.Logger,
		timeout:  timeout,
		pending:  pending,
		interval: tg.PollInterval,
		scrub:    newScrubber(string(tg.APIKey)),
	}
	s.scrub.prepare()
	s.base, _ = url.Parse(strings.TrimSuffix(tg.BaseURL, "/"))
	spec, err := tg.spec()
	if err != nil {
		return nil, err
	}
	s.spec = spec
	kinds, err := tg.kinds(spec)
	if err != nil {
		return nil, err
	}
	ids, err := tg.taskIDs(spec, kinds)
	if err != nil {
		return nil, err
	}
	for _, k := range kinds {
		s.runs = append(s.runs, &kindRun{suite: s, kindPlan: newKindPlan(spec, k), taskIDs: ids[k.Name], served: true,
			failures: map[string][]Failure{}, exercised: map[string]bool{}, skipped: map[string]bool{}, notes: map[string]string{}})
	}
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
		Kinds:    kindList(kinds),
		Calls:    []Call{},
	}
	s.obs = newObserver(s.spec, redirectTold)
	return s, nil
}

// now is the time since the run started: real time plus the time
// Target.Sleep stood for in this kind's goroutine.
func (k *kindRun) now() time.Duration { return time.Since(k.start) + k.virtual }

func (k *kindRun) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if k.tg.Sleep != nil {
		k.virtual += d
		return k.tg.Sleep(ctx, d)
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
func (k *kindRun) fail(check string, f Failure) {
	k.exercised[check] = true
	list := k.failures[check]
	for i := range list {
		if list[i].Problem == f.Problem && list[i].Response == f.Response {
			list[i].Count++
			return
		}
	}
	f.Count = 1
	k.failures[check] = append(list, f)
}

func (k *kindRun) ran(check string) {
	k.exercised[check] = true
	delete(k.skipped, check)
}

// note sets check's note. The key is scrubbed from args, which may come
// from the target, not from format, the suite's own words (a key such as
// "any-key" must not redact "auth: any-key").
func (k *kindRun) note(check, format string, args ...any) {
	for i, a := range args {
		if str, ok := a.(string); ok {
			args[i] = k.scrub.text(str)
		}
	}
	k.notes[check] = fmt.Sprintf(format, args...)
}

// skip makes check a skip with a note, unless it failed or a later step
// passes it: the check met what it checks but could not judge it. It
// overrides an earlier pass, so a check judged for one task and not for
// another is a skip.
func (k *kindRun) skip(check, format string, args ...any) {
	k.skipped[check] = true
	delete(k.exercised, check)
	k.note(check, format, args...)
}

// each runs f for every kind, side by side, and waits for them all.
func (s *suite) each(f func(k *kindRun)) {
	var wg sync.WaitGroup
	for _, k := range s.runs {
		wg.Go(func() { f(k) })
	}
	wg.Wait()
}

func (s *suite) run(ctx context.Context) error {
	errs := make([]error, len(s.runs))
	s.each(func(k *kindRun) {
		// The first request tells whether the target can be reached at all.
		unknownTask, err := k.checkUnknownTask(ctx)
		if err != nil {
			errs[slices.Index(s.runs, k)] = err
			return
		}
		k.probes = []*exchange{
			unknownTask,
			k.checkAuth(ctx, CheckAuthMissingKey, ""),
			k.checkAuth(ctx, CheckAuthWrongKey, "cambmock-contract-invalid-key-0000"),
			k.checkUnknownRun(ctx),
			k.checkInvalidCreate(ctx),
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := s.checkBaseURL(ctx); err != nil {
		return err
	}
	s.each(func(k *kindRun) {
		k.checkServed()
		for _, id := range k.taskIDs {
			k.follow(ctx, id, 0, false)
		}
		if s.tg.AllowSpend && k.served {
			if id, length := k.create(ctx); id != "" {
				k.follow(ctx, id, length, true)
			}
		}
	})
	return nil
}

// finish turns what was found into the report: the results of each kind
// in the order of [Checks], the default kind first.
func (s *suite) finish() *Report {
	r := &s.report
	r.Elapsed = Duration(time.Since(s.start))
	r.Drift = s.obs.drift
	for _, k := range s.runs {
		for _, c := range Checks() {
			c.Purpose = k.purpose(c)
			res := Result{Check: c, Kind: k.kind.Name, ID: k.id(c.Name), Note: k.notes[c.Name]}
			switch {
			case len(k.failures[c.Name]) > 0:
				res.Outcome = Fail
				res.Failures = k.failures[c.Name]
			case k.exercised[c.Name]:
				res.Outcome = Pass
			default:
				res.Outcome = Skip
				if res.Note == "" && !k.skipped[c.Name] {
					res.Note = k.skipReason(c)
				}
			}
			r.Results = append(r.Results, res)
		}
	}
	return r
}

func (k *kindRun) skipReason(c Check) string {
	switch {
	case c.Name == CheckRetryAfter:
		return "no 429 was answered"
	case c.Spends && !k.served:
		return fmt.Sprintf("the target does not serve %s tasks (every request for them got 404 or 405)", k.kind.Name)
	case c.Spends && !k.tg.AllowSpend && len(k.taskIDs) == 0:
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
	kind      string // the kind of task it was made for, "" for none
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

func (k *kindRun) failure(e *exchange, problem string, diff string) Failure {
	return k.suite.failure(e, problem, diff)
}

func (s *suite) failure(e *exchange, problem string, diff string) Failure {
	f := s.scrub.failure(Failure{Problem: problem, Request: e.describeRequest(), Response: e.describeResponse(), Diff: diff})
	f.Diff = clip(f.Diff, 600)
	return f
}

// newRequest builds a request to path (relative to the base URL). body is
// nil, a *payload, or a value sent as JSON.
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
	ct := ""
	switch b := body.(type) {
	case nil:
	case *payload:
		rd, ct = bytes.NewReader(b.data), b.contentType
	default:
		data, _ := json.Marshal(body)
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, _ := http.NewRequestWithContext(ctx, method, u.String(), rd)
	for k, v := range s.tg.Header {
		req.Header[k] = slices.Clone(v)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set(s.keyHeader, key)
	}
	req.Header.Set("User-Agent", "cambmock-verify")
	return req
}

// send makes one request with client, for a check of kind (or "" for
// none), and reads the answer.
func (s *suite) send(client *http.Client, req *http.Request, kind, op, check string) *exchange {
	e := &exchange{kind: kind, op: op, check: check, req: req, rel: strings.TrimPrefix(req.URL.Path, s.base.Path), keyHeader: s.keyHeader, scrub: s.scrub}
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
	call := Call{Kind: kind, Operation: op, Method: req.Method, Path: clip(s.scrub.text(path), 600), Check: check, Code: e.code, Latency: Duration(e.latency)}
	if err != nil {
		call.Error = s.scrub.text(transportError(err))
		e.code = 0
	}
	s.mu.Lock()
	s.report.Calls = append(s.report.Calls, call)
	s.mu.Unlock()
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
func (k *kindRun) call(ctx context.Context, op, check string, retry bool, build func(ctx context.Context) *http.Request) *exchange {
	return k.callWith(ctx, k.client, op, check, retry, build)
}

func (k *kindRun) callWith(ctx context.Context, client *http.Client, op, check string, retry bool, build func(ctx context.Context) *http.Request) *exchange {
	wait := time.Second
	var e *exchange
	for attempt := 0; ; attempt++ {
		e = k.send(client, build(ctx), k.kind.Name, op, check)
		k.inspect(e)
		again := e.err != nil || e.code == http.StatusTooManyRequests || e.code >= 500
		if !retry || !again || attempt == retries || ctx.Err() != nil || unreachable(e.err) {
			return e
		}
		d := wait
		if ra, ok := retryAfter(e.header); ok && e.err == nil {
			d = ra
		}
		if k.sleep(ctx, d) != nil {
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
func (k *kindRun) inspect(e *exchange) {
	if e.err != nil {
		return
	}
	if e.op != opFile {
		k.ran(e.check)
	}
	k.mu.Lock()
	found := k.obs.observe(e)
	k.mu.Unlock()
	for _, f := range found {
		check := f.check
		if check == "" {
			check = e.check
		}
		if check == CheckRetryAfter {
			k.ran(CheckRetryAfter)
		}
		if f.problem != "" {
			k.fail(check, k.failure(e, f.problem, f.diff))
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
