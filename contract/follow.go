package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// The checks of one task: following it to a terminal status, polling it
// again, and fetching its result.

// follow polls a task of kind until its status is terminal, checks the
// status stays, then fetches its results. duration is the requested
// length in seconds, or 0 when unknown.
//
// The polls run under a deadline of their own, the pending bound from the
// first poll, inside the run's: a poll or a wait that the bound cuts short
// is judged by pending-ends, not blamed on the status endpoint.
func (s *suite) follow(ctx context.Context, kind *cambmock.Kind, id string, duration float64, created bool) {
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
		s.results(ctx, kind, run, duration)
	}
}

// judgePending judges a task still in progress when its polls stopped:
// at the pending bound, or when the run itself ended first.
func (s *suite) judgePending(ctx context.Context, id string, e, last *exchange, begin time.Duration) {
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
func (s *suite) unfollowable(id string, e *exchange) {
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
func (s *suite) statusOf(e *exchange) string {
	st, _ := s.readStatus(e)
	return orNo(st)
}

// checkFinal polls a task twice more after its terminal status: each
// answer must be a 200 with the same status and run_id. A poll the run's
// deadline prevents is no evidence either way; with none made, the check
// is a skip.
func (s *suite) checkFinal(ctx context.Context, id, status string, runID any, wait time.Duration, poll func(context.Context) *exchange) {
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
func (s *suite) readStatus(e *exchange) (string, any) {
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

func (s *suite) progress(id string, e *exchange, status string, polls int, begin time.Duration) {
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
	s.tg.Progress(Progress{Task: id, Status: s.scrub.text(clip(shown, maxValue)), Polls: polls, Elapsed: s.now() - begin})
}

// checkRunID checks a SUCCESS carries an integer run_id.
func (s *suite) checkRunID(e *exchange, status string, runID any) (int64, bool) {
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

// results fetches a run's audio three ways: raw bytes, a file URL, and
// the bulk endpoint.
func (s *suite) results(ctx context.Context, kind *cambmock.Kind, run int64, duration float64) {
	op := kind.Result
	if op == nil {
		for _, c := range []string{CheckResultConforms, CheckResultAudio, CheckResultFileURL} {
			s.skip(c, "openapi.yaml declares no result operation for %s tasks", kind.Name)
		}
	} else {
		s.rawResult(ctx, op, run, duration)
	}
	if kind.Bulk == nil {
		for _, c := range []string{CheckBulkConforms, CheckBulkAnswers} {
			s.skip(c, "openapi.yaml declares no bulk result operation for %s tasks", kind.Name)
		}
		return
	}
	s.bulkResult(ctx, kind.Bulk, run)
}

// deadlineNote is the note of a check the run's deadline cut short.
const deadlineNote = "the run's deadline (Target.Timeout, --timeout) came before this could be checked; raise it"

func (s *suite) rawResult(ctx context.Context, op *cambmock.Operation, run int64, duration float64) {
	path := op.URL(strconv.FormatInt(run, 10))
	raw := s.call(ctx, op.ID, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, nil, nil, string(s.tg.APIKey))
	})
	var rawSum [32]byte
	switch {
	case cut(ctx, raw):
		s.skip(CheckResultAudio, deadlineNote)
	case raw.err != nil || raw.code != http.StatusOK:
		s.fail(CheckResultAudio, s.failure(raw, fmt.Sprintf("the result of run %d could not be fetched", run), ""))
	default:
		s.ran(CheckResultAudio)
		if info, ok := s.checkWAV(raw, CheckResultAudio, duration); ok {
			rawSum = sha256.Sum256(raw.body)
			s.note(CheckResultAudio, "%s, %d bytes", info, len(raw.body))
		}
	}

	if len(op.JSONWhen) == 0 {
		s.skip(CheckResultFileURL, "openapi.yaml declares no JSON answer of %s with a file URL", op.ID)
		return
	}
	query := url.Values{}
	for k, v := range op.JSONWhen {
		query.Set(k, v)
	}
	fu := s.call(ctx, op.ID, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, query, nil, string(s.tg.APIKey))
	})
	var body struct {
		FileURL any `json:"file_url"`
	}
	switch {
	case cut(ctx, fu):
		s.skip(CheckResultFileURL, deadlineNote)
		return
	case fu.err != nil || fu.code != http.StatusOK || json.Unmarshal(fu.body, &body) != nil:
		s.fail(CheckResultFileURL, s.failure(fu, "the file URL result could not be fetched as JSON", ""))
		return
	}
	s.ran(CheckResultFileURL)
	u, ok := body.FileURL.(string)
	if !ok || !isHTTPURL(u) {
		s.fail(CheckResultFileURL, s.failure(fu, "the file URL answer has no file_url holding an http(s) URL", wantGot("an http(s) URL", clip(jsonText(body.FileURL), 2*maxValue))))
		return
	}
	// A pre-signed URL is fetched without the API key or Target.Header:
	// it may point at another host, which must never see them. So it may
	// follow redirects, as a client's download would.
	file := s.callWith(ctx, s.fileClient, opFile, CheckResultFileURL, true, func(ctx context.Context) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		return req
	})
	switch {
	case cut(ctx, file):
		s.skip(CheckResultFileURL, deadlineNote)
	case file.err != nil || file.code != http.StatusOK:
		s.fail(CheckResultFileURL, s.failure(file, "the file URL could not be fetched", wantGot("200", fmt.Sprint(file.code))))
	default:
		if _, ok := s.checkWAV(file, CheckResultFileURL, duration); ok && rawSum != [32]byte{} && sha256.Sum256(file.body) != rawSum {
			s.fail(CheckResultFileURL, s.failure(file, "the file URL serves other bytes than the RAW_BYTES result", ""))
		}
	}
}

func (s *suite) bulkResult(ctx context.Context, op *cambmock.Operation, run int64) {
	bulk := s.call(ctx, op.ID, CheckBulkConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, op.URL(""), nil, map[string]any{"run_ids": []int64{run}}, string(s.tg.APIKey))
	})
	var entries map[string]struct {
		OutputURL any `json:"output_url"`
	}
	key := strconv.FormatInt(run, 10)
	if cut(ctx, bulk) {
		s.skip(CheckBulkAnswers, deadlineNote)
		return
	}
	s.ran(CheckBulkAnswers)
	switch {
	case bulk.err != nil || bulk.code != http.StatusOK:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk results could not be fetched", ""))
	case json.Unmarshal(bulk.body, &entries) != nil:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk answer is not a JSON object of run ids", ""))
	default:
		entry, ok := entries[key]
		u, _ := entry.OutputURL.(string)
		if !ok || !isHTTPURL(u) {
			s.fail(CheckBulkAnswers, s.failure(bulk, fmt.Sprintf("the bulk answer has no entry %q with an output_url", key),
				wantGot(fmt.Sprintf(`{%q: {"output_url": <an http(s) URL>}}`, key), clip(bulkSummary(bulk.body), 4*maxValue))))
		}
	}
}

// bulkSummary shows a bulk answer as JSON with sorted keys.
func bulkSummary(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return "(not a JSON object)"
	}
	return jsonText(m)
}

// checkWAV checks an audio answer's structure and length.
func (s *suite) checkWAV(e *exchange, check string, duration float64) (wavinfo.Info, bool) {
	info, err := wavinfo.Read(bytes.NewReader(e.body))
	if err != nil {
		s.fail(check, s.failure(e, "the audio is not a well-formed WAV: "+err.Error(), ""))
		return info, false
	}
	if duration > 0 {
		got := info.Duration().Seconds()
		if math.Abs(got-duration) > 0.1 {
			s.fail(check, s.failure(e, fmt.Sprintf("the audio lasts %.3f s, but %.3f s were asked for", got, duration),
				wantGot(fmt.Sprintf("%.1f s (within 0.1 s)", duration), fmt.Sprintf("%.3f s", got))))
			return info, false
		}
	}
	return info, true
}
