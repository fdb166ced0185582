package mockserver

import (
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// An Option configures a [Server]. A bad option makes [New] return an
// error that names it.
type Option func(*config) error

type config struct {
	spec            *cambmock.Spec
	extra           []*scenarios.Scenario
	noBuiltins      bool
	defaultScenario string
	keys            []string
	clock           scenarios.Clock
	logger          *slog.Logger
	strict          bool
	hangLimit       time.Duration
	journalSize     int
	maxTasks        int
	historyLimit    int
	eventBudget     int
	timeScale       float64
	taskTTL         time.Duration
	adminToken      string
	store           string
}

// The defaults of the options.
const (
	DefaultMaxTasks     = 1 << 20
	DefaultHistoryLimit = 512
	DefaultEventBudget  = 4 << 20
	DefaultTaskTTL      = time.Hour
	DefaultJournalSize  = 1000
	DefaultHangLimit    = 2 * time.Minute
)

func defaultConfig() config {
	return config{
		defaultScenario: "success",
		hangLimit:       DefaultHangLimit,
		journalSize:     DefaultJournalSize,
		maxTasks:        DefaultMaxTasks,
		historyLimit:    DefaultHistoryLimit,
		eventBudget:     DefaultEventBudget,
		timeScale:       1,
		taskTTL:         DefaultTaskTTL,
	}
}

// WithSpec makes the server serve spec instead of the embedded
// openapi.yaml: its kinds of task, operations, statuses and schemas. Many
// servers can share one.
func WithSpec(spec *cambmock.Spec) Option {
	return func(c *config) error {
		if spec == nil {
			return errors.New("WithSpec: spec is nil; pass the result of cambmock.LoadSpec or cambmock.ParseSpec")
		}
		c.spec = spec
		return nil
	}
}

// WithScenarios adds scenarios beside the built-in library. A name that is
// already taken is an error; each is checked with [scenarios.Scenario.Validate]
// and, unless off-spec, against the spec.
func WithScenarios(list ...*scenarios.Scenario) Option {
	return func(c *config) error {
		for i, sc := range list {
			if sc == nil {
				return fmt.Errorf("WithScenarios: scenario %d is nil", i+1)
			}
		}
		c.extra = append(c.extra, list...)
		return nil
	}
}

// WithoutBuiltins leaves the built-in scenario library out, so the server
// plays only the scenarios given with [WithScenarios].
func WithoutBuiltins() Option {
	return func(c *config) error {
		c.noBuiltins = true
		return nil
	}
}

// WithDefaultScenario sets the scenario a task plays when its create
// request names none. The default is "success".
func WithDefaultScenario(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("WithDefaultScenario: name is empty; give a scenario name such as \"success\"")
		}
		c.defaultScenario = name
		return nil
	}
}

// WithAPIKeys makes the server accept only the given keys: a request
// without one gets a 401, one with another key a 403. Without it any
// non-empty key is accepted.
func WithAPIKeys(keys ...string) Option {
	return func(c *config) error {
		for i, k := range keys {
			if k == "" {
				return fmt.Errorf("WithAPIKeys: key %d is empty; give non-empty keys, or no keys to accept any", i+1)
			}
		}
		c.keys = append(c.keys, keys...)
		return nil
	}
}

// WithClock sets the clock scenarios play by. [New] uses the real clock by
// default; mockservertest.NewTestServer a [scenarios.ManualClock].
//
// On a manual clock a step's latency does not wait: the answer goes out at
// once, and the task's history records it as sent that much later on the
// clock. A hang fault ends when the client gives up, the server closes, or
// the clock is moved past the hang limit (or, at the latest, when the hang
// limit passes in real time).
func WithClock(clock scenarios.Clock) Option {
	return func(c *config) error {
		if clock == nil {
			return errors.New("WithClock: clock is nil; pass scenarios.SystemClock() or a *scenarios.ManualClock")
		}
		c.clock = clock
		return nil
	}
}

// WithLogger sets the logger the server writes a line per request to.
// The default discards them.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) error {
		if logger == nil {
			return errors.New("WithLogger: logger is nil; pass slog.New(slog.DiscardHandler) to discard logs")
		}
		c.logger = logger
		return nil
	}
}

// WithStrict makes the server check every answer of the API against the
// spec before sending it. An answer that violates it is logged and
// replaced by a 500 naming the violation, so drift inside the mock is
// loud; no answer the spec forbids leaves the server. Off-spec scenarios
// and faults are not checked. The status bodies and errors of on-spec
// scenarios are checked once, when the server starts, since they do not
// change; every other answer is checked as it goes out.
func WithStrict(strict bool) Option {
	return func(c *config) error {
		c.strict = strict
		return nil
	}
}

// WithHangLimit bounds how long a "hang" fault holds a request before the
// server closes the connection, on the scenario clock. The default is 2
// minutes.
func WithHangLimit(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithHangLimit: %v is not above zero; give a duration such as 30s", d)
		}
		c.hangLimit = d
		return nil
	}
}

// WithJournalSize sets how many recent requests the server remembers for
// the admin API's request journal. The default is 1000; 0 keeps none.
func WithJournalSize(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 1_000_000 {
			return fmt.Errorf("WithJournalSize: %d is not from 0 to 1000000", n)
		}
		c.journalSize = n
		return nil
	}
}

// WithMaxTasks bounds how many tasks the server holds; a create request
// beyond it gets a 503 until tasks expire or the state is reset. The
// default is 1048576.
func WithMaxTasks(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1<<31 {
			return fmt.Errorf("WithMaxTasks: %d is not from 1 to 2147483648; give the number of tasks to hold", n)
		}
		c.maxTasks = n
		return nil
	}
}

// WithHistoryLimits bounds the answers a task's history keeps one by one
// (perTask, default 512) and the answers all histories keep together
// (total, default 4194304). Older answers are folded into a summary that
// the judge still counts ([judge.History]).
func WithHistoryLimits(perTask, total int) Option {
	return func(c *config) error {
		if perTask < 4 || total < 4 {
			return fmt.Errorf("WithHistoryLimits: %d per task and %d in all; give at least 4 of each", perTask, total)
		}
		c.historyLimit, c.eventBudget = perTask, total
		return nil
	}
}

// WithTimeScale plays scenarios faster or slower than written: with 0.01, a
// step that lasts 10s ends after 100ms of real time, and latencies and the
// hang limit shrink alike. Retry-After headers keep their values, and
// [Task.Discipline] reports times in real terms. The default is 1. It
// scales the real clock: a manual clock moves only when told, so the two
// cannot be combined.
func WithTimeScale(scale float64) Option {
	return func(c *config) error {
		if !(scale >= 0.0001 && scale <= 1000) {
			return fmt.Errorf("WithTimeScale: %v is not from 0.0001 to 1000; give 0.01 to play scenarios 100 times faster", scale)
		}
		c.timeScale = scale
		return nil
	}
}

// WithTaskTTL makes the server forget a task d after its last request
// (create, poll or result), on the scenario clock, so that a long-running
// shared mock does not grow until it is full; its id and run then answer
// 404. The default is 1 hour; 0 keeps tasks until a reset.
func WithTaskTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithTaskTTL: %v is below zero; give 0 to keep tasks, or a duration such as 1h", d)
		}
		c.taskTTL = d
		return nil
	}
}

// WithAdminToken protects the admin API (/__admin/) with a token: every
// request but GET /__admin/health must send it as "Authorization: Bearer
// TOKEN" (or the dashboard's cookie, set by /__admin/ui/?token=TOKEN).
// Without a token the admin API answers only requests from loopback
// addresses that name a loopback host, so a mock on 127.0.0.1 needs no
// setup and one reachable from other machines needs a token.
func WithAdminToken(token string) Option {
	return func(c *config) error {
		if len(token) < 16 {
			return fmt.Errorf("WithAdminToken: the token has %d characters; give at least 16, such as the output of `openssl rand -hex 16`", len(token))
		}
		c.adminToken = token
		return nil
	}
}

// WithStore keeps the server's tasks in a store that replicas share, so
// that several servers behind a load balancer are one mock: a Redis (or
// Valkey) URL, redis://[:PASSWORD@]HOST:PORT/DB or rediss:// for TLS. The
// default is the in-process store. The password never appears in logs,
// errors or admin answers.
//
// Everything a client or a test can observe is then the fleet's: tasks,
// run ids, create scripts, histories and their verdicts, the journal, the
// admin API's long polls and event stream, resets, file URLs, and the
// clock: the real clock is Redis's (scaled by [WithTimeScale] from the
// fleet's start), and a manual clock given with [WithClock] becomes a
// copy of the fleet's one manual clock, which Advance moves for every
// replica. Each poll is one atomic script in Redis, one round trip; what
// its answer delivered is recorded in batches, and a task read waits a
// little for answers in flight. Replicas of one store must be configured
// alike (spec, scenarios, clock, time scale, task TTL and the limits):
// [New] refuses to join live replicas configured otherwise, and takes
// the store over, forgetting its tasks, when none is alive. When the
// store cannot be reached, New fails within seconds, and every request
// that needs the store answers 503 naming it, until it is back.
func WithStore(url string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(url, "redis://") && !strings.HasPrefix(url, "rediss://") {
			return fmt.Errorf("WithStore: %q is not a redis:// or rediss:// URL, such as redis://127.0.0.1:6379/0", redactURL(url))
		}
		c.store = url
		return nil
	}
}

// redactURL hides the password of a URL, for messages.
func redactURL(s string) string {
	u, err := neturl.Parse(s)
	if err != nil {
		return "the store URL (unparseable)"
	}
	return u.Redacted()
}
