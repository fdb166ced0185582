package mockserver

import (
	"errors"
	"fmt"
	"log/slog"
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
	historySize     int
	timeScale       float64
}

func defaultConfig() config {
	return config{
		defaultScenario: "success",
		hangLimit:       2 * time.Minute,
		journalSize:     1000,
		maxTasks:        1 << 20,
		historySize:     16,
		timeScale:       1,
	}
}

// WithSpec makes the server use spec instead of loading the embedded
// openapi.yaml, so that many servers can share one.
func WithSpec(spec *cambmock.Spec) Option {
	return func(c *config) error {
		if spec == nil {
			return errors.New("WithSpec: spec is nil; pass the result of cambmock.LoadSpec")
		}
		c.spec = spec
		return nil
	}
}

// WithScenarios adds scenarios beside the built-in library. A name that is
// already taken is an error.
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

// WithAPIKeys makes the server accept only the given keys. Without it any
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
// default, [NewTestServer] a [scenarios.ManualClock].
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

// WithStrict makes the server validate every on-spec response against
// openapi.yaml before sending it. A response that violates it is logged
// and replaced by a 500 naming the violation, so drift inside the mock is
// loud. Off-spec scenarios and faults are not validated.
func WithStrict(strict bool) Option {
	return func(c *config) error {
		c.strict = strict
		return nil
	}
}

// WithHangLimit bounds how long a "hang" fault holds a request before the
// server closes the connection. The default is 2 minutes.
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
		if n < 0 {
			return fmt.Errorf("WithJournalSize: %d is below zero; give 0 or more", n)
		}
		c.journalSize = n
		return nil
	}
}

// WithMaxTasks bounds how many tasks the server holds; a create request
// beyond it gets a 503 until the state is reset. The default is 1048576.
func WithMaxTasks(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithMaxTasks: %d is below 1; give the number of tasks to hold", n)
		}
		c.maxTasks = n
		return nil
	}
}

// WithTimeScale plays scenarios faster or slower than written: with 0.01, a
// step that lasts 10s ends after 100ms of real time, and latencies shrink
// alike. Retry-After headers keep their values, and [Task.Discipline]
// reports times in real terms. The default is 1.
func WithTimeScale(scale float64) Option {
	return func(c *config) error {
		if !(scale > 0 && scale <= 1000) {
			return fmt.Errorf("WithTimeScale: %v is not above 0 and at most 1000; give 0.01 to play scenarios 100 times faster", scale)
		}
		c.timeScale = scale
		return nil
	}
}
