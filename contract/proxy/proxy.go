// Package proxy is a passive contract checker: an HTTP proxy that forwards
// every request to camb.ai's API (or any upstream serving it) unchanged,
// and checks each request and answer with a [contract.Monitor], as
// cambmock proxy does. With [WithEnforce] an answer that violates the spec
// is replaced by a 502 naming the violation. A [Recorder] turns what each
// task did into a scenario file the mock can replay.
//
// What the proxy refuses to forward: a request path with dot segments
// ("." or "..", also percent-encoded) or encoded slashes, or one that does
// not stay under /apis (400), and a request body over [MaxBodySize] (413).
// It asks the upstream for uncompressed answers (Accept-Encoding: identity)
// and passes an answer encoded anyway through undecoded and unchecked.
//
// What the proxy never shows: the password or user name of an upstream
// URL such as http://user:pass@host/apis (it authenticates with them, as
// HTTP basic auth, unless the client sends its own Authorization) and the
// API keys it forwards. Both are replaced by [redacted] in its logs,
// its error answers and its admin API; keys shorter than 4 characters are
// placeholders, not secrets, and are left as they are.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
)

// MaxBodySize bounds the request bodies the proxy reads and the JSON
// answers it holds to check; larger answers stream through unchecked.
const MaxBodySize = 1 << 20

// After answering 413 to a body over MaxBodySize, the proxy reads and drops
// the rest of it, at most maxDrain bytes for at most drainTime, so that a
// client that sends its whole body before reading can read the answer.
const (
	maxDrain  = 64 << 20
	drainTime = 10 * time.Second
)

// maxLoggedKinds bounds how many kinds of finding the proxy logs one by
// one; beyond it they are only counted, in the summary.
const maxLoggedKinds = 1000

// An Option configures a [Proxy].
type Option func(*Proxy) error

// WithEnforce makes the proxy replace an answer that violates the spec by a
// 502 naming the violation, so a test suite running through it fails loudly.
func WithEnforce(enforce bool) Option {
	return func(p *Proxy) error { p.enforce = enforce; return nil }
}

// WithLogger sets the logger that gets a line per request and one per
// kind of violation, the first time it is seen; the default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(p *Proxy) error {
		if l == nil {
			return errors.New("WithLogger: logger is nil")
		}
		p.log = l
		return nil
	}
}

// WithSpec checks against spec instead of the embedded openapi.yaml.
func WithSpec(spec *cambmock.Spec) Option {
	return func(p *Proxy) error {
		if spec == nil {
			return errors.New("WithSpec: spec is nil")
		}
		p.spec = spec
		return nil
	}
}

// WithTransport sends upstream requests through rt; the default is a
// transport with the timeouts of [WithTimeout] and compression disabled.
// Whatever rt does, the proxy asks for Accept-Encoding: identity.
func WithTransport(rt http.RoundTripper) Option {
	return func(p *Proxy) error {
		if rt == nil {
			return errors.New("WithTransport: transport is nil")
		}
		p.transport = rt
		return nil
	}
}

// WithTimeout bounds how long the upstream may take to start answering;
// past it the client gets a 504. The default is 60 s, as the official SDK.
func WithTimeout(d time.Duration) Option {
	return func(p *Proxy) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %v is not above zero", d)
		}
		p.timeout = d
		return nil
	}
}

// WithRecorder hands every exchange to r as well.
func WithRecorder(r *Recorder) Option {
	return func(p *Proxy) error {
		if r == nil {
			return errors.New("WithRecorder: recorder is nil")
		}
		p.recorder = r
		return nil
	}
}

// Proxy is the checking proxy, an http.Handler. It serves the API under
// the spec's base path, /apis (forwarded to the upstream base URL), and
// its own admin API under
// /__admin/: violations (the running summary) and health.
//
// An answer the upstream breaks off in the middle is broken off to the
// client too, so the client sees the break: as httputil.ReverseProxy
// does, ServeHTTP then panics with [http.ErrAbortHandler], which net/http
// takes as "drop this connection" without logging.
//
// A Proxy is safe for concurrent use.
type Proxy struct {
	upstream  *url.URL      // without userinfo
	user      *url.Userinfo // the upstream URL's, or nil
	shown     string        // the upstream URL as the proxy shows it
	secrets   []string      // the user name and password of user
	spec      *cambmock.Spec
	keyHeader string
	base      string // the spec's base path, such as "/apis"
	monitor   *contract.Monitor
	enforce   bool
	log       *slog.Logger
	transport http.RoundTripper
	timeout   time.Duration
	recorder  *Recorder

	keys keyring

	watch watch // what the dashboard shows: see watch.go

	mu          sync.Mutex
	logged      map[string]bool // finding kinds logged
	loggedFull  bool
	encodings   atomic.Int64 // answers with a Content-Encoding not asked for
	brokenOff   atomic.Int64 // answers the upstream broke off
	refusedPath atomic.Int64
}

// New returns a proxy to upstream, the API's base URL, such as
// https://client.camb.ai/apis.
func New(upstream string, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(strings.TrimSuffix(upstream, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("proxy: upstream %q is not a base URL such as https://client.camb.ai/apis", redactURLString(upstream))
	}
	p := &Proxy{shown: redactURL(u), user: u.User, secrets: userinfoSecrets(u), log: slog.New(slog.DiscardHandler),
		timeout: 60 * time.Second, logged: map[string]bool{}}
	u.User = nil
	p.upstream = u
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("proxy: an option is nil")
		}
		if err := opt(p); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
	}
	if p.spec == nil {
		if p.spec, err = cambmock.LoadSpec(); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
	}
	p.keyHeader = p.spec.APIKeyHeader()
	p.base = p.spec.BasePath()
	if p.monitor, err = contract.NewMonitor(p.spec); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if p.transport == nil {
		p.transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: p.timeout,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			// Answers are checked and passed on as they come: never
			// ask for gzip, never decode it behind the client's back.
			DisableCompression: true,
		}
	}
	return p, nil
}

// Upstream returns the upstream base URL as the proxy shows it (in its
// health answer and in logs): any user name and password replaced by
// [redacted].
func (p *Proxy) Upstream() string { return p.shown }

// Summary returns what the proxy has seen so far, scrubbed of the API keys
// it forwarded most recently and of the upstream URL's userinfo.
func (p *Proxy) Summary() contract.Summary {
	s := p.monitor.Summary()
	sc := newScrubber(append(p.keys.all(), p.secrets...)...)
	if len(sc.forms) == 0 {
		return s
	}
	b, err := json.Marshal(s)
	if err != nil {
		return s
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return s
	}
	if b, err = json.Marshal(sc.JSON(v)); err != nil {
		return s
	}
	var out contract.Summary
	if json.Unmarshal(b, &out) != nil {
		return s
	}
	return out
}

// LogSummary logs what the proxy saw: one line per finding with its count,
// and how many answers were broken off or encoded without being asked. Call
// it when the proxy stops, as cambmock proxy does.
func (p *Proxy) LogSummary() {
	s := p.Summary()
	for _, f := range s.Findings {
		p.log.Warn("violation summary", "check", f.Check, "operation", f.Operation, "problem", f.Problem, "count", f.Count,
			"first", f.First, "last", f.Last)
	}
	if n := p.brokenOff.Load(); n > 0 {
		p.log.Warn("answers the upstream broke off", "count", n)
	}
	if n := p.encodings.Load(); n > 0 {
		p.log.Warn("answers with a Content-Encoding the proxy did not ask for, passed through undecoded", "count", n)
	}
	if n := p.refusedPath.Load(); n > 0 {
		p.log.Warn("requests refused for a path that could leave "+p.apiRoot(), "count", n)
	}
}

// ServeHTTP forwards API requests and serves the admin API.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case p.isAPI(r.URL.Path):
		p.watchForward(w, r)
	case r.URL.Path == "/__admin/violations" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, p.Summary())
	case r.URL.Path == "/__admin/health" && r.Method == http.MethodGet:
		s := p.monitor.Summary()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "service": "cambmock proxy", "upstream": p.shown, "requests": s.Requests, "findings": len(s.Findings), "enforce": p.enforce})
	case watchPath(r.URL.Path):
		p.serveWatch(w, r)
	default:
		writeError(w, http.StatusNotFound, "cambmock proxy: no route for "+r.Method+" "+p.scrubber(r).String(r.URL.Path)+"; the API is under "+p.apiRoot()+", the proxy's own under /__admin/violations and /__admin/health")
	}
}

// isAPI reports whether a request path is the API's: under the spec's
// base path (/apis), or anything but /__admin/ when the spec has none.
func (p *Proxy) isAPI(path string) bool {
	if p.base == "" {
		return !strings.HasPrefix(path, "/__admin/")
	}
	return path == p.base || strings.HasPrefix(path, p.base+"/")
}

// apiRoot names where the API is, for messages.
func (p *Proxy) apiRoot() string {
	if p.base == "" {
		return "/"
	}
	return p.base
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, detail string) {
	writeJSON(w, code, map[string]string{"detail": detail})
}

// hopHeaders are not forwarded (RFC 9110, section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = append([]string(nil), v...)
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
}

// scrubber returns the scrubber of what the proxy shows about r: its API
// key and the upstream URL's userinfo.
func (p *Proxy) scrubber(r *http.Request) scrubber {
	return newScrubber(append([]string{r.Header.Get(p.keyHeader)}, p.secrets...)...)
}

// pathProblem says why the proxy must not forward a request for u, or "".
// u.Path is decoded, so a percent-encoded dot segment shows as one; what
// would be one after a second decoding (%252e%252e) or before a path
// parameter (..;x), as some servers read paths, is refused too.
func pathProblem(u *url.URL, base string) string {
	root := base
	if root == "" {
		root = "/"
	}
	escaped := u.EscapedPath()
	for _, form := range []string{strings.ToLower(escaped), strings.ToLower(u.Path)} {
		if strings.Contains(form, "%2f") || strings.Contains(form, "%5c") || strings.Contains(form, `\`) {
			return fmt.Sprintf("the path %q holds an encoded slash or a backslash, which the upstream may read as a separator; send the path with plain slashes only", escaped)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		twice, _ := url.PathUnescape(seg)
		for _, s := range []string{seg, twice} {
			if s, _, _ = strings.Cut(s, ";"); s == "." || s == ".." {
				return fmt.Sprintf("the path %q holds a dot segment (%q), which could leave %s on the upstream; send the path without . or .. segments", escaped, seg, root)
			}
		}
	}
	if c := path.Clean(u.Path); base != "" && c != base && !strings.HasPrefix(c, base+"/") {
		return fmt.Sprintf("the path %q is not under %s once cleaned (%q); the proxy forwards only the API under %s", escaped, base, c, base)
	}
	return ""
}

// readUpTo reads r until it ends or has given more than limit bytes. It
// returns every byte it read (limit+1 when over) and whether r held more
// than limit, so a caller that goes on reading r loses nothing.
func readUpTo(r io.Reader, limit int64) (data []byte, over bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	return data, int64(len(data)) > limit, err
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	key := r.Header.Get(p.keyHeader)
	p.keys.add(key)
	sc := p.scrubber(r)
	if problem := pathProblem(r.URL, p.base); problem != "" {
		p.refusedPath.Add(1)
		writeError(w, http.StatusBadRequest, "cambmock proxy: "+sc.String(problem))
		p.logRequest(r, sc, http.StatusBadRequest, start, "refused: the path could leave "+p.apiRoot())
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, p.base)
	if r.ContentLength > MaxBodySize {
		p.tooLarge(w, r, sc, start)
		return
	}
	body, over, err := readUpTo(r.Body, MaxBodySize)
	switch {
	case over:
		p.tooLarge(w, r, sc, start)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "cambmock proxy: the request body could not be read: "+sc.String(err.Error()))
		p.logRequest(r, sc, http.StatusBadRequest, start, "unreadable body")
		return
	}
	p.note(r, sc, p.monitor.Request(r, rel, body))

	target := *p.upstream
	target.Path = p.upstream.Path + rel
	target.RawPath = ""
	target.RawQuery = r.URL.RawQuery
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), rd)
	if err != nil {
		writeError(w, http.StatusBadRequest, "cambmock proxy: cannot forward this request: "+sc.String(err.Error()))
		p.logRequest(r, sc, http.StatusBadRequest, start, "cannot forward")
		return
	}
	copyHeader(out.Header, r.Header)
	// Answers are checked as they come: no compression. Set, not left out,
	// since a transport adds gzip (and decodes it) to a request without one.
	out.Header.Set("Accept-Encoding", "identity")
	if p.user != nil && out.Header.Get("Authorization") == "" {
		pass, _ := p.user.Password()
		out.SetBasicAuth(p.user.Username(), pass)
	}
	out.ContentLength = int64(len(body))

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.upstreamFailed(w, r, sc, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	copyHeader(h, resp.Header)

	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		p.unaskedEncoding(w, r, sc, resp, start)
		return
	}
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "audio/") || resp.ContentLength > MaxBodySize {
		p.stream(w, r, sc, rel, resp, start)
		return
	}
	data, over, err := readUpTo(resp.Body, MaxBodySize)
	if over {
		// Too big to hold: send what was read and stream the rest unchecked.
		h.Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
		n, readErr, _ := copyBody(w, resp.Body)
		p.finishStream(w, r, sc, resp, start, int64(len(data))+n, readErr, "answer too large to check")
		return
	}
	if err != nil {
		p.upstreamFailed(w, r, sc, fmt.Errorf("reading the answer: %w", err))
		return
	}
	findings := p.monitor.Response(r, rel, resp.StatusCode, resp.Header, data)
	p.note(r, sc, findings)
	if p.recorder != nil {
		p.recorder.observe(r, rel, resp.StatusCode, resp.Header, data)
	}
	if p.enforce && len(findings) > 0 {
		p.reject(w, r, sc, findings, start)
		return
	}
	if r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(data)))
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
	p.logRequest(r, sc, resp.StatusCode, start, "")
}

// tooLarge answers 413 to a request whose body is over MaxBodySize in a way
// the client can read: a client that sends its whole body before reading
// (one that sent no Expect: 100-continue) would meet a connection reset if
// the proxy closed the connection on the unread rest. So the answer goes
// out first, then the rest of the body is read and dropped (at most
// maxDrain bytes, for at most drainTime), then the connection closes.
func (p *Proxy) tooLarge(w http.ResponseWriter, r *http.Request, sc scrubber, start time.Time) {
	rc := http.NewResponseController(w)
	rc.EnableFullDuplex() // read the body after answering; HTTP/2 always can
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("cambmock proxy: the request body is over %d bytes, the most the proxy forwards", MaxBodySize))
	rc.Flush()
	p.logRequest(r, sc, http.StatusRequestEntityTooLarge, start, "request body too large")
	if r.ContentLength > MaxBodySize && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return // the client waits for a 100 Continue it will not get: it sends nothing more
	}
	rc.SetReadDeadline(time.Now().Add(drainTime))
	io.CopyN(io.Discard, r.Body, maxDrain)
}

// copyBody copies an upstream answer's body to the client. It returns how
// many bytes it copied and what ended the copy, if not the body's end:
// readErr when the upstream broke off, writeErr when the client went.
func copyBody(w io.Writer, body io.Reader) (n int64, readErr, writeErr error) {
	buf := make([]byte, 32<<10)
	for {
		m, err := body.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr != nil {
				return n, nil, werr
			}
		}
		switch {
		case err == io.EOF:
			return n, nil, nil
		case err != nil:
			return n, err, nil
		}
	}
}

// stream sends an audio (or large) answer through without holding it,
// checking its headers first and, as it passes, that it is what its
// Content-Type says: a well-formed WAV for audio/wav, a file that starts as
// FLAC does for audio/flac, and so on.
func (p *Proxy) stream(w http.ResponseWriter, r *http.Request, sc scrubber, rel string, resp *http.Response, start time.Time) {
	findings := p.monitor.Response(r, rel, resp.StatusCode, resp.Header, nil)
	p.note(r, sc, findings)
	if p.enforce && len(findings) > 0 {
		p.reject(w, r, sc, findings, start)
		return
	}
	w.WriteHeader(resp.StatusCode)
	var body io.Reader = resp.Body
	var check *mediaCheck
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "audio/") && resp.StatusCode == http.StatusOK && r.Method != http.MethodHead {
		check = newMediaCheck(ct)
		body = io.TeeReader(resp.Body, check)
	}
	var save *audioFile
	if p.recorder != nil && check != nil {
		save = p.recorder.audio(r, rel, ct, resp.ContentLength)
		if save != nil {
			body = io.TeeReader(body, save)
		}
	}
	n, readErr, writeErr := copyBody(w, body)
	cutOff := readErr != nil && writeErr == nil && r.Context().Err() == nil
	if check != nil {
		werr := check.finish(errors.Join(readErr, writeErr))
		switch {
		case cutOff:
			werr = cutOffError(n, resp.ContentLength, readErr)
		case readErr != nil || writeErr != nil:
			werr = nil // the client went: nothing to judge
		}
		p.note(r, sc, p.monitor.Audio(r, rel, resp.StatusCode, resp.Header, werr))
	}
	if save != nil {
		save.finish(errors.Join(readErr, writeErr))
	}
	p.finishStream(w, r, sc, resp, start, n, readErr, "")
}

// cutOffError says how an answer was cut off: after n of the declared
// bytes, or after n bytes when none were declared.
func cutOffError(n, declared int64, err error) error {
	if declared >= 0 {
		return fmt.Errorf("the audio was cut off after %d of %d bytes", n, declared)
	}
	return fmt.Errorf("the audio was cut off after %d bytes: %v", n, err)
}

// finishStream logs a streamed answer, and when the upstream broke it off
// (readErr, with the client still there), breaks off the answer to the
// client too, so the client sees the break instead of a short body that
// looks whole.
func (p *Proxy) finishStream(w http.ResponseWriter, r *http.Request, sc scrubber, resp *http.Response, start time.Time, n int64, readErr error, note string) {
	if readErr == nil || r.Context().Err() != nil {
		p.logRequest(r, sc, resp.StatusCode, start, note)
		return
	}
	p.brokenOff.Add(1)
	what := fmt.Sprintf("the upstream broke off the answer after %d bytes", n)
	if resp.ContentLength >= 0 {
		what = fmt.Sprintf("the upstream broke off the answer after %d of %d bytes", n, resp.ContentLength)
	}
	p.log.Warn("upstream broke off", "method", r.Method, "path", sc.String(r.URL.Path), "status", resp.StatusCode,
		"problem", what, "err", sc.String(readErr.Error()))
	p.logRequest(r, sc, resp.StatusCode, start, what)
	http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// unaskedEncoding passes through an answer with a Content-Encoding the
// proxy did not ask for (it asks for identity): undecoded, so memory stays
// bounded whatever the encoded body expands to, and unchecked.
func (p *Proxy) unaskedEncoding(w http.ResponseWriter, r *http.Request, sc scrubber, resp *http.Response, start time.Time) {
	enc := resp.Header.Get("Content-Encoding")
	if p.encodings.Add(1) == 1 {
		p.log.Warn("the upstream sent a Content-Encoding the proxy did not ask for (it asks for identity); such answers pass through undecoded and unchecked",
			"content_encoding", enc, "method", r.Method, "path", sc.String(r.URL.Path), "status", resp.StatusCode)
	}
	w.WriteHeader(resp.StatusCode)
	n, readErr, _ := copyBody(w, resp.Body)
	p.finishStream(w, r, sc, resp, start, n, readErr, "Content-Encoding "+enc+" not asked for: passed through unchecked")
}

// reject answers 502 in place of a violating answer.
func (p *Proxy) reject(w http.ResponseWriter, r *http.Request, sc scrubber, findings []contract.Finding, start time.Time) {
	var parts []string
	for _, f := range findings {
		parts = append(parts, f.Check+": "+f.Problem)
	}
	for k := range w.Header() {
		w.Header().Del(k)
	}
	writeError(w, http.StatusBadGateway, "cambmock proxy --enforce: the upstream's answer violates the contract: "+sc.String(strings.Join(parts, "; ")))
	p.logRequest(r, sc, http.StatusBadGateway, start, "enforced")
}

// upstreamFailed answers 502 or 504 for an upstream that failed.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, sc scrubber, err error) {
	code := http.StatusBadGateway
	msg := sc.String(err.Error())
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
		msg = fmt.Sprintf("the upstream did not answer within %v", p.timeout)
	}
	if r.Context().Err() != nil {
		return // the client has gone
	}
	for _, h := range []string{"Content-Length", "Content-Type"} {
		w.Header().Del(h)
	}
	writeError(w, code, fmt.Sprintf("cambmock proxy: upstream %s failed: %s", p.upstream.Host, msg))
	p.log.Warn("upstream failed", "method", r.Method, "path", sc.String(r.URL.Path), "status", code, "err", msg)
}

// note logs each finding the first time its kind is seen (the Monitor
// counts the rest), with its check and problem.
func (p *Proxy) note(r *http.Request, sc scrubber, findings []contract.Finding) {
	for _, f := range findings {
		problem := sc.String(f.Problem)
		kind := f.Check + "\x00" + f.Operation + "\x00" + f.Problem
		p.mu.Lock()
		first := !p.logged[kind] && !p.loggedFull
		overflow := false
		if first {
			if len(p.logged) < maxLoggedKinds {
				p.logged[kind] = true
			} else {
				p.loggedFull, first, overflow = true, false, true
			}
		}
		p.mu.Unlock()
		switch {
		case first:
			p.log.Warn("violation", "check", f.Check, "operation", f.Operation, "problem", problem, "method", r.Method, "path", sc.String(r.URL.Path))
		case overflow:
			p.log.Warn(fmt.Sprintf("more than %d kinds of violation; the others are counted at /__admin/violations and in the summary, not logged one by one", maxLoggedKinds))
		}
	}
}

func (p *Proxy) logRequest(r *http.Request, sc scrubber, code int, start time.Time, note string) {
	attrs := []any{"method", r.Method, "path", sc.String(r.URL.Path), "status", code, "dur", time.Since(start)}
	if note != "" {
		attrs = append(attrs, "note", note)
	}
	p.log.Info("request", attrs...)
}
