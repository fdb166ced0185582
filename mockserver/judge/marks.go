package judge

import (
	"fmt"
	"slices"
	"time"
)

// A Mark is one of [Judge]'s verdicts at the event where it happened: the
// poll that came too soon after the one before, the poll that came before
// Retry-After allowed, each poll after a terminal status. A timeline of
// the task draws them on the events they name.
type Mark struct {
	Seq       int    `json:"seq"`       // the [Event.Seq] of the event it marks
	Violation string `json:"violation"` // a violation name, such as [ViolationRetryAfter]
	What      string `json:"what"`      // what happened there, in a few words
}

// Marks returns the verdicts of Judge(h, rules, st) at the kept events
// where each happened, in the order the requests arrived. Events folded
// into h.Earlier have no marks, though they count: a poll after a
// terminal status the earlier events hold is marked after-terminal.
// Violations judged over a whole run (unknown-run) have none.
func Marks(h History, rules Rules, st Statuses) []Mark {
	h.Events = inOrder(h.Events)
	t := h.Earlier
	t.Advice = slices.Clone(t.Advice)
	limit := rules.minInterval()
	out := []Mark{}
	var ivs []interval
	for _, e := range h.Events {
		before := t
		n := len(ivs)
		t.add(e, &h, st, &ivs)
		mark := func(name, what string, args ...any) {
			out = append(out, Mark{Seq: e.Seq, Violation: name, What: fmt.Sprintf(what, args...)})
		}
		if len(ivs) > n {
			if iv := ivs[n]; !iv.exempt && limit > 0 && iv.d < limit {
				mark(ViolationPollInterval, "came %v after the poll before; the least is %v", iv.d, limit)
			}
		}
		if !rules.IgnoreRetryAfter && t.AdviceEarly > before.AdviceEarly {
			// The advice judged is the last one, unless e brought another.
			i := len(t.Advice) - 1
			if e.RetryAfter != nil && e.Code >= 400 && e.answered() {
				i--
			}
			a := t.Advice[i]
			mark(ViolationRetryAfter, "came %v before Retry-After (%v) allowed", time.Duration(a.Early), time.Duration(a.Wait))
		}
		if !rules.AllowPollsAfterTerminal && t.AfterTerminal > before.AfterTerminal {
			mark(ViolationAfterTerminal, "poll after the task reported %s", t.Terminal)
		}
		if !rules.AllowPollsAfterUnknown && t.AfterUnknown > before.AfterUnknown {
			mark(ViolationAfterUnknown, "poll after the unknown status %s", t.Unknown)
		}
		if rules.MaxPolls > 0 && t.Polls > before.Polls && t.Polls > rules.MaxPolls {
			mark(ViolationMaxPolls, "poll %d, more than the %d allowed", t.Polls, rules.MaxPolls)
		}
		if t.EarlyResults > before.EarlyResults {
			mark(ViolationEarlyResult, "result asked for before the task reported SUCCESS")
		}
	}
	return out
}

// Sorted returns events in the order their requests arrived (by Seq): the
// answers to concurrent requests may be recorded in another order. It
// returns events itself when they are in order, else a sorted copy.
func Sorted(events []Event) []Event { return inOrder(events) }
