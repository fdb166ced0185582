package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/proxy"
)

const proxyHelp = `Usage: cambmock proxy [flags]

Forwards every request under /apis to the upstream API unchanged (your own
x-api-key passes through; it is never logged or stored) and checks each
request and answer against openapi.yaml (or the spec given with --spec)
with the contract suite's checks, for every kind of task the spec declares:
each request's operation, kind and role come from the spec.
Each kind of violation is logged once, when first seen, and counted after;
when the proxy stops it logs one line per kind with its count. The running
summary is at GET /__admin/violations. With --enforce a violating answer is
replaced by a 502 naming the violation, so tests running through the proxy
fail loudly. Audio streams through without being held, checked on the way
as what its Content-Type says (a WAV for audio/wav, FLAC for audio/flac):
audio the upstream cuts off is a violation, and the client sees the break.

The proxy asks the upstream for uncompressed answers (Accept-Encoding:
identity) and passes an encoded one through undecoded. It refuses (400) a
path with . or .. segments or encoded slashes, which could leave /apis, and
(413) a request body over 1 MiB. The upstream URL may carry user:password@
for HTTP basic auth; logs, error answers and /__admin/health show it as
[redacted], as they do an API key the upstream echoes.

Example:
  cambmock proxy --upstream https://client.camb.ai/apis --addr 127.0.0.1:8081
  # point the client at http://127.0.0.1:8081/apis, then:
  curl -s 127.0.0.1:8081/__admin/violations
`

const recordHelp = `Usage: cambmock record [flags]

The proxy (see cambmock proxy --help) plus a recorder: for each task whose
traffic passes through, of any kind the spec declares, it writes
DIR/rec-ID-HASH.yaml, a scenario of what the upstream actually did (each
answer to the status polls, with how long it held), when the task reaches a
terminal status or the recorder stops. ID is up to 24 characters of the
task id (of KIND-ID for a kind other than text-to-sound; lower-case letters,
digits, dashes) and HASH 10 hex digits of its SHA-256: each task has a file
of its own. Files are written atomically and hold no API key: one the
upstream echoes is written as [redacted]. With --keep-audio each task's
audio is saved beside its scenario as rec-ID-HASH.wav (.flac and so on for
other audio types), up to --max-audio-bytes. The recorder holds at most
10000 tasks at once: past that, the oldest is written as it stands and
forgotten (the summary counts them). At start the recorder removes the
temporary files (.rec-*) a killed one left in DIR: run one recorder per
folder. Replay the files with cambmock serve --scenarios DIR (optionally
--time-scale 0.01); a recording plays on any kind of task.

Example:
  cambmock record --upstream https://client.camb.ai/apis --out ./recorded --keep-audio
`

type proxyConfig struct {
	spec      string
	upstream  string
	addr      string
	enforce   bool
	timeout   time.Duration
	logFormat string
	logLevel  string
	out       string
	keepAudio bool
	maxAudio  int
	token     string
}

func parseProxy(name, help string, args []string, stdout io.Writer, getenv func(string) string) (*proxyConfig, error) {
	fs := newFlags(name, help, stdout, getenv)
	upstream := fs.String("upstream", "CAMBMOCK_UPSTREAM", cambmock.LiveBaseURL, "the upstream API's base `URL`; user:password@ in it is sent as HTTP basic auth and shown as [redacted]")
	addr := fs.String("addr", "CAMBMOCK_PROXY_ADDR", "127.0.0.1:8081", "`host:port` to listen on")
	enforce := fs.Bool("enforce", "CAMBMOCK_ENFORCE", "replace an answer that violates the contract by a 502 naming the violation")
	timeout := fs.Duration("timeout", "CAMBMOCK_UPSTREAM_TIMEOUT", 60*time.Second, "how long the upstream may take to start answering before the client gets a 504")
	logFormat := fs.String("log-format", "CAMBMOCK_LOG_FORMAT", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "CAMBMOCK_LOG_LEVEL", "info", "log `level`: debug, info, warn or error")
	token := fs.String("admin-token", "CAMBMOCK_ADMIN_TOKEN", "", "require this `token` (Authorization: Bearer TOKEN) on the admin API and dashboard; without one they answer only loopback clients")
	specFile := fs.String("spec", "CAMBMOCK_SPEC", "", "check against the OpenAPI document in `file` instead of the embedded one (see cambmock spec)")
	c := &proxyConfig{}
	var out *string
	var keep *bool
	var maxAudio *int
	if name == "record" {
		out = fs.String("out", "CAMBMOCK_RECORD_DIR", "", "the `folder` to write scenario files into (created if missing)")
		keep = fs.Bool("keep-audio", "CAMBMOCK_KEEP_AUDIO", "save each task's result audio beside its scenario")
		maxAudio = fs.Int("max-audio-bytes", "CAMBMOCK_MAX_AUDIO_BYTES", proxy.DefaultMaxAudioBytes,
			"the most `bytes` of audio --keep-audio saves per task; a larger audio is not kept (the client still gets it whole)")
	}
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	*c = proxyConfig{spec: *specFile, upstream: *upstream, addr: *addr, enforce: *enforce, timeout: *timeout, logFormat: *logFormat, logLevel: *logLevel, token: *token}
	if c.token != "" && len(c.token) < 16 {
		return nil, usageError("%s: --admin-token has %d characters; give at least 16, such as the output of openssl rand -hex 16", name, len(c.token))
	}
	if name == "record" {
		c.out, c.keepAudio, c.maxAudio = *out, *keep, *maxAudio
		if c.out == "" {
			return nil, usageError("record: no --out folder; give one such as --out ./recorded")
		}
		if c.maxAudio <= 0 {
			return nil, usageError("record: --max-audio-bytes %d is not above zero; give the most bytes of audio to keep per task, such as %d", c.maxAudio, proxy.DefaultMaxAudioBytes)
		}
	}
	if c.timeout <= 0 {
		return nil, usageError("%s: --timeout %v is not above zero", name, c.timeout)
	}
	return c, nil
}

func runProxy(ctx context.Context, name string, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	help := proxyHelp
	if name == "record" {
		help = recordHelp
	}
	c, err := parseProxy(name, help, args, stdout, getenv)
	if err != nil {
		return err
	}
	logger, sink, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	defer sink.Close()
	spec, err := loadSpec(c.spec)
	if err != nil {
		return err
	}
	opts := []proxy.Option{proxy.WithSpec(spec), proxy.WithEnforce(c.enforce), proxy.WithLogger(logger), proxy.WithTimeout(c.timeout)}
	if c.token != "" {
		opts = append(opts, proxy.WithAdminToken(c.token))
	}
	var rec *proxy.Recorder
	if name == "record" {
		// The recorder shows the upstream's userinfo as [redacted].
		cfg := proxy.RecorderConfig{Dir: c.out, Source: c.upstream, KeepAudio: c.keepAudio, MaxAudioBytes: int64(c.maxAudio), Spec: spec, Logger: logger}
		if rec, err = proxy.NewRecorder(cfg); err != nil {
			return err
		}
		opts = append(opts, proxy.WithRecorder(rec))
	}
	p, err := proxy.New(c.upstream, opts...)
	if err != nil {
		return usageError("%v", err)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("%s: %w; is another server on that port? choose another with --addr", name, err)
	}
	logger.Info("cambmock "+name+" listening", "base_url", "http://"+ln.Addr().String()+"/apis", "upstream", p.Upstream(),
		"enforce", c.enforce, "violations", "http://"+ln.Addr().String()+"/__admin/violations", "dashboard", "http://"+ln.Addr().String()+"/__admin/ui/")
	sink.Flush()
	err = runHTTP(ctx, ln, p, logger, c.timeout+2*time.Minute, p.Close)
	if rec != nil {
		rec.Flush()
	}
	p.LogSummary()
	s := p.Summary()
	attrs := []any{"requests", s.Requests, "responses", s.Responses, "violations", len(s.Findings), "warnings", len(s.Drift.Warnings)}
	if rec != nil {
		st := rec.Stats()
		attrs = append(attrs, "recorded", st.Written, "evicted", st.Evicted, "dropped_runs", st.DroppedRuns, "dropped_steps", st.DroppedSteps)
	}
	logger.Info("cambmock "+name+" summary", attrs...)
	return err
}
