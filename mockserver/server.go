// Package mockserver is a mock of camb.ai's polled-task APIs, built from
// an OpenAPI document (the embedded openapi.yaml, or one given with
// [WithSpec]): for each kind of task the document declares (text-to-sound,
// tts, dub, ...), it serves the create, status, result and bulk
// operations, playing scripted scenarios: status progressions, API errors
// and faults on the socket, for many tasks at once, on a clock tests can
// move.
//
// [New] returns a [Server], an http.Handler to mount anywhere; the
// cambmock serve command runs one. Go tests start one in a line with
// mockservertest.NewTestServer, or serve an *http.Client that calls
// https://client.camb.ai/apis without opening a port with
// mockservertest.Intercept.
//
// The API is served under the base path of the spec's first server
// (/apis): POST /apis/text-to-sound creates a task, GET
// /apis/text-to-sound/{task_id} polls it, GET
// /apis/text-to-sound-result/{run_id} fetches its audio, POST
// /apis/text-to-sound-results many URLs at once; likewise for every kind.
// A create request picks its scenario with the X-Cambmock-Scenario header,
// else a [scenario:NAME] token in any text field of its body, else the
// server's default. Any scenario plays on any kind. The admin API under
// /__admin/ lists scenarios, creates and inspects tasks, judges how they
// were polled, moves a manual clock, resets state, shows the recent
// requests and serves the spec in force.
//
// The server records what it delivered to each task's client, and
// package judge judges that history: polls too close together, polls
// before Retry-After allowed, polls after a terminal or unknown status,
// results asked for before SUCCESS ([Task.Discipline]). Tests wait for
// what a client does with [Task.WaitForStatus], [Task.WaitForPolls],
// [Task.WaitForResult] and [Server.WaitForTasks] instead of sleeping; each
// returns once the answer has been delivered, not when it was chosen. And
// [RunMatrix] runs a client once per scenario, each against a fresh
// server, as cambmock matrix does for any program.
package mockserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// ErrUnknownScenario is returned (wrapped) for a scenario name the server
// does not have.
var ErrUnknownScenario = errors.New("unknown scenario")

// ErrNoTask is returned (wrapped) for a task id the server does not have.
var ErrNoTask = errors.New("no such task")

// ErrFull is returned (wrapped) when the server holds as many tasks as
// [WithMaxTasks] allows.
var ErrFull = errors.New("too many tasks")

// ErrTaskExists is returned (wrapped) when a chosen task id is taken.
var ErrTaskExists = errors.New("task id already taken")

// ErrUnknownKind is returned (wrapped) for a kind of task the spec does
// not declare.
var ErrUnknownKind = errors.New("unknown kind of task")

// MusicLength is the length of the audio of every text-to-sound music
// task in the embedded openapi.yaml: camb.ai's docs say the duration is not
// enforced for music, and the mock makes that visible by ignoring it.
const MusicLength = 30 * time.Second

// DefaultDuration is the length of a sound when the create request gives none.
const DefaultDuration = 8 * time.Second

// The judge's words, for callers of this package.
type (
	// Rules are what a client's polling is judged by: see [judge.Rules].
	Rules = judge.Rules
	// Discipline is a judged task: see [judge.Discipline].
	Discipline = judge.Discipline
	// Event is one answer of a task's history: see [judge.Event].
	Event = judge.Event
	// Duration is a time.Duration that JSON writes as a string such as "1.5s".
	Duration = judge.Duration
	// Advice is a Retry-After answer and what the client did next: see [judge.Advice].
	Advice = judge.Advice
)

// DefaultMinInterval is the least time between polls the zero [Rules] allow.
const DefaultMinInterval = judge.DefaultMinInterval

// The names of the violations, as [Discipline.Violations] gives them.
const (
	ViolationPollInterval  = judge.ViolationPollInterval
	ViolationRetryAfter    = judge.ViolationRetryAfter
	ViolationAfterTerminal = judge.ViolationAfterTerminal
	ViolationAfterUnknown  = judge.ViolationAfterUnknown
	ViolationMaxPolls      = judge.ViolationMaxPolls
	ViolationEarlyResult   = judge.ViolationEarlyResult
	ViolationUnknownRun    = judge.ViolationUnknownRun
	// ViolationNoTask is judged per matrix run: the client created no task.
	ViolationNoTask = "no-task"
	// ViolationExit is judged per matrix run: the client failed without a
	// reason the scenario gives it.
	ViolationExit = "exit"
)

// Server is the mock API, an http.Handler. Create one with [New]. It is
// safe for concurrent use. Call [Server.Close] when done, to end requests
// held by hang faults and latencies and stop its expiry sweeps.
type Server struct {
	cfg       config
	spec      *cambmock.Spec
	scenarios []*scenario
	byName    map[string]*scenario
	names     []string // sorted
	def       *scenario
	kinds     []*kind
	keys      map[string]struct{}
	keyHeader string // canonical
	base      string // the base path, such as /apis
	baseSlash string // base + "/"
	clock     scenarios.Clock
	manual    *scenarios.ManualClock
	scale     float64 // real seconds per second of the scenario clock
	log       *slog.Logger
	statuses  *statusTable
	store     store
	journal   journaler
	waiters   waiters
	secret    []byte
	api       apiRouter
	admin     http.Handler
	strict    strictCache
	bus       bus
	// pendingBody is a status body of the first status in progress, of
	// which a truncated poll sends half.
	pendingBody []byte

	closeOnce sync.Once
	closing   chan struct{}
}

// scenario is a loaded scenario and what serving it needs.
type scenario struct {
	*scenarios.Scenario
	index   uint16
	replies [][]byte // per poll step: the body, or its part before an auto run id
	tails   [][]byte // per poll step: the part after an auto run id; nil if none
}

func compile(sc *scenarios.Scenario, index int) *scenario {
	c := &scenario{Scenario: sc, index: uint16(index), replies: make([][]byte, len(sc.Poll)), tails: make([][]byte, len(sc.Poll))}
	for i, st := range sc.Poll {
		if st.Reply == nil {
			continue
		}
		if !st.Reply.RunID.Auto {
			c.replies[i] = st.Reply.Body(0)
			continue
		}
		// Split the body around a marker run id.
		const marker = 7777777777777777777
		body := st.Reply.Body(marker)
		at := strings.Index(string(body), strconv.FormatInt(marker, 10))
		c.replies[i] = body[:at]
		c.tails[i] = body[at+len(strconv.FormatInt(marker, 10)):]
	}
	return c
}

// New returns a server configured by opts. With none it serves the
// embedded openapi.yaml, plays the built-in scenarios on the real clock,
// defaults to "success", accepts any non-empty API key, forgets a task an
// hour after its last request and discards its logs.
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("mockserver: an option is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("mockserver: %w", err)
		}
	}
	s := &Server{
		cfg:     cfg,
		spec:    cfg.spec,
		byName:  map[string]*scenario{},
		clock:   cfg.clock,
		log:     cfg.logger,
		closing: make(chan struct{}),
		secret:  make([]byte, 16),
		scale:   cfg.timeScale,
	}
	rand.Read(s.secret)
	if s.spec == nil {
		spec, err := cambmock.LoadSpec()
		if err != nil {
			return nil, fmt.Errorf("mockserver: %w", err)
		}
		s.spec = spec
	}
	if s.clock == nil {
		s.clock = scenarios.SystemClock()
	}
	s.manual, _ = s.clock.(*scenarios.ManualClock)
	if s.manual != nil && s.scale != 1 {
		return nil, errors.New("mockserver: WithTimeScale scales the real clock, but the server runs on a manual clock, which moves only when told; drop one of them")
	}
	if s.scale != 1 {
		s.clock = &scaledClock{base: s.clock, origin: s.clock.Now(), factor: 1 / s.scale}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.base = s.spec.BasePath()
	s.baseSlash = s.base + "/"
	s.keyHeader = http.CanonicalHeaderKey(s.spec.APIKeyHeader())
	if err := s.loadScenarios(); err != nil {
		return nil, err
	}
	if err := s.loadKinds(); err != nil {
		return nil, err
	}
	if len(cfg.keys) > 0 {
		s.keys = make(map[string]struct{}, len(cfg.keys))
		for _, k := range cfg.keys {
			s.keys[k] = struct{}{}
		}
	}
	s.statuses = newStatusTable(s.spec, s.scenarios)
	kindNames := make([]string, len(s.kinds))
	for i, k := range s.kinds {
		kindNames[i] = k.Name
	}
	scfg := storeConfig{
		scenarios: s.scenarios, kinds: kindNames, statuses: s.statuses, clock: s.clock, spec: s.spec,
		scale: s.scale, manual: s.manual != nil, maxTasks: cfg.maxTasks, historyLimit: cfg.historyLimit,
		eventBudget: cfg.eventBudget, ttl: cfg.taskTTL, journalSize: cfg.journalSize, wake: s.waiters.wake, wakeAll: s.waiters.wakeAll, waiting: s.waiters.any,
	}
	if cfg.store != "" {
		if err := s.openSharedStore(scfg); err != nil {
			return nil, fmt.Errorf("mockserver: %w", err)
		}
	} else {
		s.store = newMemStore(scfg)
	}
	s.journal = s.store.journal()
	s.bus.out = s.store.broadcast
	if err := s.prepareStrict(); err != nil {
		return nil, err
	}
	s.routes()
	if cfg.taskTTL > 0 {
		go s.sweepLoop()
	}
	return s, nil
}

func (s *Server) loadScenarios() error {
	var all []*scenarios.Scenario
	if !s.cfg.noBuiltins {
		// Builtins has checked them against this spec (or they are the ones
		// its tests check against the embedded spec): not checked again.
		builtins, err := scenarios.Builtins(s.spec)
		if err != nil {
			return fmt.Errorf("mockserver: the built-in scenarios do not load against this spec:\n%w", err)
		}
		all = builtins
	}
	checked := len(all)
	all = append(all, s.cfg.extra...)
	for i, sc := range all {
		if other, taken := s.byName[sc.Name]; taken {
			return fmt.Errorf("mockserver: scenario %q from %s is already defined by %s; give it another name", sc.Name, where(sc), where(other.Scenario))
		}
		if err := sc.Validate(); err != nil {
			return fmt.Errorf("mockserver: %w", err)
		}
		if i >= checked {
			if err := sc.Check(s.spec); err != nil {
				return fmt.Errorf("mockserver: scenario %q: %w", sc.Name, err)
			}
		}
		if len(s.scenarios) == math.MaxUint16 {
			return fmt.Errorf("mockserver: more than %d scenarios", math.MaxUint16)
		}
		c := compile(sc, len(s.scenarios))
		s.scenarios = append(s.scenarios, c)
		s.byName[sc.Name] = c
		s.names = append(s.names, sc.Name)
	}
	slices.Sort(s.names)
	if len(s.names) == 0 {
		return errors.New("mockserver: the server has no scenarios: WithoutBuiltins leaves the built-ins out; give scenarios with WithScenarios")
	}
	def, ok := s.byName[s.cfg.defaultScenario]
	if !ok {
		return fmt.Errorf("mockserver: default scenario %q: %w; known: %s", s.cfg.defaultScenario, ErrUnknownScenario, strings.Join(s.names, ", "))
	}
	s.def = def
	return nil
}

func where(sc *scenarios.Scenario) string {
	if sc.File == "" {
		return "a Go value"
	}
	return sc.File
}

// sweepLoop forgets expired tasks now and then, until the server closes.
func (s *Server) sweepLoop() {
	every := min(max(s.cfg.taskTTL/4, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			if m, ok := s.store.(*memStore); ok {
				m.sweep(m.state.Load())
			}
		}
	}
}

// Close ends the requests that hang faults or latencies hold, dropping
// their connections, wakes the WaitFor methods with [ErrClosed] and stops
// the server's background work. The server keeps serving other requests; a
// hang fault after Close ends at once. Close is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.store.close()
	})
}

// scaledClock runs factor times as fast as base, from origin. It
// saturates rather than overflow: a clock scaled a million times reaches
// the year 2262 after about three days of real time, and stays there.
type scaledClock struct {
	base   scenarios.Clock
	origin time.Time
	factor float64
}

func (c *scaledClock) Now() time.Time {
	d := float64(c.base.Now().Sub(c.origin)) * c.factor
	const limit = float64(math.MaxInt64 / 2)
	if d > limit {
		d = limit
	}
	return c.origin.Add(time.Duration(d))
}

// ManualClock returns the server's manual clock, or nil if it runs on
// another clock.
func (s *Server) ManualClock() *scenarios.ManualClock { return s.manual }

// Clock returns the clock the server plays scenarios by.
func (s *Server) Clock() scenarios.Clock { return s.clock }

// Spec returns the OpenAPI document the server serves.
func (s *Server) Spec() *cambmock.Spec { return s.spec }

// Scenarios returns the server's scenarios, sorted by name.
func (s *Server) Scenarios() []*scenarios.Scenario {
	out := make([]*scenarios.Scenario, len(s.names))
	for i, n := range s.names {
		out[i] = s.byName[n].Scenario
	}
	return out
}

// DefaultScenario returns the name of the scenario tasks play when their
// create request names none.
func (s *Server) DefaultScenario() string { return s.def.Name }

// AcceptsAnyKey reports whether the server accepts every non-empty API key
// (no [WithAPIKeys]).
func (s *Server) AcceptsAnyKey() bool { return s.keys == nil }

// UnknownRunRequests returns how many result requests asked for a run id
// the server never gave (since the last reset).
func (s *Server) UnknownRunRequests() int {
	n, _ := s.store.unknownRuns(context.Background())
	return int(n)
}

// Reset forgets every task and run, restarts every create script and
// empties the request journal. The clock is not moved.
func (s *Server) Reset() {
	s.store.reset(context.Background())
	s.journal.reset()
}

func (s *Server) lookupScenario(name string) (*scenario, error) {
	sc, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q; known scenarios: %s", ErrUnknownScenario, name, strings.Join(s.names, ", "))
	}
	return sc, nil
}

// fileToken signs a run id and a file name, so that file URLs work like
// pre-signed ones.
func (s *Server) fileToken(runID int64, name string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write(strconv.AppendInt(nil, runID, 10))
	m.Write([]byte{0})
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// fixedRunID returns the integer run id a reply serves, if it serves one
// that is not allocated.
func fixedRunID(r *scenarios.Reply) (int64, bool) {
	if r.RunID.Auto || r.RunID.Value == nil {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(r.RunID.Value, &n) != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	return v, err == nil
}
