// Package judge judges how a client polled a task of the mock: whether
// its polls came far enough apart, whether it waited for Retry-After,
// whether it stopped at a terminal status and at a status it does not
// know, whether it asked for a result too early.
//
// The mock records what it delivered to a task's client as a [History] of
// [Event] values; [Judge] is a pure function of that history and the
// [Rules]. It starts no goroutines and reads no clock, so its rules are
// tested without a server, and nothing on the mock's serving path can
// skew a verdict.
//
// A history is bounded: when a task has had more answers than the mock
// keeps, the oldest are folded into [History.Earlier], a [Tally] that
// keeps what every rule needs. Every poll counts towards every verdict;
// only the counts of some violations are exact for the kept events alone,
// and the [Discipline] says so.
package judge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// Endpoint names what a request of a task asked for.
type Endpoint string

// The endpoints a task's history records.
const (
	Poll   Endpoint = "poll"   // the status endpoint
	Result Endpoint = "result" // the result endpoint
	File   Endpoint = "file"   // a file URL the mock handed out
)

// Duration is a time.Duration that JSON encodes as a string such as "1.5s".
type Duration time.Duration

// String writes the duration as time.Duration does, such as "1.5s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string such as "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\" or \"1m30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it as \"30s\", \"500ms\" or \"1m30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// An Event is one answer the mock gave a task's client, as it was
// delivered. Times are since the task was created: At and Sent on the
// scenario clock (the manual clock in tests), Real and RealSent on the
// real clock.
type Event struct {
	// Seq orders the task's requests by arrival: a request that arrived
	// first has the lower Seq, however late its answer was recorded.
	Seq      int      `json:"seq"`
	Endpoint Endpoint `json:"endpoint"`
	At       Duration `json:"at"`   // when the request arrived
	Sent     Duration `json:"sent"` // when the answer was out (or given up on); a latency on a manual clock adds to it without waiting
	Real     Duration `json:"real"`
	RealSent Duration `json:"real_sent"`
	// Step is the 1-based step of the scenario's script that answered; 0
	// for the endpoint's normal answer.
	Step   int             `json:"step"`
	Code   int             `json:"code"` // the HTTP status; 0 when the connection was broken before one
	Status cambmock.Status `json:"status,omitempty"`
	Fault  scenarios.Fault `json:"fault,omitempty"`
	// RetryAfter is what the answer's Retry-After header advised, in real
	// time; nil when it had none.
	RetryAfter *Duration `json:"retry_after,omitempty"`
	// Delivered is true when the whole answer reached the connection: not
	// when the client went away first, nor when a fault broke it.
	Delivered bool `json:"delivered"`
	// Early marks a result request for a run whose task had not reported
	// SUCCESS yet.
	Early bool `json:"early,omitempty"`
}

// answered reports whether the client got an answer it could read.
func (e Event) answered() bool {
	return e.Delivered && (e.Fault == "" || e.Fault == scenarios.FaultMalformedJSON)
}

// A History is what the mock recorded of one task.
type History struct {
	Task     string `json:"task_id"`
	Scenario string `json:"scenario"`
	Kind     string `json:"kind,omitempty"`
	// Scale is how many real seconds a second of the scenario clock lasts
	// (the mock's time scale); 0 means 1.
	Scale float64 `json:"scale,omitempty"`
	// Manual is true when the scenario clock is a manual one, which stands
	// still unless a test moves it.
	Manual bool `json:"manual_clock,omitempty"`
	// Earlier holds what the events folded out of Events had.
	Earlier Tally `json:"earlier"`
	// Events are the answers kept, oldest first.
	Events []Event `json:"events"`
}

func (h *History) scale() float64 {
	if h.Scale <= 0 {
		return 1
	}
	return h.Scale
}

// Statuses tells the judge which statuses the spec in force declares and
// which are terminal; a *cambmock.Spec is one.
type Statuses interface {
	KnownStatus(cambmock.Status) bool
	Terminal(cambmock.Status) bool
}

// inOrder returns events sorted by arrival: answers to concurrent
// requests may be recorded in another order than the requests came.
func inOrder(events []Event) []Event {
	if slices.IsSortedFunc(events, bySeq) {
		return events
	}
	out := slices.Clone(events)
	slices.SortStableFunc(out, bySeq)
	return out
}

func bySeq(a, b Event) int { return a.Seq - b.Seq }

// Fold moves the oldest n events of h into h.Earlier, for a mock that
// bounds how many it keeps.
func (h *History) Fold(n int, st Statuses) {
	h.Events = inOrder(h.Events)
	n = min(n, len(h.Events))
	for _, e := range h.Events[:n] {
		h.Earlier.add(e, h, st, nil)
	}
	h.Events = slices.Delete(h.Events, 0, n)
}

// maxAdvice bounds how many Retry-After answers a Tally keeps.
const maxAdvice = 16

// A Tally is what the judge keeps of a run of events: the counts, extremes
// and pending state every rule needs, and nothing that grows with the
// number of events. [Judge] folds a history's events into a copy of its
// Earlier tally.
type Tally struct {
	Events int `json:"events"` // events folded
	Polls  int `json:"polls"`  // status polls among them
	// Intervals between consecutive polls, and of those: Exempt (after a
	// poll that got no answer, which a client may retry at once) and Still
	// (judged on real time, as the manual clock had not moved).
	Intervals int `json:"intervals"`
	Exempt    int `json:"exempt"`
	Still     int `json:"still"`
	// Min and Max are over the intervals that are not exempt, in real
	// terms; HasMin says whether there was one.
	Min    Duration `json:"min"`
	Max    Duration `json:"max"`
	HasMin bool     `json:"has_min"`

	First        Duration `json:"first"` // the first poll's arrival, scenario clock
	Last         Duration `json:"last"`  // the last poll's arrival
	LastReal     Duration `json:"last_real"`
	LastNoAnswer bool     `json:"last_no_answer"`

	Advice      []Advice `json:"advice"` // the last Retry-After answers
	AdviceEarly int      `json:"advice_early"`
	AdviceMet   int      `json:"advice_met"`
	// Pending is true when the last advice awaits the next poll, whose
	// window ends at PendingUntil on the scenario clock, or at
	// PendingUntilReal on the real clock if the poll comes before the
	// manual clock has moved past PendingFrom.
	Pending          bool     `json:"pending"`
	PendingUntil     Duration `json:"pending_until"`
	PendingUntilReal Duration `json:"pending_until_real"`
	PendingFrom      Duration `json:"pending_from"`

	Terminal      cambmock.Status `json:"terminal,omitempty"` // the first terminal status delivered
	TerminalAt    Duration        `json:"terminal_at"`
	AfterTerminal int             `json:"after_terminal"`
	Unknown       cambmock.Status `json:"unknown,omitempty"` // the first status the spec does not know, delivered
	UnknownAt     Duration        `json:"unknown_at"`
	AfterUnknown  int             `json:"after_unknown"`
	LastAfter     Duration        `json:"last_after"` // the last poll after the unknown status

	EarlyResults int `json:"early_results"`
	Results      int `json:"results"`     // results and files delivered whole
	Undelivered  int `json:"undelivered"` // answers the client did not get whole
}

// An Advice is a Retry-After answer and what the client did next. Times
// are in real terms, since the task was created.
type Advice struct {
	At       Duration `json:"at"`                  // when the answer arrived at the client
	Wait     Duration `json:"wait"`                // what Retry-After advised
	NextPoll Duration `json:"next_poll,omitempty"` // when the next poll came; 0 if none yet
	Early    Duration `json:"early,omitempty"`     // how much too soon it came
	Code     int      `json:"code"`
}

// interval is one interval between polls, as the judge measured it.
type interval struct {
	d      time.Duration // in real terms
	exempt bool
	still  bool
}

// add folds e into t. ivs, if not nil, collects the intervals.
func (t *Tally) add(e Event, h *History, st Statuses, ivs *[]interval) {
	scale := h.scale()
	real := func(d Duration) Duration { return Duration(float64(d) * scale) }
	t.Events++
	if !e.answered() {
		t.Undelivered++
	}
	switch e.Endpoint {
	case Result, File:
		switch {
		case e.Early:
			t.EarlyResults++
		case e.Code >= 200 && e.Code < 300 && e.answered():
			t.Results++
		}
		return
	case Poll:
	default:
		return
	}

	if t.Polls == 0 {
		t.First = e.At
	} else {
		iv := interval{d: time.Duration(real(e.At - t.Last))}
		if h.Manual && e.At == t.Last && e.Real > t.LastReal {
			// The manual clock stood still while real time passed: the
			// client waited, but not on the clock the test never moved.
			iv.d, iv.still = time.Duration(e.Real-t.LastReal), true
			t.Still++
		}
		iv.exempt = t.LastNoAnswer
		t.Intervals++
		if iv.exempt {
			t.Exempt++
		} else {
			if !t.HasMin || Duration(iv.d) < t.Min {
				t.Min, t.HasMin = Duration(iv.d), true
			}
			t.Max = max(t.Max, Duration(iv.d))
		}
		if ivs != nil {
			*ivs = append(*ivs, iv)
		}
		if t.Pending {
			a := &t.Advice[len(t.Advice)-1]
			var early Duration
			if h.Manual && e.At <= t.PendingFrom {
				a.NextPoll = e.Real
				early = t.PendingUntilReal - e.Real
			} else {
				a.NextPoll = real(e.At)
				early = real(t.PendingUntil - e.At)
			}
			if early > 0 {
				a.Early = early
				t.AdviceEarly++
			} else {
				t.AdviceMet++
			}
			t.Pending = false
		}
	}
	t.Polls++
	t.Last, t.LastReal = e.At, e.Real
	t.LastNoAnswer = !e.answered()
	if t.Terminal != "" {
		t.AfterTerminal++
	}
	if t.Unknown != "" {
		t.AfterUnknown++
		t.LastAfter = e.At
	}
	if e.answered() && e.Status != "" {
		switch {
		case !st.KnownStatus(e.Status):
			if t.Unknown == "" {
				t.Unknown, t.UnknownAt = e.Status, e.At
			}
		case st.Terminal(e.Status):
			if t.Terminal == "" {
				t.Terminal, t.TerminalAt = e.Status, e.At
			}
		}
	}
	if e.RetryAfter != nil && e.Code >= 400 && e.answered() {
		wait := *e.RetryAfter
		if len(t.Advice) == maxAdvice {
			t.Advice = slices.Delete(t.Advice, 0, 1)
		}
		t.Advice = append(t.Advice, Advice{At: real(e.Sent), Wait: wait, Code: e.Code})
		t.Pending = true
		t.PendingUntil = e.Sent + Duration(float64(wait)/scale)
		t.PendingUntilReal = e.RealSent + wait
		t.PendingFrom = e.At
	}
}

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
	// requests for run ids the mock never gave.
	ViolationUnknownRun = "unknown-run"
)

// Discipline is how a client polled one task, judged by [Rules]. Times are
// in real terms: on the mock's scenario clock, scaled back when the mock
// plays faster than real time, and on the real clock for intervals in
// which a manual clock stood still.
type Discipline struct {
	Task     string   `json:"task_id"`
	Scenario string   `json:"scenario"`
	Kind     string   `json:"kind,omitempty"`
	Polls    int      `json:"polls"`
	Span     Duration `json:"span"` // from the first poll to the last

	// The intervals between polls; Median is over the polls the history
	// keeps, Min and Max over every poll.
	MinInterval    Duration `json:"min_interval"`
	MedianInterval Duration `json:"median_interval"`
	MaxInterval    Duration `json:"max_interval"`
	// TooFast counts the kept intervals under Rules.MinInterval, not
	// counting retries after a dropped answer; TooFastEarlier says some
	// of the polls no longer kept came too fast as well.
	TooFast        int  `json:"too_fast"`
	TooFastEarlier bool `json:"too_fast_earlier,omitempty"`
	// StillClock counts intervals judged on real time because the manual
	// clock was not moved while the client waited.
	StillClock int `json:"still_clock,omitempty"`

	RetryAfter      []Advice `json:"retry_after"` // the last Retry-After answers and what followed
	RetryAfterEarly int      `json:"retry_after_early"`
	RetryAfterMet   int      `json:"retry_after_honoured"`

	Terminal           cambmock.Status `json:"terminal,omitempty"` // the first terminal status delivered
	PollsAfterTerminal int             `json:"polls_after_terminal"`

	Unknown           cambmock.Status `json:"unknown_status,omitempty"` // the first status the spec does not know
	PollsAfterUnknown int             `json:"polls_after_unknown"`
	KeptPollingFor    Duration        `json:"kept_polling_for"` // after the unknown status

	EarlyResults int `json:"early_results"` // result requests before SUCCESS
	Results      int `json:"results"`       // results and files delivered whole
	Undelivered  int `json:"undelivered"`   // answers the client did not get whole (it went away, or a fault broke them)
	Earlier      int `json:"earlier"`       // events folded out of the history

	Rules      Rules    `json:"rules"`
	Violations []string `json:"violations"` // each "name: what", empty when the client behaved
	Notes      []string `json:"notes"`      // what a reader of the verdict should know
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

// Judge judges a task's history by rules. st says which statuses the spec
// in force knows and which are terminal.
func Judge(h History, rules Rules, st Statuses) Discipline {
	h.Events = inOrder(h.Events)
	t := h.Earlier
	t.Advice = slices.Clone(t.Advice)
	var ivs []interval
	for _, e := range h.Events {
		t.add(e, &h, st, &ivs)
	}
	real := func(d Duration) Duration { return Duration(float64(d) * h.scale()) }
	d := Discipline{Task: h.Task, Scenario: h.Scenario, Kind: h.Kind, Polls: t.Polls, Rules: rules,
		Violations: []string{}, Notes: []string{}, RetryAfter: []Advice{}, Earlier: h.Earlier.Events, StillClock: t.Still}
	if t.Polls > 0 {
		d.Span = real(t.Last - t.First)
	}
	if t.HasMin {
		d.MinInterval, d.MaxInterval = t.Min, t.Max
	}
	var judged []time.Duration
	for _, iv := range ivs {
		if !iv.exempt {
			judged = append(judged, iv.d)
		}
	}
	if n := len(judged); n > 0 {
		sorted := slices.Clone(judged)
		slices.Sort(sorted)
		d.MedianInterval = Duration(sorted[n/2])
		if n%2 == 0 {
			d.MedianInterval = Duration((sorted[n/2-1] + sorted[n/2]) / 2)
		}
	}
	d.RetryAfter = append(d.RetryAfter, t.Advice...)
	d.RetryAfterEarly, d.RetryAfterMet = t.AdviceEarly, t.AdviceMet
	d.Terminal, d.PollsAfterTerminal = t.Terminal, t.AfterTerminal
	d.Unknown, d.PollsAfterUnknown = t.Unknown, t.AfterUnknown
	if t.AfterUnknown > 0 {
		d.KeptPollingFor = real(t.LastAfter - t.UnknownAt)
	}
	d.EarlyResults, d.Results, d.Undelivered = t.EarlyResults, t.Results, t.Undelivered

	if limit := rules.minInterval(); limit > 0 {
		for _, iv := range judged {
			if iv < limit {
				d.TooFast++
			}
		}
		e := h.Earlier
		d.TooFastEarlier = e.HasMin && time.Duration(e.Min) < limit
		if d.TooFast > 0 || d.TooFastEarlier {
			what := fmt.Sprintf("%d poll(s) came less than %v after the one before (fastest %v)", d.TooFast, limit, time.Duration(d.MinInterval))
			switch {
			case d.TooFast == 0:
				what = fmt.Sprintf("some of the %d earlier polls no longer kept came less than %v after the one before (fastest %v)", e.Polls, limit, time.Duration(d.MinInterval))
			case d.TooFastEarlier:
				what += fmt.Sprintf(", and so did some of the %d earlier polls no longer kept", e.Polls)
			}
			d.Violations = append(d.Violations, ViolationPollInterval+": "+what)
		}
	}
	if !rules.IgnoreRetryAfter && t.AdviceEarly > 0 {
		worst := Duration(0)
		for _, a := range t.Advice {
			worst = max(worst, a.Early)
		}
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) came before Retry-After allowed (the worst %v early)", ViolationRetryAfter, t.AdviceEarly, time.Duration(worst)))
	}
	if !rules.AllowPollsAfterTerminal && t.AfterTerminal > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) after the task reported %s", ViolationAfterTerminal, t.AfterTerminal, t.Terminal))
	}
	if !rules.AllowPollsAfterUnknown && t.AfterUnknown > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d poll(s) over %v after the unknown status %s; a client must stop on a status it does not know", ViolationAfterUnknown, t.AfterUnknown, time.Duration(d.KeptPollingFor), t.Unknown))
	}
	if rules.MaxPolls > 0 && t.Polls > rules.MaxPolls {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d polls, more than the %d allowed", ViolationMaxPolls, t.Polls, rules.MaxPolls))
	}
	if t.EarlyResults > 0 {
		d.Violations = append(d.Violations, fmt.Sprintf("%s: %d result request(s) before the task reported SUCCESS", ViolationEarlyResult, t.EarlyResults))
	}

	if t.Still > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("the manual clock was not moved during %d interval(s) between polls while the client waited in real time; those are judged on the real clock. Move the clock as the client waits (TestServer.Advance, POST /__admin/clock), or run the mock on the real clock", t.Still))
	}
	if t.Undelivered > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("%d answer(s) did not reach the client whole: it went away first, or a fault broke the connection; their statuses do not count as seen", t.Undelivered))
	}
	if h.Earlier.Events > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("the %d oldest answers are no longer kept one by one; every verdict still counts them", h.Earlier.Events))
	}
	d.Clean = len(d.Violations) == 0
	return d
}
