package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// The operations of openapi.yaml.
const (
	opCreate = "createTextToSound"
	opStatus = "getTextToSoundStatus"
	opResult = "getTextToSoundResult"
	opBulk   = "getTextToSoundResults"
	opFile   = "file"
)

// conforms names the check that every response of op conforms.
var conforms = map[string]string{
	opCreate: CheckCreateConforms,
	opStatus: CheckStatusConforms,
	opResult: CheckResultConforms,
	opBulk:   CheckBulkConforms,
}

// maxBody bounds how much of a response the suite reads.
const maxBody = 64 << 20

// retries is how many times a request is retried on a network error, a
// 429 or a 5xx, as the official SDK and the docs' sample do.
const retries = 4

// Verify runs the suite against tg. The error is non-nil only when the
// suite could not run (a bad Target, an unreachable host, a TLS failure);
// it wraps [ErrTarget]. Violations and drift are in the Report.
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
	tg       Target
	spec     *cambmock.Spec
	client   *http.Client
	base     *url.URL
	log      *slog.Logger
	timeout  time.Duration
	pending  time.Duration
	interval time.Duration
	start    time.Time
	virtual  time.Duration // time Target.Sleep stood for

	report    Report
	obs       *observer
	failures  map[string][]Failure
	exercised map[string]bool
	notes     map[string]string
}

func newSuite(tg Target) (*suite, error) {
	s := &suite{
		tg:        tg,
		spec:      tg.Spec,
		client:    tg.Client,
		log:       tg.Logger,
		timeout:   tg.Timeout,
		pending:   tg.PendingBound,
		interval:  tg.PollInterval,
		failures:  map[string][]Failure{},
		exercised: map[string]bool{},
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
	if s.client == nil {
		rt := tg.RequestTimeout
		if rt == 0 {
			rt = 60 * time.Second
		}
		s.client = &http.Client{Timeout: rt}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout == 0 {
		s.timeout = 5 * time.Minute
	}
	if s.pending == 0 {
		s.pending = s.timeout
	}
	if s.interval == 0 {
		s.interval = time.Second
	}
	s.start = time.Now()
	s.report = Report{
		BaseURL:  s.base.String(),
		ReadOnly: !tg.AllowSpend,
		Started:  s.start,
		Calls:    []Call{},
	}
	s.obs = newObserver(s.spec)
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

func (s *suite) ran(check string) { s.exercised[check] = true }

func (s *suite) note(check, format string, args ...any) {
	s.notes[check] = fmt.Sprintf(format, args...)
}

func (s *suite) run(ctx context.Context) error {
	// The first request tells whether the target can be reached at all.
	if err := s.checkUnknownTask(ctx); err != nil {
		return err
	}
	s.checkAuth(ctx, CheckAuthMissingKey, "")
	s.checkAuth(ctx, CheckAuthWrongKey, "cambmock-contract-invalid-key-0000")
	s.checkUnknownRun(ctx)
	s.checkInvalidCreate(ctx)
	for _, id := range s.tg.TaskIDs {
		s.follow(ctx, id, 0, false)
	}
	if s.tg.AllowSpend {
		d := s.tg.Duration
		if d == 0 {
			d = 2
		}
		if id := s.create(ctx, d); id != "" {
			s.follow(ctx, id, d, true)
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
			if res.Note == "" {
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
	op      string
	check   string
	req     *http.Request
	rel     string // the URL path relative to the base URL
	code    int
	header  http.Header
	body    []byte
	err     error
	latency time.Duration
}

// describeRequest shows a request without its key.
func (e *exchange) describeRequest() string {
	key := "no x-api-key"
	if e.req.Header.Get("X-Api-Key") != "" {
		key = "x-api-key: " + cambmock.APIKey("x").String()
	}
	u := *e.req.URL
	u.RawQuery = redactQuery(u.Query())
	return fmt.Sprintf("%s %s (%s)", e.req.Method, u.String(), key)
}

func redactQuery(q url.Values) string {
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "key") || strings.Contains(lk, "token") || strings.Contains(lk, "signature") || strings.HasPrefix(lk, "x-amz-") {
			q.Set(k, "[redacted]")
		}
	}
	return q.Encode()
}

// describeResponse shows a response, cut short.
func (e *exchange) describeResponse() string {
	if e.err != nil {
		return "no response: " + e.err.Error()
	}
	ct := e.header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	var body string
	switch {
	case len(e.body) == 0:
		body = "(empty body)"
	case strings.HasPrefix(ct, "audio/") || !isText(e.body):
		body = fmt.Sprintf("(%d bytes of binary)", len(e.body))
	default:
		body = string(e.body)
		if len(body) > 400 {
			body = body[:400] + "…"
		}
		body = strings.Join(strings.Fields(body), " ")
	}
	return fmt.Sprintf("%d %s %s", e.code, ct, body)
}

func isText(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	return !bytes.ContainsRune(b, 0) && strings.HasPrefix(http.DetectContentType(b), "text/")
}

func (s *suite) failure(e *exchange, problem string, diff string) Failure {
	return Failure{Problem: problem, Request: e.describeRequest(), Response: e.describeResponse(), Diff: diff}
}

// newRequest builds a request to path (relative to the base URL).
func (s *suite) newRequest(ctx context.Context, method, path string, query url.Values, body any, key string) *http.Request {
	u := *s.base
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
		req.Header.Set("X-Api-Key", key)
	}
	req.Header.Set("User-Agent", "cambmock-verify")
	return req
}

// send makes one request and reads the answer.
func (s *suite) send(req *http.Request, op, check string) *exchange {
	e := &exchange{op: op, check: check, req: req, rel: strings.TrimPrefix(req.URL.Path, s.base.Path)}
	begin := time.Now()
	resp, err := s.client.Do(req)
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
	call := Call{Operation: op, Method: req.Method, Path: e.rel, Check: check, Code: e.code, Latency: Duration(e.latency)}
	if err != nil {
		call.Error = transportError(err)
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

// call sends a request built by build, retrying on network errors, 429 and
// 5xx answers (waiting for Retry-After when given), and checks each answer
// against the spec under check. It returns the last exchange.
func (s *suite) call(ctx context.Context, op, check string, retry bool, build func(ctx context.Context) *http.Request) *exchange {
	wait := time.Second
	var e *exchange
	for attempt := 0; ; attempt++ {
		e = s.send(build(ctx), op, check)
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
// schema violations go to the check the exchange was made for.
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

// gotWant summarizes an answer for a diff.
type gotWant struct {
	Code   int
	Detail any `json:",omitempty"`
}

func detailOf(e *exchange) any {
	var body struct {
		Detail any `json:"detail"`
	}
	if json.Unmarshal(e.body, &body) != nil {
		return "(not JSON)"
	}
	return body.Detail
}

// checkUnknownTask polls a task id that cannot exist. A transport failure
// here means the target cannot be reached: Verify stops with an error.
func (s *suite) checkUnknownTask(ctx context.Context) error {
	id := randomID()
	e := s.call(ctx, opStatus, CheckUnknownTask, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, "/text-to-sound/"+id, nil, nil, string(s.tg.APIKey))
	})
	if e.err != nil {
		return s.unreachable(e.err)
	}
	switch {
	case e.code == http.StatusNotFound:
	case e.code >= 200 && e.code < 300:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("a task id that does not exist got %d, as if the task existed", e.code),
			cmp.Diff(gotWant{Code: 404, Detail: "<why>"}, gotWant{Code: e.code, Detail: detailOf(e)})))
	case e.code == http.StatusUnauthorized || e.code == http.StatusForbidden:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("the API key was rejected (%d), so nothing else can be checked; give a valid key with --api-key or $CAMB_API_KEY", e.code), ""))
	default:
		s.fail(CheckUnknownTask, s.failure(e, fmt.Sprintf("a task id that does not exist got %d, not the declared 404", e.code),
			cmp.Diff(gotWant{Code: 404}, gotWant{Code: e.code})))
	}
	if html := strings.Contains(e.header.Get("Content-Type"), "html"); html && e.code == http.StatusNotFound {
		s.note(CheckUnknownTask, "the target answered an HTML page: is the base URL right? It should end in /apis")
	}
	return nil
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
	return fmt.Errorf("%w %s: %s", ErrTarget, s.base, msg)
}

func (s *suite) checkAuth(ctx context.Context, check, key string) {
	e := s.call(ctx, opStatus, check, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, "/text-to-sound/"+randomID(), nil, nil, key)
	})
	if e.err != nil {
		s.fail(check, s.failure(e, "no answer: "+transportError(e.err), ""))
		return
	}
	if e.code != http.StatusUnauthorized && e.code != http.StatusForbidden {
		what := "without a key"
		if key != "" {
			what = "with a key that cannot be valid"
		}
		problem := fmt.Sprintf("a request %s got %d, not 401 or 403", what, e.code)
		if key != "" && e.code == http.StatusNotFound {
			problem += "; the target accepts any key (if it is cambmock serve, start it with --api-key)"
		}
		s.fail(check, s.failure(e, problem, cmp.Diff(gotWant{Code: 401}, gotWant{Code: e.code})))
		return
	}
	s.note(check, "answered %d", e.code)
}

func (s *suite) checkUnknownRun(ctx context.Context) {
	e := s.call(ctx, opResult, CheckUnknownRun, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, "/text-to-sound-result/987654321987", nil, nil, string(s.tg.APIKey))
	})
	switch {
	case e.err != nil:
		s.fail(CheckUnknownRun, s.failure(e, "no answer: "+transportError(e.err), ""))
	case e.code != http.StatusNotFound && e.code != http.StatusBadRequest:
		s.fail(CheckUnknownRun, s.failure(e, fmt.Sprintf("a run id that does not exist got %d, not 404 (or 400)", e.code),
			cmp.Diff(gotWant{Code: 404}, gotWant{Code: e.code})))
	default:
		s.note(CheckUnknownRun, "answered %d", e.code)
	}
}

func (s *suite) checkInvalidCreate(ctx context.Context) {
	// No prompt, and a duration of the wrong type: no API can create a
	// task from it, so this costs nothing even in read-only mode.
	e := s.call(ctx, opCreate, CheckInvalidCreateBody, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, "/text-to-sound", nil, map[string]any{"duration": "not-a-number"}, string(s.tg.APIKey))
	})
	if e.err != nil {
		s.fail(CheckInvalidCreateBody, s.failure(e, "no answer: "+transportError(e.err), ""))
		return
	}
	if e.code != http.StatusUnprocessableEntity {
		s.fail(CheckInvalidCreateBody, s.failure(e, fmt.Sprintf("a create body without a prompt got %d, not 422", e.code),
			cmp.Diff(gotWant{Code: 422}, gotWant{Code: e.code})))
		return
	}
	var body struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	json.Unmarshal(e.body, &body)
	var locs []string
	for _, d := range body.Detail {
		locs = append(locs, fmt.Sprint(d.Loc...))
		for _, l := range d.Loc {
			if l == "prompt" || l == "duration" {
				return
			}
		}
	}
	s.fail(CheckInvalidCreateBody, s.failure(e, "the 422 does not name the field at fault (prompt or duration) in any loc",
		cmp.Diff([]string{"body prompt"}, locs)))
}

// create creates a task and returns its id, or "" if it could not.
func (s *suite) create(ctx context.Context, duration float64) string {
	prompt := s.tg.Prompt
	if prompt == "" {
		prompt = "A short soft beep, for an API contract check"
	}
	e := s.call(ctx, opCreate, CheckCreateConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, "/text-to-sound", nil,
			map[string]any{"prompt": prompt, "duration": duration, "audio_type": "sound"}, string(s.tg.APIKey))
	})
	s.ran(CheckTaskCreated)
	if e.err != nil || e.code != http.StatusOK {
		s.fail(CheckTaskCreated, s.failure(e, "the task could not be created", ""))
		return ""
	}
	var body struct {
		TaskID any `json:"task_id"`
	}
	json.Unmarshal(e.body, &body)
	id, ok := body.TaskID.(string)
	if !ok || id == "" {
		s.fail(CheckTaskCreated, s.failure(e, "the create answer has no task_id string", cmp.Diff("<a task id>", body.TaskID)))
		return ""
	}
	return id
}

// follow polls a task until its status is terminal, checks the status
// stays terminal, then fetches its results. duration is the requested
// length in seconds, or 0 when unknown.
func (s *suite) follow(ctx context.Context, id string, duration float64, created bool) {
	begin := s.now()
	wait := s.interval
	polls := 0
	poll := func() *exchange {
		polls++
		return s.call(ctx, opStatus, CheckStatusConforms, true, func(ctx context.Context) *http.Request {
			return s.newRequest(ctx, http.MethodGet, "/text-to-sound/"+url.PathEscape(id), nil, nil, string(s.tg.APIKey))
		})
	}
	var (
		e      *exchange
		status string
		runID  any
	)
	for {
		e = poll()
		status, runID = s.readStatus(e)
		s.progress(id, e, status, polls, begin)
		if created && polls == 1 {
			if e.code == http.StatusNotFound {
				s.fail(CheckTaskCreated, s.failure(e, "the status endpoint does not know the task create returned", cmp.Diff(200, e.code)))
				return
			}
		}
		if status != "" && status != string(cambmock.StatusPending) {
			break
		}
		if status == "" {
			// The poll failed even after retries: the task cannot be followed.
			problem := fmt.Sprintf("task %s could not be followed: its status poll answered %d without a status", id, e.code)
			if e.err != nil {
				problem = fmt.Sprintf("task %s could not be followed: its status poll failed %d times in a row: %s", id, retries+1, transportError(e.err))
			} else if e.code == http.StatusTooManyRequests || e.code >= 500 {
				problem = fmt.Sprintf("task %s could not be followed: its status poll answered %d, %d times in a row", id, e.code, retries+1)
			}
			s.fail(CheckStatusConforms, s.failure(e, problem, ""))
			return
		}
		if ctx.Err() != nil || s.now()-begin >= s.pending {
			s.ran(CheckPendingEnds)
			s.fail(CheckPendingEnds, s.failure(e, fmt.Sprintf("task %s is still %s after %v (the bound); PENDING must end", id, orNo(status), (s.now()-begin).Round(time.Millisecond)), ""))
			return
		}
		if s.sleep(ctx, wait) != nil {
			continue // the next round reports the timeout
		}
		wait = min(time.Duration(float64(wait)*1.5), 10*time.Second)
	}
	s.ran(CheckPendingEnds)
	s.note(CheckPendingEnds, "task ended %s after %d polls and %v", status, polls, (s.now() - begin).Round(time.Millisecond))

	run, hasRun := s.checkRunID(e, status, runID)

	// A terminal status stays: poll twice more.
	s.ran(CheckTerminalIsFinal)
	for range 2 {
		if s.sleep(ctx, wait) != nil {
			break
		}
		again := poll()
		st2, run2 := s.readStatus(again)
		if again.err != nil || again.code != http.StatusOK {
			continue
		}
		if st2 != status || !jsonEqual(run2, runID) {
			s.fail(CheckTerminalIsFinal, s.failure(again, fmt.Sprintf("task %s reported %s, then %s", id, status, orNo(st2)),
				cmp.Diff(map[string]any{"status": status, "run_id": runID}, map[string]any{"status": st2, "run_id": run2})))
			break
		}
	}
	if hasRun {
		s.results(ctx, run, duration)
	}
}

func orNo(status string) string {
	if status == "" {
		return "without a status"
	}
	return status
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// readStatus reads the status and run_id of a 200 status answer.
func (s *suite) readStatus(e *exchange) (string, any) {
	if e.err != nil || e.code != http.StatusOK {
		return "", nil
	}
	var body map[string]any
	if json.Unmarshal(e.body, &body) != nil {
		return "", nil
	}
	st, _ := body["status"].(string)
	return st, body["run_id"]
}

func (s *suite) progress(id string, e *exchange, status string, polls int, begin time.Duration) {
	if s.tg.Progress == nil {
		return
	}
	shown := status
	switch {
	case e.err != nil:
		shown = "error: " + transportError(e.err)
	case shown == "":
		shown = fmt.Sprintf("HTTP %d", e.code)
	}
	s.tg.Progress(Progress{Task: id, Status: shown, Polls: polls, Elapsed: s.now() - begin})
}

// checkRunID checks a SUCCESS carries an integer run_id.
func (s *suite) checkRunID(e *exchange, status string, runID any) (int64, bool) {
	if status != string(cambmock.StatusSuccess) {
		return 0, false
	}
	s.ran(CheckSuccessRunID)
	f, ok := runID.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > 1<<53 {
		s.fail(CheckSuccessRunID, s.failure(e, fmt.Sprintf("SUCCESS carries run_id %s, not an integer: the client has no result to fetch", jsonText(runID)),
			cmp.Diff("<an integer>", jsonText(runID))))
		return 0, false
	}
	return int64(f), true
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// results fetches a run's audio three ways: raw bytes, a file URL, and
// the bulk endpoint.
func (s *suite) results(ctx context.Context, run int64, duration float64) {
	path := "/text-to-sound-result/" + strconv.FormatInt(run, 10)
	raw := s.call(ctx, opResult, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, nil, nil, string(s.tg.APIKey))
	})
	s.ran(CheckResultAudio)
	var rawSum [32]byte
	if raw.err != nil || raw.code != http.StatusOK {
		s.fail(CheckResultAudio, s.failure(raw, fmt.Sprintf("the result of run %d could not be fetched", run), ""))
	} else if info, ok := s.checkWAV(raw, CheckResultAudio, duration); ok {
		rawSum = sha256.Sum256(raw.body)
		s.note(CheckResultAudio, "%s, %d bytes", info, len(raw.body))
	}

	fu := s.call(ctx, opResult, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, url.Values{"output_type": {"FILE_URL"}}, nil, string(s.tg.APIKey))
	})
	s.ran(CheckResultFileURL)
	var body struct {
		FileURL any `json:"file_url"`
	}
	if fu.err != nil || fu.code != http.StatusOK || json.Unmarshal(fu.body, &body) != nil {
		s.fail(CheckResultFileURL, s.failure(fu, "the FILE_URL result could not be fetched as JSON", ""))
	} else if u, ok := body.FileURL.(string); !ok || !isHTTPURL(u) {
		s.fail(CheckResultFileURL, s.failure(fu, "the FILE_URL answer has no file_url holding an http(s) URL", cmp.Diff("<a URL>", body.FileURL)))
	} else {
		// A pre-signed URL is fetched without the API key: it may point at
		// another host, which must never see the key.
		file := s.call(ctx, opFile, CheckResultFileURL, true, func(ctx context.Context) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			return req
		})
		if file.err != nil || file.code != http.StatusOK {
			s.fail(CheckResultFileURL, s.failure(file, "the file URL could not be fetched", cmp.Diff(200, file.code)))
		} else if _, ok := s.checkWAV(file, CheckResultFileURL, duration); ok && rawSum != [32]byte{} && sha256.Sum256(file.body) != rawSum {
			s.fail(CheckResultFileURL, s.failure(file, "the file URL serves other bytes than the RAW_BYTES result", ""))
		}
	}

	bulk := s.call(ctx, opBulk, CheckBulkConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, "/text-to-sound-results", nil, map[string]any{"run_ids": []int64{run}}, string(s.tg.APIKey))
	})
	s.ran(CheckBulkAnswers)
	var entries map[string]struct {
		OutputURL any `json:"output_url"`
	}
	key := strconv.FormatInt(run, 10)
	switch {
	case bulk.err != nil || bulk.code != http.StatusOK:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk results could not be fetched", ""))
	case json.Unmarshal(bulk.body, &entries) != nil:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk answer is not a JSON object of run ids", ""))
	default:
		entry, ok := entries[key]
		u, _ := entry.OutputURL.(string)
		if !ok || !isHTTPURL(u) {
			s.fail(CheckBulkAnswers, s.failure(bulk, fmt.Sprintf("the bulk answer has no entry %q with an output_url", key),
				cmp.Diff(map[string]string{key: "<an output_url>"}, bulkSummary(bulk.body))))
		}
	}
}

func bulkSummary(body []byte) map[string]string {
	var m map[string]any
	json.Unmarshal(body, &m)
	out := map[string]string{}
	for k, v := range m {
		out[k] = jsonText(v)
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkWAV checks an audio answer's structure and length.
func (s *suite) checkWAV(e *exchange, check string, duration float64) (wavinfo.Info, bool) {
	info, err := wavinfo.Read(bytes.NewReader(e.body))
	if err != nil {
		s.fail(check, s.failure(e, "the audio is not a well-formed WAV: "+err.Error(), ""))
		return info, false
	}
	if duration > 0 {
		got := info.Duration().Seconds()
		if math.Abs(got-duration) > 0.1 {
			s.fail(check, s.failure(e, fmt.Sprintf("the audio lasts %.3f s, but %.3f s were asked for", got, duration),
				cmp.Diff(fmt.Sprintf("%.1f s", duration), fmt.Sprintf("%.3f s", got))))
			return info, false
		}
	}
	return info, true
}
