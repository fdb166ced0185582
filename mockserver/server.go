// Package mockserver is a mock of camb.ai's text-to-sound API that plays
// scripted scenarios: status progressions, API errors and faults on the
// socket, for many tasks at once, on a clock tests can move.
//
// [New] returns a [Server], an http.Handler to mount anywhere; the
// cambmock serve command runs one. Go tests start one in a line with
// [NewTestServer], or with [Intercept] serve an *http.Client that calls
// https://client.camb.ai/apis without opening a port.
//
// The API is served under /apis, as on the live base URL: create a task
// (POST /apis/text-to-sound), poll it (GET /apis/text-to-sound/{task_id}),
// fetch its audio (GET /apis/text-to-sound-result/{run_id}) or many URLs
// at once (POST /apis/text-to-sound-results). A create request picks its
// scenario with the X-Cambmock-Scenario header, else a [scenario:NAME]
// token in the prompt, else the server's default. The admin API under
// /__admin/ lists scenarios, creates and inspects tasks, moves a manual
// clock, resets state and shows the recent requests.
//
// The server also judges its clients. Each task keeps how it was polled,
// and [Task.Discipline] judges that by [Rules]: polls too close together,
// polls before Retry-After allowed, polls after a terminal or unknown
// status, results asked for before SUCCESS. Tests wait for what a client
// does with [Task.WaitForStatus], [Task.WaitForPolls],
// [Task.WaitForResult] and [Server.WaitForTasks] instead of sleeping, and
// [RunMatrix] runs a client once per scenario, each against a fresh server,
// as cambmock matrix does for any program.
package mockserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
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

// MusicLength is the length of the audio of every music task: camb.ai's
// docs say the duration is not enforced for music, and the mock makes that
// visible by ignoring it.
const MusicLength = 30 * time.Second

// DefaultDuration is the length of a sound when the create request gives none.
const DefaultDuration = 8 * time.Second

// Server is the mock API, an http.Handler. Create one with [New]. It is
// safe for concurrent use. Call [Server.Close] when done, to end requests
// held by a hang fault.
type Server struct {
	cfg       config
	spec      *cambmock.Spec
	scenarios map[string]*scenario
	names     []string // sorted
	def       *scenario
	keys      map[string]struct{}
	clock     scenarios.Clock        // what scenarios play by: the given clock, scaled by WithTimeScale
	manual    *scenarios.ManualClock // the given clock, if it is a manual one
	log       *slog.Logger
	handler   http.Handler
	secret    []byte
	router    *mux.Router // for the Allow header of 405 answers

	tasks   *store
	journal *journal
	nextRun atomic.Int64
	notes   notifier
	// unknownRuns counts result requests for run ids the server never gave.
	unknownRuns atomic.Int64
	scale       float64 // real seconds per second of the clock: 1, or WithTimeScale's

	mu      sync.Mutex // guards started
	started time.Time  // when the state was last reset, by the clock

	closeOnce sync.Once
	closing   chan struct{}
}

// scenario is a loaded scenario and the server's state for it.
type scenario struct {
	*scenarios.Scenario
	replies [][]byte // per poll step: the body, or its part before an auto run id
	tails   [][]byte // per poll step: the part after an auto run id; nil if none

	mu     sync.Mutex // guards create
	create scenarios.Position
}

func compile(sc *scenarios.Scenario) *scenario {
	c := &scenario{Scenario: sc, replies: make([][]byte, len(sc.Poll)), tails: make([][]byte, len(sc.Poll))}
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

// New returns a server configured by opts. With none it plays the built-in
// scenarios on the real clock, defaults to "success", accepts any
// non-empty API key and discards its logs.
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
		cfg:       cfg,
		spec:      cfg.spec,
		scenarios: make(map[string]*scenario),
		clock:     cfg.clock,
		log:       cfg.logger,
		tasks:     newStore(),
		journal:   newJournal(cfg.journalSize),
		closing:   make(chan struct{}),
		secret:    make([]byte, 16),
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
	s.scale = cfg.timeScale
	if s.scale != 1 {
		s.clock = &scaledClock{base: s.clock, origin: s.clock.Now(), factor: 1 / s.scale}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var all []*scenarios.Scenario
	if !cfg.noBuiltins {
		builtins, err := scenarios.Builtins(s.spec)
		if err != nil {
			return nil, fmt.Errorf("mockserver: the built-in scenarios: %w", err)
		}
		all = builtins
	}
	all = append(all, cfg.extra...)
	for _, sc := range all {
		if other, taken := s.scenarios[sc.Name]; taken {
			return nil, fmt.Errorf("mockserver: scenario %q from %s is already defined by %s; give it another name", sc.Name, where(sc), where(other.Scenario))
		}
		if !validName(sc.Name) {
			return nil, fmt.Errorf("mockserver: scenario name %q from %s cannot be picked by a client; use lowercase letters, digits and dashes", sc.Name, where(sc))
		}
		if len(sc.Poll) == 0 {
			return nil, fmt.Errorf("mockserver: scenario %q has no poll script; every scenario needs one", sc.Name)
		}
		if !sc.OffSpec {
			if err := sc.Check(s.spec); err != nil {
				return nil, fmt.Errorf("mockserver: scenario %q: %w", sc.Name, err)
			}
		}
		s.scenarios[sc.Name] = compile(sc)
		s.names = append(s.names, sc.Name)
	}
	slices.Sort(s.names)
	if len(s.names) == 0 {
		return nil, errors.New("mockserver: the server has no scenarios: WithoutBuiltins leaves the built-ins out; give scenarios with WithScenarios")
	}
	def, ok := s.scenarios[cfg.defaultScenario]
	if !ok {
		return nil, fmt.Errorf("mockserver: default scenario %q: %w; known: %s", cfg.defaultScenario, ErrUnknownScenario, strings.Join(s.names, ", "))
	}
	s.def = def
	if len(cfg.keys) > 0 {
		s.keys = make(map[string]struct{}, len(cfg.keys))
		for _, k := range cfg.keys {
			s.keys[k] = struct{}{}
		}
	}
	s.started = s.clock.Now()
	s.nextRun.Store(100000)
	s.handler = s.routes()
	return s, nil
}

// validName reports whether a scenario name is one a client can send in
// a header or a [scenario:NAME] token.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

func where(sc *scenarios.Scenario) string {
	if sc.File == "" {
		return "a Go value"
	}
	return sc.File
}

// routes registers every route of the server.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	// Serve paths as sent: mux would answer /apis/text-to-sound/.. with a
	// redirect to /apis, which is no answer of the API.
	r.SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)

	api := r.PathPrefix("/apis").Subrouter()
	api.NotFoundHandler = r.NotFoundHandler
	api.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	if s.cfg.strict {
		api.Use(s.strictly)
	}
	api.Use(s.authenticate)
	api.HandleFunc("/text-to-sound", s.createTask).Methods(http.MethodPost)
	api.HandleFunc("/text-to-sound/{task_id}", s.pollTask).Methods(http.MethodGet)
	api.HandleFunc("/text-to-sound-result/{run_id}", s.getResult).Methods(http.MethodGet)
	api.HandleFunc("/text-to-sound-results", s.getResults).Methods(http.MethodPost)

	r.HandleFunc("/__files/{run_id:[0-9]+}.wav", s.getFile).Methods(http.MethodGet, http.MethodHead)

	admin := r.PathPrefix("/__admin").Subrouter()
	admin.NotFoundHandler = r.NotFoundHandler
	admin.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	admin.HandleFunc("/health", s.adminHealth).Methods(http.MethodGet)
	admin.HandleFunc("/scenarios", s.adminScenarios).Methods(http.MethodGet)
	admin.HandleFunc("/tasks", s.adminCreateTask).Methods(http.MethodPost)
	admin.HandleFunc("/tasks", s.adminListTasks).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}", s.adminGetTask).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/discipline", s.adminDiscipline).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/wait", s.adminWaitTask).Methods(http.MethodGet)
	admin.HandleFunc("/wait", s.adminWaitTasks).Methods(http.MethodGet)
	admin.HandleFunc("/reset", s.adminReset).Methods(http.MethodPost)
	admin.HandleFunc("/clock", s.adminGetClock).Methods(http.MethodGet)
	admin.HandleFunc("/clock", s.adminAdvanceClock).Methods(http.MethodPost)
	admin.HandleFunc("/requests", s.adminRequests).Methods(http.MethodGet)
	s.router = r
	return s.logRequests(limitHeaders(r))
}

// MaxHeaderSize is the most bytes of request headers the server takes; a
// request with more gets a 431. (An http.Server's own MaxHeaderBytes, the
// bound beyond which it answers in plain text, should be larger.)
const MaxHeaderSize = 64 << 10

// limitHeaders answers 431 to a request whose headers are too large.
func limitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxHeaderSize {
			writeError(w, http.StatusRequestHeaderFieldsTooLarge,
				fmt.Sprintf("Request headers too large: %d bytes; the limit is %d bytes", n, MaxHeaderSize))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the mock API, the admin API and the audio files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Close ends the requests that hang faults or latencies hold, dropping
// their connections, and wakes the WaitFor methods with [ErrClosed]. The
// server keeps serving other requests; a hang fault after Close ends at
// once. Close is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// scaledClock runs factor times as fast as base, from origin.
type scaledClock struct {
	base   scenarios.Clock
	origin time.Time
	factor float64
}

func (c *scaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(c.base.Now().Sub(c.origin)) * c.factor))
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
		out[i] = s.scenarios[n].Scenario
	}
	return out
}

// DefaultScenario returns the name of the scenario tasks play when their
// create request names none.
func (s *Server) DefaultScenario() string { return s.def.Name }

// UnknownRunRequests returns how many result requests asked for a run id
// the server never gave (since the last reset).
func (s *Server) UnknownRunRequests() int { return int(s.unknownRuns.Load()) }

// Reset forgets every task and run, restarts every create script and
// empties the request journal. The clock is not moved.
func (s *Server) Reset() {
	s.tasks.reset()
	s.journal.reset()
	s.unknownRuns.Store(0)
	for _, sc := range s.scenarios {
		sc.mu.Lock()
		sc.create = scenarios.Position{}
		sc.mu.Unlock()
	}
	s.mu.Lock()
	s.started = s.clock.Now()
	s.mu.Unlock()
}

func (s *Server) lookupScenario(name string) (*scenario, error) {
	sc, ok := s.scenarios[name]
	if !ok {
		return nil, fmt.Errorf("%w %q; known scenarios: %s", ErrUnknownScenario, name, strings.Join(s.names, ", "))
	}
	return sc, nil
}

// fileToken signs a run id, so that file URLs work like pre-signed ones.
func (s *Server) fileToken(runID int64) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write(strconv.AppendInt(nil, runID, 10))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// newTaskID returns a random id shaped like a UUID, as the live API's are.
func newTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
