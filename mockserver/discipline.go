package mockserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
)

// Rules are what a client's polling of a task is judged by. The zero Rules
// are the defaults: polls at least 1 s apart, Retry-After honoured, no poll
// after a terminal status or an unknown one, no result asked for before
// SUCCESS, and no limit on the number of polls.
type Rules struct {
	// MinInterval is the least time between two polls; 0 means 1 s and a
	// negative value turns the rule off. A poll right after one that got
	// no answer (a dropped connection) may come at once: clients and their
	// HTTP libraries retry those immediately.
	MinInterval time.Duration `json:"min_interval"`
	// MaxPolls is the most status polls a task may get; 0 means no limit.
	MaxPolls int `json:"max_polls"`
	// IgnoreRetryAfter does not judge whether polls waited for Retry-After.
	IgnoreRetryAfter bool `json:"ignore_retry_after"`
	// AllowPollsAfterTerminal does not judge polls after a terminal status.
	AllowPollsAfterTerminal bool `json:"allow_polls_after_terminal"`
	// AllowPollsAfterUnknown does not judge polls after a status the spec
	// does not know (such as FAILED).
	AllowPollsAfterUnknown bool `json:"allow_polls_after_unknown"`
}

// DefaultMinInterval is the least time between polls the zero [Rules] allow.
const DefaultMinInterval = time.Second

func (r Rules) minInterval() time.Duration {
	if r.MinInterval == 0 {
		return DefaultMinInterval
	}
	return r.MinInterval
}

// The names of the ways a client can break the [Rules], as
// [Discipline.Violations] gives them.
const (
	ViolationPollInterval  = "poll-interval"
	ViolationRetryAfter    = "retry-after"
	ViolationAfterTerminal = "after-terminal"
	ViolationAfterUnknown  = "after-unknown"
	ViolationMaxPolls      = "max-polls"
	ViolationEarlyResult   = "early-result"
	// ViolationUnknownRun is judged per matrix run, not per task: result
	// requests for run ids the server never gave.
	ViolationUnknownRun = "unknown-run"
)

// maxIntervals bounds how many poll intervals a task keeps for its median;
// min, max and the counts cover every poll.
const maxIntervals = 256

// maxAdvice bounds how many Retry-After answers a task keeps.
const maxAdvice = 16

// conduct is what a task keeps of how it was polled. Its fields are
// guarded by the task's mu.
type conduct struct {
	first, last time.Duration // when the first and the last poll came
	lastFault   bool          // the last poll got no answer
	// intervals are the last maxIntervals intervals between polls, in a
	// ring; one after a poll that got no answer is stored complemented
	// (^iv, always negative), as it is exempt from Rules.MinInterval.
	intervals []time.Duration
	ihead     int
	count     int32 // intervals seen
	min, max  time.Duration

	advice     []Advice      // the last Retry-After answers
	hasPending bool          // a Retry-After advice awaits the next poll
	pending    time.Duration // when that advice ends
	early      int32         // polls that came before the advice ended
	honoured   int32

	terminal      cambmock.Status // the first terminal status served
	terminalAt    time.Duration
	afterTerminal int32
	unknown       cambmock.Status // the first status the spec does not know
	unknownAt     time.Duration
	afterUnknown  int32
	lastAfter     time.Duration // the last poll after the unknown status

	earlyResults int32 // result requests before SUCCESS was served
	fetched      int32 // results and files served
}

// Advice is a Retry-After answer a task got, and what the client did next.
type Advice struct {
	At       Duration `json:"at"`                  // when it was served, since the task was created
	Wait     Duration `json:"wait"`                // what Retry-After advised
	NextPoll Duration `json:"next_poll,omitempty"` // when the next poll came; 0 if none yet
	Early    Duration `json:"early,omitempty"`     // how much too soon it came
}

// poll notes a status poll arriving at elapsed. It is called with t.mu
// held, before the poll is answered.
func (c *conduct) poll(elapsed time.Duration, polls int32) {
	if polls == 0 {
		c.first = elapsed
	} else {
		iv := elapsed - c.last
		if c.count == 0 || iv < c.min {
			c.min = iv
		}
		c.max = max(c.max, iv)
		c.count++
		kept := iv
		if c.lastFault {
			kept = ^iv
		}
		if len(c.intervals) < maxIntervals {
			c.intervals = append(c.intervals, kept)
		} else {
			c.intervals[c.ihead] = kept
			c.ihead = (c.ihead + 1) % maxIntervals
		}
		if c.hasPending {
			a := &c.advice[len(c.advice)-1]
			a.NextPoll = Duration(elapsed)
			if elapsed < c.pending {
				a.Early = Duration(c.pending - elapsed)
				c.early++
			} else {
				c.honoured++
			}
			c.hasPending = false
		}
	}
	c.last = elapsed
	if c.terminal != "" {
		c.afterTerminal++
	}
	if c.unknown != "" {
		c.afterUnknown++
		c.lastAfter = elapsed
	}
}

// served notes what the poll was answered: a status, a fault (no answer),
// or an error with its Retry-After header.
func (c *conduct) served(elapsed time.Duration, status cambmock.Status, fault bool, code int, retryAfter string, now time.Time, scale float64) {
	c.lastFault = fault
	switch {
	case status == "":
	case !status.Known():
		if c.unknown == "" {
			c.unknown, c.unknownAt = status, elapsed
		}
	case status.Terminal():
		if c.terminal == "" {
			c.terminal, c.terminalAt = status, elapsed
		}
	}
	if (code == 429 || code == 503) && retryAfter != "" {
		wait, ok := parseRetryAfter(retryAfter, now)
		if !ok {
			return
		}
		// Advice is in real seconds; the server's clock may run faster.
		c.pending = elapsed + time.Duration(float64(wait)/scale)
		c.hasPending = true
		a := Advice{At: Duration(elapsed), Wait: Duration(wait)}
		if len(c.advice) == maxAdvice {
			copy(c.advice, c.advice[1:])
			c.advice = c.advice[:maxAdvice-1]
		}
		c.advice = append(c.advice, a)
	}
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Discipline is how a client polled one task, judged by [Rules]. Times are
// on the server's clock (exact with a manual clock), scaled back to real
// time when the server runs with [WithTimeScale].
type Discipline struct {
	Task     string   `json:"task_id"`
	Scenario string   `json:"scenario"`
	Polls    int      `json:"polls"`
	Span     Duration `json:"span"` // from the first poll to the last

	// The intervals between polls; Median is over the last 256.
	MinInterval    Duration `json:"min_interval"`
	MedianInterval Duration `json:"median_interval"`
	MaxInterval    Duration `json:"max_interval"`
	TooFast        int      `json:"too_fast"` // intervals under Rules.MinInterval, not counting retries after a dropped answer

	RetryAfter      []Advice `json:"retry_after"` // the last Retry-After answers and what followed
	RetryAfterEarly int      `json:"retry_after_early"`
	RetryAfterMet   int      `json:"retry_after_honoured"`

	Terminal           cambmock.Status `json:"terminal,omitempty"` // the first terminal status served
	PollsAfterTerminal int             `json:"polls_after_terminal"`

	Unknown           cambmock.Status `json:"unknown_status,omitempty"` // the first status the spec does not know
	PollsAfterUnknown int             `json:"polls_after_unknown"`
	KeptPollingFor    Duration        `json:"kept_polling_for"` // after the unknown status

	EarlyResults int `json:"early_results"` // result requests before SUCCESS
	Results      int `json:"results"`       // results and files served

	Rules      Rules    `json:"rules"`
	Violations []string `json:"violations"` // each "name: what", empty when the client behaved
	Clean      bool     `json:"clean"`
}

// ViolationNames returns the names of the violations, such as "retry-after".
func (d *Discipline) ViolationNames() []string {
	var out []string
	for _, v := range d.Violations {
		name, _, _ := strings.Cut(v, ":")
		out = append(out, name)
	}
	return out
}

// Discipline judges how the task has been polled so far.
func (t *Task) Discipline(rules Rules) Discipline {
	return t.s.discipline(t.t, rules)
}

func (s *Server) discipline(t *task, rules Rules) Discipline {
	t.mu.Lock()
	defer t.mu.Unlock()
	scale := func(d time.Duration) Duration { return Duration(time.Duration(float64(d) * s.scale)) }
	d := Discipline{Task: t.id, Scenario: t.sc.Name, Polls: int(t.polls), Rules: rules, Violations: []string{}, RetryAfter: []Advice{}}
	c := &t.conduct
	if t.polls > 0 {
		d.Span = scale(c.last - c.first)
	}
	if c.count > 0 {
		d.MinInterval, d.MaxInterval = scale(c.min), scale(c.max)
		sorted := make([]time.Duration, len(c.intervals))
		for i, iv := range c.intervals {
			if iv < 0 {
				iv = ^iv
			}
			sorted[i] = iv
		}
		slices.Sort(sorted)
		d.MedianInterval = scale(sorted[len(sorted)/2])
		if len(sorted)%2 == 0 {
			d.MedianInterval = scale((sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2)
		}
	}
	for _, a := range c.advice {
		a.At, a.NextPoll, a.Early = scale(time.Duration(a.At)), scale(time.Duration(a.NextPoll)), scale(time.Duration(a.Early))
		d.RetryAfter = append(d.RetryAfter, a)
	}
	d.RetryAfterEarly, d.RetryAfterMet = int(c.early), int(c.honoured)
	d.Terminal, d.PollsAfterTerminal = c.terminal, int(c.afterTerminal)
	d.Unknown, d.PollsAfterUnknown = c.unknown, int(c.afterUnknown)
	if c.afterUnknown > 0 {
		d.KeptPollingFor = scale(c.lastAfter - c.unknownAt)
	}
	d.EarlyResults, d.Results = int(c.earlyResults), int(c.fetched)

	// Too fast: the kept intervals under the minimum, but for those after
	// a poll that got no answer (stored complemented).
	if min := rules.minInterval(); min > 0 {
		for _, iv := range c.intervals {
			if iv >= 0 && time.Duration(float64(iv)*s.scale) < min {
				d.TooFast++
			}
		}
		if d.TooFast > 0 {
			d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) came less than %v after the one before (fastest %v)", ViolationPollInterval, d.TooFast, min, time.Duration(d.MinInterval)))
		}
	}
	if !rules.IgnoreRetryAfter && c.early > 0 {
		worst := time.Duration(0)
		for _, a := range d.RetryAfter {
			worst = max(worst, time.Duration(a.Early))
		}
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) came before Retry-After allowed (the worst %v early)", ViolationRetryAfter, c.early, worst))
	}
	if !rules.AllowPollsAfterTerminal && c.afterTerminal > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) after the task reported %s", ViolationAfterTerminal, c.afterTerminal, c.terminal))
	}
	if !rules.AllowPollsAfterUnknown && c.afterUnknown > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) over %v after the unknown status %s; a client must stop on a status it does not know", ViolationAfterUnknown, c.afterUnknown, time.Duration(d.KeptPollingFor), c.unknown))
	}
	if rules.MaxPolls > 0 && int(t.polls) > rules.MaxPolls {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d polls, more than the %d allowed", ViolationMaxPolls, t.polls, rules.MaxPolls))
	}
	if c.earlyResults > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d result request(s) before the task reported SUCCESS", ViolationEarlyResult, c.earlyResults))
	}
	d.Clean = len(d.Violations) == 0
	return d
}
