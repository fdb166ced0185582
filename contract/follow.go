package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/cambmock/cambmock"
)

// The checks of one task: following it to a terminal status, polling it
// again, and fetching its result.

// follow polls a task of the kind until its status is terminal, checks
// the status stays, then fetches its results. duration is the requested
// length in seconds, or 0 when unknown.
//
// The polls run under a deadline of their own, the pending bound from the
// first poll, inside the run's: a poll or a wait that the bound cuts short
// is judged by pending-ends, not blamed on the status endpoint.
func (s *kindRun) follow(ctx context.Context, id string, duration float64, created bool) {
	kind := s.kind
	begin := s.now()
	pctx, cancel := context.WithTimeout(ctx, s.pending)
	defer cancel()
	wait := s.interval
	polls := 0
	poll := func(ctx context.Context) *exchange {
		polls++
		return s.call(ctx, kind.Status.ID, CheckStatusConforms, true, func(ctx context.Context) *http.Request {
			return s.newRequest(ctx, http.MethodGet, kind.Status.URL(id), nil, nil, string(s.tg.APIKey))
		})
	}
	var (
		e      *exchange
		status string
		runID  any
		last   *exchange // the last answer that carried a status
	)
	for {
		e = poll(pctx)
		status, runID = s.readStatus(e)
		s.progress(id, e, status, polls, begin)
		if created && polls == 1 && e.code == http.StatusNotFound {
			s.fail(CheckTaskCreated, s.failure(e, "the status endpoint does not know the task create returned", wantGot("200", "404")))
			return
		}
		if status != "" {
			last = e
			if s.spec.Terminal(cambmock.Status(status)) {
				break
			}
		}
		if pctx.Err() != nil || s.now()-begin >= s.pending {
			s.judgePending(ctx, id, e, last, begin)
			return
		}
		if status == "" {
			s.unfollowable(id, e)
			return
		}
		if s.sleep(pctx, wait) != nil {
			s.judgePending(ctx, id, e, last, begin)
			return
		}
		wait = min(time.Duration(float64(wait)*1.5), 10*time.Second)
	}
	s.ran(CheckPendingEnds)
	s.note(CheckPendingEnds, "task %s ended %s after %d polls and %v", id, status, polls, (s.now() - begin).Round(time.Millisecond))

	run, hasRun := s.checkRunID(e, status, runID)
	s.checkFinal(ctx, id, status, runID, wait, poll)
	if hasRun {
		s.results(ctx, run, duration)
	}
}

// judgePending judges a task still in progress when its polls stopped:
// at the pending bound, or when the run itself ended first.
func (s *kindRun) judgePending(ctx context.Context, id string, e, last *exchange, begin time.Duration) {
	elapsed := (s.now() - begin).Round(100 * time.Millisecond)
	bound := fmt.Sprintf("the bound is %v (Target.PendingBound, --pending-bound)", s.pending)
	switch {
	case ctx.Err() != nil:
		// The run's deadline (or its caller) ended the polls before the
		// bound: nothing shows the task would not have ended in time.
		seen := "had answered no status"
		if last != nil {
			seen = "was still " + s.statusOf(last)
		}
		s.skip(CheckPendingEnds, "task %s %s after %v when the run ended (%v) before the pending bound; raise Target.Timeout (--timeout)",
			id, seen, elapsed, context.Cause(ctx))
	case last == nil:
		s.fail(CheckStatusConforms, s.failure(e, fmt.Sprintf("task %s could not be followed: no status poll answered a status in %v; %s", id, elapsed, bound), ""))
	default:
		s.ran(CheckPendingEnds)
		s.fail(CheckPendingEnds, s.failure(last, fmt.Sprintf("task %s stayed %s for %v; %s", id, s.statusOf(last), elapsed, bound), ""))
	}
}

// unfollowable reports a status poll that failed even after retries.
func (s *kindRun) unfollowable(id string, e *exchange) {
	switch {
	case isRedirect(e.code):
		return // inspect has reported it
	case e.err != nil:
		s.fail(CheckStatusConforms, s.failure(e, fmt.Sprintf("task %s could not be followed: its status poll failed %d times in a row: %s", id, retries+1, transportError(e.err)), ""))
	case e.code == http.StatusTooManyRequests || e.code >= 500:
		s.fail(CheckStatusConforms, s.failure(e, fmt.Sprintf("task %s could not be followed: its status poll answered %d, %d times in a row", id, e.code, retries+1), ""))
	default:
		s.fail(CheckStatusConforms, s.failure(e, fmt.Sprintf("task %s could not be followed: its status poll answered %d without a status", id, e.code), ""))
	}
}

// statusOf returns the status a status answer carried.
func (s *kindRun) statusOf(e *exchange) string {
	st, _ := s.readStatus(e)
	return orNo(st)
}

// checkFinal polls a task twice more after its terminal status: each
// answer must be a 200 with the same status and run_id. A poll the run's
// deadline prevents is no evidence either way; with none made, the check
// is a skip.
func (s *kindRun) checkFinal(ctx context.Context, id, status string, runID any, wait time.Duration, poll func(context.Context) *exchange) {
	made := 0
	for range 2 {
		if s.sleep(ctx, wait) != nil {
			break
		}
		again := poll(ctx)
		if cut(ctx, again) {
			break
		}
		made++
		st2, run2 := s.readStatus(again)
		problem := ""
		switch {
		case again.err != nil:
			problem = fmt.Sprintf("task %s reported %s, then its status poll failed %d times in a row: %s", id, status, retries+1, transportError(again.err))
		case again.code == http.StatusTooManyRequests || again.code >= 500:
			problem = fmt.Sprintf("task %s reported %s, then answered %d, %d times in a row", id, status, again.code, retries+1)
		case again.code != http.StatusOK:
			problem = fmt.Sprintf("task %s reported %s, then answered %d", id, status, again.code)
		case st2 == "":
			problem = fmt.Sprintf("task %s reported %s, then answered 200 without a status", id, status)
		case st2 != status:
			problem = fmt.Sprintf("task %s reported %s, then %s", id, status, st2)
		case !jsonEqual(run2, runID):
			problem = fmt.Sprintf("task %s reported %s with run_id %s, then with run_id %s", id, status, jsonText(runID), jsonText(run2))
		}
		if problem != "" {
			got := fmt.Sprint(again.code)
			if again.err != nil {
				got = "no answer"
			} else if st2 != "" {
				got = fmt.Sprintf("200, status %s, run_id %s", st2, jsonText(run2))
			}
			s.fail(CheckTerminalIsFinal, s.failure(again, problem, wantGot(fmt.Sprintf("200, status %s, run_id %s", status, jsonText(runID)), got)))
			return
		}
	}
	if made == 0 {
		s.skip(CheckTerminalIsFinal, "the run's deadline came before task %s could be polled again after %s, so nothing shows the status stays; raise Target.Timeout (--timeout)", id, status)
		return
	}
	s.ran(CheckTerminalIsFinal)
	s.note(CheckTerminalIsFinal, "task %s still answered %s when polled %d more time(s)", id, status, made)
}

func orNo(status string) string {
	if status == "" {
		return "without a status"
	}
	return status
}

// readStatus reads the status and run_id of a 200 status answer.
func (s *kindRun) readStatus(e *exchange) (string, any) {
	if e.err != nil || e.code != http.StatusOK {
		return "", nil
	}
	var body map[string]any
	if json.Unmarshal(e.body, &body) != nil {
		return "", nil
	}
	st, _ := body["status"].(string)
	return st, body["run_id"]
}

func (s *kindRun) progress(id string, e *exchange, status string, polls int, begin time.Duration) {
	if s.tg.Progress == nil {
		return
	}
	shown := status
	switch {
	case e.err != nil:
		shown = "error: " + transportError(e.err)
	case shown == "":
		shown = fmt.Sprintf("HTTP %d", e.code)
	}
	p := Progress{Kind: s.kind.Name, Task: id, Status: s.scrub.text(clip(shown, maxValue)), Polls: polls, Elapsed: s.now() - begin}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tg.Progress(p)
}

// checkRunID checks a SUCCESS carries an integer run_id.
func (s *kindRun) checkRunID(e *exchange, status string, runID any) (int64, bool) {
	if status != string(cambmock.StatusSuccess) {
		return 0, false
	}
	s.ran(CheckSuccessRunID)
	f, ok := runID.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > 1<<53 {
		s.fail(CheckSuccessRunID, s.failure(e, fmt.Sprintf("SUCCESS carries run_id %s, not an integer: the client has no result to fetch", jsonText(runID)),
			wantGot("an integer", jsonText(runID))))
		return 0, false
	}
	return int64(f), true
}
