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
request and answer against openapi.yaml with the contract suite's checks.
Each violation is logged once per kind with a count, and the running summary
is at GET /__admin/violations. With --enforce a violating answer is replaced
by a 502 naming the violation, so tests running through the proxy fail
loudly. Audio streams through without being held.

Example:
  cambmock proxy --upstream https://client.camb.ai/apis --addr 127.0.0.1:8081
  # point the client at http://127.0.0.1:8081/apis, then:
  curl -s 127.0.0.1:8081/__admin/violations
`

const recordHelp = `Usage: cambmock record [flags]

The proxy (see cambmock proxy --help) plus a recorder: for each task whose
traffic passes through, it writes DIR/rec-TASK.yaml, a scenario of what the
upstream actually did (each answer to the status polls, with how long it
held), when the task reaches a terminal status or the recorder stops.
Files are written atomically and hold no API key. Replay them with
cambmock serve --scenarios DIR (optionally --time-scale 0.01).

Example:
  cambmock record --upstream https://client.camb.ai/apis --out ./recorded --keep-audio
`

type proxyConfig struct {
	upstream  string
	addr      string
	enforce   bool
	timeout   time.Duration
	logFormat string
	logLevel  string
	out       string
	keepAudio bool
}

func parseProxy(name, help string, args []string, stdout io.Writer, getenv func(string) string) (*proxyConfig, error) {
	fs := newFlags(name, help, stdout, getenv)
	upstream := fs.String("upstream", "CAMBMOCK_UPSTREAM", cambmock.LiveBaseURL, "the upstream API's base `URL`")
	addr := fs.String("addr", "CAMBMOCK_PROXY_ADDR", "127.0.0.1:8081", "`host:port` to listen on")
	enforce := fs.Bool("enforce", "CAMBMOCK_ENFORCE", "replace an answer that violates the contract by a 502 naming the violation")
	timeout := fs.Duration("timeout", "CAMBMOCK_UPSTREAM_TIMEOUT", 60*time.Second, "how long the upstream may take to start answering before the client gets a 504")
	logFormat := fs.String("log-format", "CAMBMOCK_LOG_FORMAT", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "CAMBMOCK_LOG_LEVEL", "info", "log `level`: debug, info, warn or error")
	c := &proxyConfig{}
	var out *string
	var keep *bool
	if name == "record" {
		out = fs.String("out", "CAMBMOCK_RECORD_DIR", "", "the `folder` to write scenario files into (created if missing)")
		keep = fs.Bool("keep-audio", "CAMBMOCK_KEEP_AUDIO", "save each task's result audio beside its scenario")
	}
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	*c = proxyConfig{upstream: *upstream, addr: *addr, enforce: *enforce, timeout: *timeout, logFormat: *logFormat, logLevel: *logLevel}
	if name == "record" {
		c.out, c.keepAudio = *out, *keep
		if c.out == "" {
			return nil, usageError("record: no --out folder; give one such as --out ./recorded")
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
	logger, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	opts := []proxy.Option{proxy.WithEnforce(c.enforce), proxy.WithLogger(logger), proxy.WithTimeout(c.timeout)}
	var rec *proxy.Recorder
	if name == "record" {
		if rec, err = proxy.NewRecorder(proxy.RecorderConfig{Dir: c.out, Source: c.upstream, KeepAudio: c.keepAudio, Logger: logger}); err != nil {
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
	logger.Info("cambmock "+name+" listening", "base_url", "http://"+ln.Addr().String()+"/apis", "upstream", c.upstream,
		"enforce", c.enforce, "violations", "http://"+ln.Addr().String()+"/__admin/violations")
	err = runHTTP(ctx, ln, p, logger, c.timeout+2*time.Minute, nil)
	if rec != nil {
		rec.Flush()
	}
	s := p.Summary()
	logger.Info("cambmock "+name+" summary", "requests", s.Requests, "responses", s.Responses, "violations", len(s.Findings), "warnings", len(s.Drift.Warnings))
	return err
}
