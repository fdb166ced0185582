// Package proxy is a passive contract checker: an HTTP proxy that forwards
// every request to camb.ai's API (or any upstream serving it) unchanged,
// and checks each request and answer with a [contract.Monitor], as
// cambmock proxy does. With [WithEnforce] an answer that violates the spec
// is replaced by a 502 naming the violation. A [Recorder] turns what each
// task did into a scenario file the mock can replay.
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
	"strconv"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
)

// MaxBodySize bounds the request bodies the proxy reads and the JSON
// answers it holds to check; larger answers stream through unchecked.
const MaxBodySize = 1 << 20

// An Option configures a [Proxy].
type Option func(*Proxy) error

// WithEnforce makes the proxy replace an answer that violates the spec by a
// 502 naming the violation, so a test suite running through it fails loudly.
func WithEnforce(enforce bool) Option {
	return func(p *Proxy) error { p.enforce = enforce; return nil }
}

// WithLogger sets the logger that gets a line per request and per
// violation; the default discards them.
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
// transport with the timeouts of [WithTimeout].
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
// /apis (forwarded to the upstream base URL) and its own admin API under
// /__admin/: violations (the running summary) and health.
type Proxy struct {
	upstream  *url.URL
	spec      *cambmock.Spec
	monitor   *contract.Monitor
	enforce   bool
	log       *slog.Logger
	transport http.RoundTripper
	timeout   time.Duration
	recorder  *Recorder
}

// New returns a proxy to upstream, the API's base URL, such as
// https://client.camb.ai/apis.
func New(upstream string, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(strings.TrimSuffix(upstream, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("proxy: upstream %q is not a base URL such as https://client.camb.ai/apis", upstream)
	}
	p := &Proxy{upstream: u, log: slog.New(slog.DiscardHandler), timeout: 60 * time.Second}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("proxy: an option is nil")
		}
		if err := opt(p); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
	}
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
		}
	}
	return p, nil
}

// Summary returns what the proxy has seen so far.
func (p *Proxy) Summary() contract.Summary { return p.monitor.Summary() }

// ServeHTTP forwards API requests and serves the admin API.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/apis" || strings.HasPrefix(r.URL.Path, "/apis/"):
		p.forward(w, r)
	case r.URL.Path == "/__admin/violations" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, p.Summary())
	case r.URL.Path == "/__admin/health" && r.Method == http.MethodGet:
		s := p.Summary()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "upstream": p.upstream.String(), "requests": s.Requests, "findings": len(s.Findings), "enforce": p.enforce})
	default:
		writeError(w, http.StatusNotFound, "cambmock proxy: no route for "+r.Method+" "+r.URL.Path+"; the API is under /apis, the proxy's own under /__admin/violations and /__admin/health")
	}
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

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rel := strings.TrimPrefix(r.URL.Path, "/apis")
	body, truncated, err := cambmock.ReadLimited(r.Body, MaxBodySize)
	switch {
	case truncated:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("cambmock proxy: the request body is over %d bytes", MaxBodySize))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "cambmock proxy: the request body could not be read: "+err.Error())
		return
	}
	for _, f := range p.monitor.Request(r, rel, body) {
		p.logFinding(r, f)
	}

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
		writeError(w, http.StatusBadRequest, "cambmock proxy: cannot forward this request: "+err.Error())
		return
	}
	copyHeader(out.Header, r.Header)
	out.Header.Del("Accept-Encoding") // answers are checked as they come: no compression
	out.ContentLength = int64(len(body))

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.upstreamFailed(w, r, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	copyHeader(h, resp.Header)

	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "audio/") || resp.ContentLength > MaxBodySize {
		p.stream(w, r, rel, resp, start)
		return
	}
	data, truncated, err := cambmock.ReadLimited(resp.Body, MaxBodySize)
	if truncated {
		// Too big to hold: send what was read and stream the rest unchecked.
		h.Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
		io.Copy(w, resp.Body)
		p.logRequest(r, resp.StatusCode, start, "answer too large to check")
		return
	}
	if err != nil {
		p.upstreamFailed(w, r, fmt.Errorf("reading the answer: %w", err))
		return
	}
	findings := p.monitor.Response(r, rel, resp.StatusCode, resp.Header, data)
	for _, f := range findings {
		p.logFinding(r, f)
	}
	if p.recorder != nil {
		p.recorder.observe(r, rel, resp.StatusCode, resp.Header, data)
	}
	if p.enforce && len(findings) > 0 {
		p.reject(w, r, findings, start)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
	p.logRequest(r, resp.StatusCode, start, "")
}

// stream sends an audio (or large) answer through without holding it,
// checking its headers first and its WAV structure as it passes.
func (p *Proxy) stream(w http.ResponseWriter, r *http.Request, rel string, resp *http.Response, start time.Time) {
	findings := p.monitor.Response(r, rel, resp.StatusCode, resp.Header, nil)
	for _, f := range findings {
		p.logFinding(r, f)
	}
	if p.enforce && len(findings) > 0 {
		p.reject(w, r, findings, start)
		return
	}
	w.WriteHeader(resp.StatusCode)
	var body io.Reader = resp.Body
	var check *wavCheck
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "audio/") && resp.StatusCode == http.StatusOK {
		check = newWAVCheck()
		body = io.TeeReader(resp.Body, check)
	}
	var save *audioFile
	if p.recorder != nil && check != nil {
		save = p.recorder.audio(rel, resp.ContentLength)
		if save != nil {
			body = io.TeeReader(body, save)
		}
	}
	_, err := io.Copy(w, body)
	if check != nil {
		werr := check.finish(err)
		if err == nil {
			for _, f := range p.monitor.Audio(r, rel, resp.StatusCode, resp.Header, werr) {
				p.logFinding(r, f)
			}
		}
	}
	if save != nil {
		save.finish(err)
	}
	p.logRequest(r, resp.StatusCode, start, "")
}

// reject answers 502 in place of a violating answer.
func (p *Proxy) reject(w http.ResponseWriter, r *http.Request, findings []contract.Finding, start time.Time) {
	var parts []string
	for _, f := range findings {
		parts = append(parts, f.Check+": "+f.Problem)
	}
	for k := range w.Header() {
		w.Header().Del(k)
	}
	writeError(w, http.StatusBadGateway, "cambmock proxy --enforce: the upstream's answer violates the contract: "+strings.Join(parts, "; "))
	p.logRequest(r, http.StatusBadGateway, start, "enforced")
}

// upstreamFailed answers 502 or 504 for an upstream that failed.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	msg := err.Error()
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
	p.log.Warn("upstream failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", msg)
}

func (p *Proxy) logFinding(r *http.Request, f contract.Finding) {
	p.log.Warn("violation", "check", f.Check, "operation", f.Operation, "problem", f.Problem, "count", f.Count, "method", r.Method, "path", r.URL.Path)
}

func (p *Proxy) logRequest(r *http.Request, code int, start time.Time, note string) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", code, "dur", time.Since(start)}
	if note != "" {
		attrs = append(attrs, "note", note)
	}
	p.log.Info("request", attrs...)
}
