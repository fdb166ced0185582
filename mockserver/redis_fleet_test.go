package mockserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// TestRedisEngineMatchesScriptAt: the Lua engine the poll, result and
// create scripts play is scenarios.Script.At: on random scripts (steps of
// polls, of time and forever, scripts that run out) and random arrival
// times, both choose the same step and leave the script at the same
// position, request after request.
func TestRedisEngineMatchesScriptAt(t *testing.T) {
	r := startRedis(t, "")
	e, err := mockserver.NewRedisEngine(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for c := range 300 {
		var s scenarios.Script
		for range 1 + rng.IntN(5) {
			var st scenarios.Step
			switch rng.IntN(3) {
			case 0:
				st.Polls = 1 + rng.IntN(4)
			case 1:
				st.For = time.Duration(1+rng.IntN(3000))*time.Millisecond + time.Duration(rng.IntN(1000))
			}
			if st.Forever() {
				s = append(s, st)
				break
			}
			s = append(s, st)
		}
		var pos scenarios.Position
		elapsed := time.Duration(0)
		for n := range 15 {
			if rng.IntN(4) > 0 {
				elapsed += time.Duration(rng.Int64N(int64(2 * time.Second)))
			}
			_, want, wantOK := s.At(pos, elapsed)
			got, gotOK, err := e.At(t.Context(), s, pos, elapsed)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || gotOK != wantOK {
				t.Fatalf("case %d, request %d: script %+v at %+v, elapsed %v: Script.At gives %+v %v, Lua %+v %v",
					c, n, s, pos, elapsed, want, wantOK, got, gotOK)
			}
			pos = want
		}
	}
}

// sseLines reads an event stream of replica root until ctx ends.
func sseLines(t *testing.T, ctx context.Context, root string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", root+"/__admin/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

func nextLine(t *testing.T, ctx context.Context, lines <-chan string, want string) {
	t.Helper()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q", want)
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, want) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no event holding %q", want)
		}
	}
}

// TestRedisFleetAdmin: the admin API answers alike on every replica:
// discipline, long polls woken by another replica's answer, the journal,
// the event stream, the create scripts counted fleet-wide, and a reset.
func TestRedisFleetAdmin(t *testing.T) {
	sc := mustParse(t, "busy-create", `description: the first two creates get a 503, then tasks PENDING once then SUCCESS
create:
  - error:
      code: 503
      headers:
        Retry-After: "1"
    polls: 2
poll:
  - status: PENDING
    polls: 1
  - status: SUCCESS
`)
	f := newFleet(t, startRedis(t, ""), 3, mockserver.WithScenarios(sc))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// The event stream of replica 2 hears of replica 0's requests.
	lines := sseLines(t, ctx, f.root(2))
	nextLine(t, ctx, lines, "{}")
	// The create script counts every replica's creates.
	create := func(i int) answer {
		return mustSend(t, http.DefaultClient, f.root(i), req{Method: "POST", Path: "/apis/text-to-sound",
			Body: `{"prompt":"x","duration":2}`, Header: map[string][]string{mockserver.ScenarioHeader: {"busy-create"}}})
	}
	var codes []int
	for i := range 3 {
		codes = append(codes, create(i).Code)
	}
	if diff := cmp.Diff([]int{503, 503, 200}, codes); diff != "" {
		t.Errorf("creates on replicas 0, 1, 2 mismatch (-want +got):\n%s", diff)
	}
	// A long poll on replica 1 for tasks wakes when replica 0 creates one.
	waited := make(chan answer, 1)
	go func() {
		a, _ := send(ctx, http.DefaultClient, f.root(1), req{Method: "GET", Path: "/__admin/wait?tasks=2&timeout=10s"})
		waited <- a
	}()
	time.Sleep(100 * time.Millisecond) // let the long poll start: it must be woken, not find the task at once
	id := createTask(t, http.DefaultClient, f.root(0), "success")
	if a := <-waited; a.Code != 200 || !strings.Contains(string(a.Body), id) {
		t.Fatalf("the long poll for 2 tasks on replica 1: %d %s", a.Code, a.Body)
	}
	nextLine(t, ctx, lines, `"task_id":"`+id+`"`)

	// A long poll on replica 1 wakes when replica 2 serves the task's poll.
	go func() {
		a, _ := send(ctx, http.DefaultClient, f.root(1), req{Method: "GET", Path: "/__admin/tasks/" + id + "/wait?polls=2&timeout=10s"})
		waited <- a
	}()
	time.Sleep(100 * time.Millisecond)
	pollOnce(ctx, f.root(2), id)
	pollOnce(ctx, f.root(0), id) // at once: too soon after the first
	if a := <-waited; a.Code != 200 {
		t.Fatalf("the long poll for 2 polls on replica 1: %d %s", a.Code, a.Body)
	}
	nextLine(t, ctx, lines, `"path":"/apis/text-to-sound/`+id+`"`)

	// Discipline, the same on every replica.
	var want mockserver.Discipline
	for i := range 3 {
		var d mockserver.Discipline
		getJSON(t, f.root(i), "/__admin/tasks/"+id+"/discipline", &d)
		if i == 0 {
			want = d
			if !strings.Contains(fmt.Sprint(d.ViolationNames()), mockserver.ViolationPollInterval) {
				t.Errorf("replica 0's discipline of two polls at once names %v, want %s", d.ViolationNames(), mockserver.ViolationPollInterval)
			}
		} else if diff := cmp.Diff(want, d); diff != "" {
			t.Errorf("replica %d's discipline differs from replica 0's (-0 +%d):\n%s", i, i, diff)
		}
	}

	// The journal holds every replica's requests, newest first.
	var j struct {
		Total    int64 `json:"total"`
		Requests []struct {
			Path   string `json:"path"`
			Status int    `json:"status"`
		} `json:"requests"`
	}
	getJSON(t, f.root(1), "/__admin/requests?limit=100", &j)
	polls := 0
	for _, r := range j.Requests {
		if r.Path == "/apis/text-to-sound/"+id {
			polls++
		}
	}
	if polls != 2 || j.Total < 7 {
		t.Errorf("replica 1's journal shows %d polls of the task and %d requests in all, want 2 and at least 7: %+v", polls, j.Total, j.Requests)
	}

	// A reset on replica 0 forgets every task, on every replica, and
	// restarts the create script.
	if a := mustSend(t, http.DefaultClient, f.root(0), req{Method: "POST", Path: "/__admin/reset"}); a.Code != 200 {
		t.Fatalf("reset: %d %s", a.Code, a.Body)
	}
	nextLine(t, ctx, lines, "{}") // the reset
	for i := range 3 {
		if code, _, _ := pollOnce(ctx, f.root(i), id); code != 404 {
			t.Errorf("after the reset, a poll on replica %d answered %d, want 404", i, code)
		}
		var list struct {
			Total int `json:"total"`
		}
		getJSON(t, f.root(i), "/__admin/tasks", &list)
		if list.Total != 0 {
			t.Errorf("after the reset, replica %d lists %d tasks", i, list.Total)
		}
	}
	if a := create(1); a.Code != 503 {
		t.Errorf("after the reset, the first create answered %d, want the script's 503 again", a.Code)
	}
}

// TestRedisReplicaGone: a replica closed in the middle loses nothing: the
// polls it answered are in the history, and the task goes on on the
// others.
func TestRedisReplicaGone(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 3)
	id := createTask(t, http.DefaultClient, f.root(2), "success")
	for range 2 {
		if code, _, _ := pollOnce(t.Context(), f.root(2), id); code != 200 {
			t.Fatalf("a poll on replica 2 answered %d", code)
		}
	}
	f.replicas[2].Close()
	if _, status, _ := pollOnce(t.Context(), f.root(0), id); status != "SUCCESS" {
		t.Errorf("the third poll, on replica 0 after replica 2 closed, served %q, want SUCCESS", status)
	}
	task := f.replicas[1].Task(id)
	if err := task.WaitForPolls(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if info := task.Info(); info.Polls != 3 || len(info.History) != 3 || info.Status != "SUCCESS" {
		t.Errorf("replica 1 shows %d polls, %d events, last %q; want 3, 3, SUCCESS", info.Polls, len(info.History), info.Status)
	}
}

// TestRedisStoreAway: with Redis killed, polls and the admin API answer
// 503 JSON naming the store within seconds, never a hang and never an
// answer from what a replica remembers; with Redis paused (a network that
// drops everything), the same within the timeouts. Started again on its
// append-only file, the task goes on where it was.
func TestRedisStoreAway(t *testing.T) {
	r := startDurableRedis(t)
	sc := mustParse(t, "five", `description: five PENDING, then SUCCESS
poll:
  - status: PENDING
    polls: 5
  - status: SUCCESS
`)
	f := newFleet(t, r, 3, mockserver.WithScenarios(sc))
	id := createTask(t, http.DefaultClient, f.root(0), "five")
	for i := range 3 {
		pollOnce(t.Context(), f.root(i), id)
	}
	if err := f.replicas[0].Task(id).WaitForPolls(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	away := func(what string) {
		t.Helper()
		for i := range 3 {
			paths := []string{"/apis/text-to-sound/" + id}
			if i == 1 {
				paths = append(paths, "/__admin/tasks/"+id, "/__admin/requests", "/__admin/tasks")
			}
			for _, path := range paths {
				start := time.Now()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				a, err := send(ctx, http.DefaultClient, f.root(i), req{Method: "GET", Path: path})
				cancel()
				if err != nil {
					t.Fatalf("%s: GET %s on replica %d: %v", what, path, i, err)
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("%s: GET %s on replica %d took %v, want an answer within a few seconds", what, path, i, took)
				}
				if a.Code != 503 || !strings.Contains(string(a.Body), "127.0.0.1:") || !strings.Contains(string(a.Body), "cannot be reached") {
					t.Errorf("%s: GET %s on replica %d: %d %s; want a 503 naming the store", what, path, i, a.Code, a.Body)
				}
				checkJSON(t, what+" "+path, a)
			}
		}
	}
	r.Pause()
	away("Redis paused")
	// Killed while paused, it never runs the scripts of the polls that
	// timed out (as a reply lost in the network, such a poll would take
	// its step once Redis got it).
	r.Kill()
	away("Redis killed")
	r.Start()
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 3 {
		code, status, _ := pollOnce(t.Context(), f.root(len(got)), id)
		if code == 200 {
			got = append(got, status)
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis is back, and a poll still answers %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"PENDING", "PENDING", "SUCCESS"}, got); diff != "" {
		t.Errorf("polls 4 to 6, after Redis came back, mismatch (-want +got):\n%s", diff)
	}
	task := f.replicas[2].Task(id)
	if err := task.WaitForPolls(t.Context(), 6); err != nil {
		t.Fatal(err)
	}
	h, _ := task.History()
	var steps []int
	for _, e := range h.Events {
		steps = append(steps, e.Step)
	}
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1, 2}, steps); diff != "" {
		t.Errorf("the history's steps mismatch (-want +got):\n%s", diff)
	}
}

// TestRedisStartUnreachable: a server whose store cannot be reached fails
// to start within seconds, naming the store without its password.
func TestRedisStartUnreachable(t *testing.T) {
	r := startRedis(t, "")
	url := strings.Replace(r.URL(), "redis://", "redis://:hunter2hunter2@", 1)
	r.Kill()
	start := time.Now()
	_, err := mockserver.New(mockserver.WithStore(url))
	if err == nil {
		t.Fatal("New with an unreachable store succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("New took %v to fail", took)
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, "redis://:xxxxx@127.0.0.1:") || !strings.Contains(msg, "cannot be reached") {
		t.Errorf("New's error %q should name the store, its password redacted, and say it cannot be reached", msg)
	}
}

// TestRedisPasswordHidden: a store with a password works, and the password
// is in no log line, no health answer and no error: not when Redis is
// away, nor when the password is wrong.
func TestRedisPasswordHidden(t *testing.T) {
	const password = "s3cret-pa55word-of-the-store"
	r := startRedis(t, password)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFleet(t, r, 2, mockserver.WithLogger(logger))
	id := createTask(t, http.DefaultClient, f.root(0), "success")
	pollOnce(t.Context(), f.root(1), id)
	var seen bytes.Buffer
	health := mustSend(t, http.DefaultClient, f.root(1), req{Method: "GET", Path: "/__admin/health"})
	seen.Write(health.Body)
	var h struct {
		Store    string `json:"store"`
		Replicas int    `json:"replicas"`
	}
	json.Unmarshal(health.Body, &h)
	if h.Store != fmt.Sprintf("redis://:xxxxx@127.0.0.1:%d/0", r.port) || h.Replicas != 2 {
		t.Errorf("health: %s; want the store, its password redacted, and 2 replicas", health.Body)
	}
	r.Kill()
	for _, path := range []string{"/apis/text-to-sound/" + id, "/__admin/tasks/" + id, "/__admin/health", "/__admin/tasks"} {
		a := mustSend(t, http.DefaultClient, f.root(0), req{Method: "GET", Path: path})
		if a.Code != 503 {
			t.Errorf("GET %s with Redis away: %d, want 503", path, a.Code)
		}
		seen.Write(a.Body)
	}
	_, err := mockserver.New(mockserver.WithStore(r.URL()))
	if err == nil {
		t.Fatal("New with the store away succeeded")
	}
	seen.WriteString(err.Error())
	r.Start()
	_, err = mockserver.New(mockserver.WithStore(strings.Replace(r.URL(), password, "not-"+password, 1)))
	if err == nil {
		t.Fatal("New with a wrong password succeeded")
	}
	seen.WriteString(err.Error())
	if !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("New with a wrong password: %v; want Redis's WRONGPASS", err)
	}
	for _, r := range f.replicas {
		r.Close()
	}
	seen.WriteString(logs.String())
	if strings.Contains(seen.String(), password) {
		t.Errorf("the password shows in what the fleet answered, said or logged:\n%s", seen.String())
	}
}

// TestRedisHistoryBounded: a history keeps at most its limit of events,
// folding the oldest into a tally that the judge still counts.
func TestRedisHistoryBounded(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 3, mockserver.WithHistoryLimits(8, 1000))
	task := f.replicas[0].CreateTask(mockserver.NewTask{Scenario: "stuck"})
	for i := range 30 {
		pollOnce(t.Context(), f.root(i), task.ID())
	}
	if err := task.WaitForPolls(t.Context(), 30); err != nil {
		t.Fatal(err)
	}
	h, err := f.replicas[1].Task(task.ID()).History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) > 8 || h.Earlier.Events+len(h.Events) != 30 || h.Earlier.Polls+len(h.Events) != 30 {
		t.Fatalf("the history keeps %d events and folded %d (%d polls); want at most 8 kept, 30 in all", len(h.Events), h.Earlier.Events, h.Earlier.Polls)
	}
	if last := h.Events[len(h.Events)-1]; last.Seq != 30 {
		t.Errorf("the last event kept has seq %d, want 30", last.Seq)
	}
	d := f.replicas[2].Task(task.ID()).Discipline(mockserver.Rules{})
	if d.Polls != 30 {
		t.Errorf("the discipline counts %d polls, want 30", d.Polls)
	}
}

// TestRedisTaskExpiry: a task expires its TTL after its last request, on
// the manual clock (lazily on the next request, and by the sweep), and on
// the real clock, where its keys carry Redis TTLs.
func TestRedisTaskExpiry(t *testing.T) {
	r := startRedis(t, "")
	t.Run("manual", func(t *testing.T) {
		f := newFleet(t, r, 2, mockserver.WithTaskTTL(time.Minute))
		// The index of expiry is written a sixteenth of the TTL apart: a
		// task it holds as older than it is outlives a sweep.
		early := f.replicas[0].CreateTask(mockserver.NewTask{})
		f.replicas[0].Advance(time.Minute / 32)
		pollOnce(t.Context(), f.root(1), early.ID())
		f.replicas[0].Advance(time.Minute - time.Minute/64)
		if n := len(f.replicas[1].Server().Tasks()); n != 1 {
			t.Fatalf("a minute and a 64th after its creation, a task last polled a 32nd of a minute later: %d tasks listed, want 1", n)
		}
		if code, _, _ := pollOnce(t.Context(), f.root(1), early.ID()); code != 200 {
			t.Fatalf("and its poll answered %d, want 200", code)
		}
		task := f.replicas[0].CreateTask(mockserver.NewTask{})
		f.replicas[1].Advance(time.Minute)
		if code, _, _ := pollOnce(t.Context(), f.root(1), task.ID()); code != 200 {
			t.Fatalf("a poll a minute after the creation answered %d, want 200", code)
		}
		f.replicas[0].Advance(time.Minute + time.Nanosecond)
		if code, _, _ := pollOnce(t.Context(), f.root(0), task.ID()); code != 404 {
			t.Errorf("a poll a minute and a nanosecond after the last answered %d, want 404", code)
		}
		if n := len(f.replicas[1].Server().Tasks()); n != 0 {
			t.Errorf("replica 1 lists %d tasks, want none (the sweep forgets the first)", n)
		}
	})
	t.Run("real", func(t *testing.T) {
		// The manual fleet has gone: this one, configured otherwise, takes
		// the store over.
		f := newFleet(t, r, 2, mockserver.WithClock(scenarios.SystemClock()), mockserver.WithTaskTTL(time.Second))
		task := f.replicas[0].CreateTask(mockserver.NewTask{})
		opt, _ := redis.ParseURL(r.URL())
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		keys, err := rdb.Keys(t.Context(), "cambmock:*:t:"+task.ID()).Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("the task's key: %v %v", keys, err)
		}
		if ttl := rdb.PTTL(t.Context(), keys[0]).Val(); ttl <= 0 || ttl > time.Second+time.Second/16+time.Millisecond {
			t.Errorf("the task's key has a TTL of %v, want up to 1s and a sixteenth", ttl)
		}
		deadline := time.Now().Add(5 * time.Second)
		for rdb.Exists(t.Context(), keys[0]).Val() == 1 {
			if time.Now().After(deadline) {
				t.Fatal("the task's key outlived its TTL by 4s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, _, _ := pollOnce(t.Context(), f.root(1), task.ID()); code != 404 {
			t.Errorf("a poll of the expired task answered %d, want 404", code)
		}
	})
}

// TestRedisConfigMismatch: a replica configured otherwise than the live
// replicas of a store does not join them.
func TestRedisConfigMismatch(t *testing.T) {
	r := startRedis(t, "")
	newFleet(t, r, 1)
	_, err := mockserver.New(mockserver.WithStore(r.URL()), mockserver.WithClock(scenarios.NewManualClock(mockservertest.Start)),
		mockserver.WithScenarios(mustParse(t, "extra", "description: one more\npoll:\n  - status: SUCCESS\n")))
	if err == nil || !strings.Contains(err.Error(), "1 live replica(s) share this store with another configuration") {
		t.Errorf("New with other scenarios than the fleet's: %v; want it refused", err)
	}
}

// TestRedisTLS: a fleet reaches its store over TLS (rediss://), with a
// password.
func TestRedisTLS(t *testing.T) {
	r := startTLSRedis(t, "tls-store-password")
	f := newFleet(t, r, 2)
	id := createTask(t, http.DefaultClient, f.root(0), "success")
	var got []string
	for i := range 3 {
		_, status, err := pollOnce(t.Context(), f.root(i+1), id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, status)
	}
	if diff := cmp.Diff([]string{"PENDING", "PENDING", "SUCCESS"}, got); diff != "" {
		t.Errorf("polls over TLS mismatch (-want +got):\n%s", diff)
	}
}

// TestRedisLostState: a Redis that lost its data (restarted without
// persistence, or flushed) is joined anew: its tasks are gone (404), and
// the fleet serves new ones.
func TestRedisLostState(t *testing.T) {
	r := startRedis(t, "")
	f := newFleet(t, r, 2)
	id := createTask(t, http.DefaultClient, f.root(0), "success")
	opt, _ := redis.ParseURL(r.URL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := pollOnce(t.Context(), f.root(1), id); code != 404 {
		t.Errorf("a poll of a task Redis lost answered %d, want 404", code)
	}
	id = createTask(t, http.DefaultClient, f.root(1), "success")
	if _, status, _ := pollOnce(t.Context(), f.root(0), id); status != "PENDING" {
		t.Errorf("a new task's first poll served %q, want PENDING", status)
	}
	var list struct {
		Total int `json:"total"`
	}
	getJSON(t, f.root(0), "/__admin/tasks?status=PENDING", &list)
	if list.Total != 1 {
		t.Errorf("the fleet lists %d PENDING tasks, want 1", list.Total)
	}
}
