package mockserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// The judge's verdicts over real HTTP, each with a client broken in
// exactly one way (issue: verdicts you can trust).

// TestEveryPollCounts: a burst of polls at the start is not forgotten when
// the task's history keeps only the last few answers.
func TestEveryPollCounts(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t, mockserver.WithHistoryLimits(16, 1<<20))
	p := newPoller(t, ts, "stuck")
	for range 10 {
		p.poll() // 0s apart
	}
	for range 300 {
		ts.Advance(2 * time.Second)
		p.poll()
	}
	d := ts.Task(p.id).Discipline(mockserver.Rules{})
	if d.Polls != 310 || d.Clean || d.ViolationNames()[0] != mockserver.ViolationPollInterval || !d.TooFastEarlier {
		t.Errorf("310 polls, 10 of them at once then 2s apart, judged with 16 kept: polls %d, violations %q, too fast earlier %v; want poll-interval",
			d.Polls, d.Violations, d.TooFastEarlier)
	}
	if info := ts.Task(p.id).Info(); len(info.History) > 16 || info.Dropped < 290 {
		t.Errorf("history kept %d events and folded %d; want at most 16 kept", len(info.History), info.Dropped)
	}
}

// TestConcurrentPollsInOrder: polls of one task arriving at once are each
// given their own step and recorded in the order they arrived.
func TestConcurrentPollsInOrder(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	sc := &scenarios.Scenario{Name: "count", Description: "PENDING 20 times, then SUCCESS",
		Poll: scenarios.Script{
			{Polls: 20, Reply: &scenarios.Reply{Status: cambmock.StatusPending}},
			{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}},
		}}
	ts = mockservertest.NewTestServer(t, mockserver.WithScenarios(sc))
	task := ts.CreateTask(mockserver.NewTask{Scenario: "count"})
	var wg sync.WaitGroup
	statuses := make(chan string, 50)
	for range 50 {
		wg.Go(func() {
			s, err := pollTask(t.Context(), ts.Client(), ts.URL, task.ID(), 10*time.Second)
			if err != nil {
				t.Error(err)
			}
			statuses <- s.Status
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[string]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts["PENDING"] != 20 || counts["SUCCESS"] != 30 {
		t.Errorf("50 concurrent polls got %v; want 20 PENDING and 30 SUCCESS, each step served exactly as often as it says", counts)
	}
	h := task.Info().History
	if len(h) != 50 {
		t.Fatalf("history holds %d polls, want 50", len(h))
	}
	for i, e := range h {
		if e.Seq != i+1 {
			t.Fatalf("history event %d has seq %d; want them in the order they arrived", i, e.Seq)
		}
		want := cambmock.StatusPending
		if i >= 20 {
			want = cambmock.StatusSuccess
		}
		if e.Status != want {
			t.Errorf("the poll that arrived %d-th was served %s, want %s", i+1, e.Status, want)
		}
	}
}

// TestRunIDRace: listing tasks while their polls change their run ids is
// safe (go test -race), and tasks with large run ids sort.
func TestRunIDRace(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Name: "fixed-run", Description: "SUCCESS with a fixed run id",
		Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Value: []byte("9223372036854775000")}}}}}
	ts := mockservertest.NewTestServer(t, mockserver.WithScenarios(sc))
	var ids []string
	for range 20 {
		ids = append(ids, ts.CreateTask(mockserver.NewTask{Scenario: "fixed-run"}).ID())
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			ts.Server().Tasks()
		}
	})
	for _, id := range ids {
		if _, err := pollTask(t.Context(), ts.Client(), ts.URL, id, 10*time.Second); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	if got := ts.Task(ids[0]).Info().RunID; got != 9223372036854775000 {
		t.Errorf("run id %d, want the scenario's", got)
	}
	if n := len(ts.Server().Tasks()); n != 20 {
		t.Errorf("Tasks() lists %d, want 20", n)
	}
}

// TestWaitForFiresOnDelivery runs on the real clock: WaitForStatus returns
// once the SUCCESS has reached the client, not when it was chosen, and a
// SUCCESS the client gave up on before it came is not counted as served.
func TestWaitForFiresOnDelivery(t *testing.T) {
	t.Parallel()
	const latency = 400 * time.Millisecond
	sc := &scenarios.Scenario{Name: "late-success", Description: "SUCCESS after 400ms",
		Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}, Latency: scenarios.Latency{Min: latency}}}}
	ts := mockservertest.NewTestServer(t, mockserver.WithScenarios(sc), mockserver.WithClock(scenarios.SystemClock()))

	patient := ts.CreateTask(mockserver.NewTask{Scenario: "late-success"})
	start := time.Now()
	polled := make(chan time.Time, 1)
	go func() {
		pollTask(t.Context(), ts.Client(), ts.URL, patient.ID(), 10*time.Second)
		polled <- time.Now()
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := patient.WaitForStatus(ctx, cambmock.StatusSuccess); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("WaitForStatus(SUCCESS) returned %v after the poll began, before the answer's latency of %v", took, latency)
	}
	<-polled

	gaveUp := ts.CreateTask(mockserver.NewTask{Scenario: "late-success"})
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, gaveUp.ID(), 100*time.Millisecond); err != nil || s.Fault != scenarios.FaultHang {
		t.Fatalf("a client with a 100ms timeout polled an answer held 400ms: %+v, %v; want it to give up", s, err)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel2()
	if err := gaveUp.WaitForPolls(ctx2, 1); err != nil {
		t.Fatal(err)
	}
	ctx3, cancel3 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel3()
	if err := gaveUp.WaitForStatus(ctx3, cambmock.StatusSuccess); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForStatus(SUCCESS) on a SUCCESS the client gave up on = %v; want it to wait on", err)
	}
	d := gaveUp.Discipline(mockserver.Rules{})
	if d.Terminal != "" || d.Undelivered != 1 || !d.Clean {
		t.Errorf("discipline of the client that gave up: terminal %q, undelivered %d, violations %q; want no terminal status seen, 1 undelivered", d.Terminal, d.Undelivered, d.Violations)
	}
	if info := gaveUp.Info(); info.Status != "" {
		t.Errorf("Info().Status = %s; a status the client never got is not the last status delivered", info.Status)
	}
}

// TestStillManualClock: a client that sleeps real time between polls
// against a test server whose manual clock the test never moves is not
// judged too fast; the discipline says the clock stood still.
func TestStillManualClock(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	p := newPoller(t, ts, "stuck")
	p.poll()
	time.Sleep(1100 * time.Millisecond)
	p.poll()
	d := ts.Task(p.id).Discipline(mockserver.Rules{})
	if !d.Clean || d.StillClock != 1 || len(d.Notes) == 0 || !strings.Contains(d.Notes[0], "the manual clock was not moved") {
		t.Errorf("a client that waited 1.1s of real time: violations %q, still %d, notes %q; want clean, and a note on the clock", d.Violations, d.StillClock, d.Notes)
	}
}

// TestHangEndsOnManualClock: on a manual clock a hang ends when the clock
// is moved past the hang limit.
func TestHangEndsOnManualClock(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t, mockserver.WithHangLimit(30*time.Second))
	id := ts.CreateTask(mockserver.NewTask{Scenario: "hang"}).ID()
	done := make(chan seen, 1)
	go func() {
		s, err := pollTask(t.Context(), noKeepAlive(t), ts.URL, id, 20*time.Second)
		if err != nil {
			s.Status = err.Error()
		}
		done <- s
	}()
	waitInFlight(t, ts, id, done)
	ts.Advance(10 * time.Second)
	select {
	case s := <-done:
		t.Fatalf("the hang ended after 10s of a 30s limit: %+v", s)
	case <-time.After(200 * time.Millisecond):
	}
	ts.Advance(21 * time.Second)
	select {
	case s := <-done:
		if s.Fault != scenarios.FaultEmpty {
			t.Errorf("after the clock passed the hang limit the client saw %+v; want the connection closed", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("moving the manual clock past the hang limit did not end the hang")
	}
}

// TestTruncatedPoll: a truncated fault on a poll sends the headers and
// part of a status body, then drops the connection.
func TestTruncatedPoll(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Name: "cut-poll", Description: "the first poll is cut off, then SUCCESS",
		Poll: scenarios.Script{
			{Polls: 1, Fault: scenarios.FaultTruncated},
			{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}},
		}}
	ts := mockservertest.NewTestServer(t, mockserver.WithScenarios(sc))
	id := ts.CreateTask(mockserver.NewTask{Scenario: "cut-poll"}).ID()
	req, _ := http.NewRequest("GET", ts.BaseURL()+"/text-to-sound/"+id, nil)
	req.Header.Set("X-Api-Key", "k")
	resp, err := noKeepAlive(t).Do(req)
	if err != nil {
		t.Fatalf("the truncated poll sent no headers: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(b) == 0 || !strings.HasPrefix(`{"status":"PENDING"`, string(b[:min(len(b), 10)])) {
		t.Errorf("truncated poll: %d, %q, %v; want 200, part of a status body, then io.ErrUnexpectedEOF", resp.StatusCode, b, err)
	}
}

// TestWaitForUnknownStatus: waiting for a status no scenario serves is a
// 400 at once, not a long poll that times out.
func TestWaitForUnknownStatus(t *testing.T) {
	t.Parallel()
	ts := mockservertest.NewTestServer(t)
	id := ts.CreateTask(mockserver.NewTask{}).ID()
	r := req{Method: "GET", Path: "/__admin/tasks/" + id + "/wait?status=BOGUS&timeout=30s"}
	start := time.Now()
	a := mustSend(t, ts.Client(), ts.URL, r)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("wait?status=BOGUS took %v", took)
	}
	checkAnswer(t, r, a, wantAnswer{400, detail(`status "BOGUS" is served by no scenario of this server, so it would never come; the statuses are SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED, FAILED`)})
	if err := ts.Task(id).WaitForStatus(t.Context(), "BOGUS"); err == nil || !strings.Contains(err.Error(), "no scenario of this server serves BOGUS") {
		t.Errorf("WaitForStatus(BOGUS) = %v; want an error at once", err)
	}
}
