package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/scenarios"
	"github.com/redis/go-redis/v9"
)

const serveHelp = `Usage: cambmock serve [flags]

Serves a mock of camb.ai's task APIs under /apis, playing scripted
scenarios: every kind of task the spec declares (text-to-sound, tts,
text-to-voice, audio-separation, dub, transcription, translation,
translated-tts), each with its create, status, result and bulk endpoints.
Point a client's base URL at http://ADDR/apis. Each create request picks
its scenario with the X-Cambmock-Scenario header, else a [scenario:NAME]
token in a text field of the body, else --scenario. The admin API is under
/__admin/ (scenarios, kinds, tasks and how each was polled, long polls that
wait for a task, events, clock, reset, requests, the spec, health), with a
live dashboard of it all at /__admin/ui/ (open it in a browser); without
--admin-token it answers only clients on this machine.

Every flag can also be set with the environment variable named after it.

Example:
  cambmock serve --addr 127.0.0.1:8080 --scenario slow-success --clock manual
  curl -s -X POST localhost:8080/__admin/clock -d '{"by":"10s"}'
`

// serveConfig is what the serve flags say.
type serveConfig struct {
	addr      string
	scenario  string
	paths     []string
	keys      []string
	clock     string
	strict    bool
	logFormat string
	logLevel  string
	maxTasks  int
	hangLimit time.Duration
	timeScale float64
	spec      string
	taskTTL   time.Duration
	token     string
	store     string
	gcMiB     int
}

func parseServe(args []string, stdout io.Writer, getenv func(string) string) (*serveConfig, error) {
	fs := newFlags("serve", serveHelp, stdout, getenv)
	c := &serveConfig{}
	addr := fs.String("addr", "CAMBMOCK_ADDR", "127.0.0.1:8080", "`host:port` to listen on; 0.0.0.0:8080 to serve other machines")
	scenario := fs.String("scenario", "CAMBMOCK_SCENARIO", "success", "the `name` of the scenario tasks play when their create request names none")
	paths := fs.List("scenarios", "CAMBMOCK_SCENARIOS", string(os.PathListSeparator), "a scenario `file or folder` to load beside the built-ins; repeatable")
	keys := fs.List("api-key", "CAMBMOCK_API_KEY", ",", "an API `key` to accept; repeatable; without any, every non-empty key is accepted")
	clock := fs.String("clock", "CAMBMOCK_CLOCK", "real", "the clock scenarios play by: real, or manual (moved by POST /__admin/clock)")
	strict := fs.Bool("strict", "CAMBMOCK_STRICT", "validate every on-spec response against openapi.yaml and answer 500 on a violation")
	logFormat := fs.String("log-format", "CAMBMOCK_LOG_FORMAT", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "CAMBMOCK_LOG_LEVEL", "info", "log `level`: debug, info, warn or error; info logs a line per request")
	maxTasks := fs.Int("max-tasks", "CAMBMOCK_MAX_TASKS", 1<<20, "the most tasks to hold; create requests beyond it get a 503 until a reset")
	hang := fs.Duration("hang-limit", "CAMBMOCK_HANG_LIMIT", 2*time.Minute, "how long a hang fault holds a request at most")
	scale := fs.Float64("time-scale", "CAMBMOCK_TIME_SCALE", 1, "play scenarios in `scale` times their written time: 0.01 is a hundred times faster, as for recorded ones (real clock only)")
	specFile := fs.String("spec", "CAMBMOCK_SPEC", "", "serve the OpenAPI document in `file` instead of the embedded one (see cambmock spec)")
	ttl := fs.Duration("task-ttl", "CAMBMOCK_TASK_TTL", mockserver.DefaultTaskTTL, "forget a task this long after its last request, on the scenario clock; 0 keeps tasks until a reset")
	token := fs.String("admin-token", "CAMBMOCK_ADMIN_TOKEN", "", "require this `token` (Authorization: Bearer TOKEN) on the admin API; without one it answers only loopback clients")
	store := fs.String("store", "CAMBMOCK_STORE", "", "keep tasks in the Redis at `URL` (redis://[:PASSWORD@]HOST:PORT/DB, or rediss:// for TLS), shared by every replica given it, so that replicas behind a load balancer are one mock; default: in this process")
	gc := fs.Int("gc-headroom", "CAMBMOCK_GC_HEADROOM", defaultGCHeadroomMiB, "let the heap grow by at least this many `MiB` between garbage collections, which costs memory and saves CPU under load; 0 leaves Go's default, and so does GOGC in the environment")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	*c = serveConfig{addr: *addr, scenario: *scenario, paths: *paths, keys: *keys, clock: *clock, strict: *strict,
		logFormat: *logFormat, logLevel: *logLevel, maxTasks: *maxTasks, hangLimit: *hang, timeScale: *scale,
		spec: *specFile, taskTTL: *ttl, token: *token, store: *store, gcMiB: *gc}
	switch c.clock {
	case "real", "manual":
	default:
		return nil, usageError("serve: --clock %q is not real or manual", c.clock)
	}
	if _, err := net.ResolveTCPAddr("tcp", c.addr); err != nil || !strings.Contains(c.addr, ":") {
		return nil, usageError("serve: --addr %q is not host:port, such as 127.0.0.1:8080", c.addr)
	}
	// Checked here so the message names the flag, not the mockserver option.
	if c.maxTasks < 1 {
		return nil, usageError("serve: --max-tasks %d is below 1; give the number of tasks to hold", c.maxTasks)
	}
	if c.hangLimit <= 0 {
		return nil, usageError("serve: --hang-limit %v is not above zero; give a duration such as 30s", c.hangLimit)
	}
	if c.taskTTL < 0 {
		return nil, usageError("serve: --task-ttl %v is below zero; give 0 to keep tasks, or a duration such as 1h", c.taskTTL)
	}
	if c.clock == "manual" && c.timeScale != 1 {
		return nil, usageError("serve: --time-scale scales the real clock, and --clock manual moves only when told; drop one of them")
	}
	if c.gcMiB < 0 || c.gcMiB > 1<<20 {
		return nil, usageError("serve: --gc-headroom %d is not between 0 and %d; give MiB, such as 64, or 0 for Go's default", c.gcMiB, 1<<20)
	}
	if c.token != "" && len(c.token) < 16 {
		return nil, usageError("serve: --admin-token has %d characters; give at least 16, such as the output of openssl rand -hex 16", len(c.token))
	}
	if c.store != "" && !strings.HasPrefix(c.store, "redis://") && !strings.HasPrefix(c.store, "rediss://") {
		return nil, usageError("serve: --store %q is not a redis:// or rediss:// URL, such as redis://127.0.0.1:6379/0", storeName(c.store))
	}
	return c, nil
}

// newLogger builds the one logger of the process, writing lines as
// slog's TextHandler or JSONHandler would through a buffer flushed every
// 100 ms. The caller must Close the sink when the command ends, which
// flushes what is left.
func newLogger(w io.Writer, format, level string) (*slog.Logger, *logSink, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, usageError("--log-level %q is not debug, info, warn or error", level)
	}
	if format != "text" && format != "json" {
		return nil, nil, usageError("--log-format %q is not text or json", format)
	}
	sink := newLogSink(w)
	return slog.New(newLineHandler(sink, lvl, format == "json")), sink, nil
}

// loadScenarios loads the scenario files and folders the user gave. A bad
// file is a usage error (exit status 2), as a bad flag value is.
func loadScenarios(spec *cambmock.Spec, paths []string) ([]*scenarios.Scenario, error) {
	var all []*scenarios.Scenario
	var errs []error
	for _, p := range paths {
		list, err := scenarios.LoadPath(p, spec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, list...)
	}
	if len(errs) > 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("loading scenarios:\n%w", errors.Join(errs...))}
	}
	return all, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parseServe(args, stdout, getenv)
	if err != nil {
		return err
	}
	logger, sink, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return usageError("serve: %v", err) // as the other flags' errors read
	}
	defer sink.Close()
	// From the start: loading the spec and the scenarios then runs no
	// collection either.
	switch {
	case c.gcMiB == 0:
	case getenv("GOGC") != "":
		logger.Debug("GOGC is set in the environment, so --gc-headroom is not used", "GOGC", getenv("GOGC"))
	default:
		logger.Debug("the heap may grow by at least --gc-headroom between garbage collections", "gc_headroom_mib", c.gcMiB)
		stop := startGCTuner(uint64(c.gcMiB) << 20)
		defer stop()
	}
	spec, err := loadSpec(c.spec)
	if err != nil {
		return err
	}
	extra, err := loadScenarios(spec, c.paths)
	if err != nil {
		return err
	}
	opts := []mockserver.Option{
		mockserver.WithSpec(spec),
		mockserver.WithScenarios(extra...),
		mockserver.WithDefaultScenario(c.scenario),
		mockserver.WithAPIKeys(c.keys...),
		mockserver.WithLogger(logger),
		mockserver.WithStrict(c.strict),
		mockserver.WithMaxTasks(c.maxTasks),
		mockserver.WithHangLimit(c.hangLimit),
		mockserver.WithTimeScale(c.timeScale),
		mockserver.WithTaskTTL(c.taskTTL),
	}
	if c.token != "" {
		opts = append(opts, mockserver.WithAdminToken(c.token))
	}
	if c.store != "" {
		opts = append(opts, mockserver.WithStore(c.store))
	}
	if c.clock == "manual" {
		opts = append(opts, mockserver.WithClock(scenarios.NewManualClock(time.Now().UTC().Truncate(time.Second))))
	}
	if c.store != "" {
		redis.SetLogger(redisLog{logger})
	}
	srv, err := mockserver.New(opts...)
	if err != nil {
		return usageError("%v", err)
	}
	// Once the requests have drained: a replica of a fleet writes what its
	// recorder still holds and leaves the fleet, rather than being counted
	// live until its heartbeat expires.
	defer srv.Close()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("serve: %w; is another server on that port? choose another with --addr", err)
	}
	return serveOn(ctx, ln, srv, c, logger, sink)
}

// serveOn serves srv on ln until ctx ends, then drains in-flight requests
// for at most 5 seconds.
func serveOn(ctx context.Context, ln net.Listener, srv *mockserver.Server, c *serveConfig, logger *slog.Logger, sink *logSink) error {
	base := "http://" + ln.Addr().String()
	keys := "any non-empty key"
	if len(c.keys) > 0 {
		keys = fmt.Sprintf("%d key(s) given", len(c.keys))
	}
	logger.Info("cambmock serving", "base_url", base+"/apis", "admin", base+"/__admin/", "dashboard", base+"/__admin/ui/", "scenarios", len(srv.Scenarios()),
		"default_scenario", srv.DefaultScenario(), "clock", c.clock, "strict", c.strict, "api_keys", keys, "store", storeName(c.store))
	sink.Flush() // whoever waits for the server reads this line at once
	// What start-up allocated is garbage the collector, given its
	// headroom, would leave be for a while; once the server is up, it is
	// collected and its pages handed back, so that an idle mock stays
	// small. (Not at once: the first requests have the core.)
	settle := time.AfterFunc(500*time.Millisecond, debug.FreeOSMemory)
	defer settle.Stop()
	// Draining gives answers held by a step's latency a second to go out,
	// then ends hang faults, which would hold the drain to its bound.
	// (Server.Close ends latency waits too, and those requests get no answer.)
	var endHangs *time.Timer
	defer func() {
		if endHangs != nil {
			endHangs.Stop()
		}
	}()
	// Long enough for a hang fault and a slow download; a client that
	// reads nothing is cut off after it.
	err := runHTTP(ctx, ln, srv, logger, c.hangLimit+2*time.Minute, func() {
		endHangs = time.AfterFunc(time.Second, srv.Close)
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// redisLog hands go-redis's own messages (a failed dial, a pool's
// troubles) to serve's logger at debug level, in its format, in place of
// go-redis's default: a bare line on stderr. What they say, serve says
// itself, at start-up and in a 503 naming the store. go-redis keeps one
// logger per process, as the binary runs one serve.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "go-redis", "message", fmt.Sprintf(format, v...))
}

// storeName names the store for logs and messages: "memory", or the
// store's URL with its password hidden.
func storeName(store string) string {
	if store == "" {
		return "memory"
	}
	u, err := url.Parse(store)
	if err != nil {
		return "the --store URL (unparseable)"
	}
	return u.Redacted()
}
