package mockserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// The Redis store's tests run three replicas (mockservertest servers with
// WithStore) on a real redis-server of their own: go test -run Redis.

func mustParse(t testing.TB, name, yaml string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(name+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestRedisProgressionAcrossReplicas: a task created on one replica is
// polled on the others in turn, each poll taking the next step; its result
// and its file are fetched on others again, and every replica shows the
// same history.
func TestRedisProgressionAcrossReplicas(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 3)
	id := createTask(t, http.DefaultClient, f.root(0), "success") // PENDING twice, then SUCCESS
	var got []string
	var run int64
	for i := 1; i <= 4; i++ {
		a := mustSend(t, http.DefaultClient, f.root(i), req{Method: "GET", Path: "/apis/text-to-sound/" + id})
		var body struct {
			Status string `json:"status"`
			RunID  *int64 `json:"run_id"`
		}
		if a.Code != 200 || json.Unmarshal(a.Body, &body) != nil {
			t.Fatalf("poll %d on replica %d: %d %s", i, i%3, a.Code, a.Body)
		}
		got = append(got, body.Status)
		if body.RunID != nil {
			run = *body.RunID
		}
	}
	if diff := cmp.Diff([]string{"PENDING", "PENDING", "SUCCESS", "SUCCESS"}, got); diff != "" {
		t.Errorf("statuses polled over three replicas mismatch (-want +got):\n%s", diff)
	}
	res := mustSend(t, http.DefaultClient, f.root(2), req{Method: "GET", Path: fmt.Sprintf("/apis/text-to-sound-result/%d", run)})
	if res.Code != 200 || res.Header.Get("Content-Type") != wavType {
		t.Fatalf("the result on replica 2: %d %s", res.Code, res.Header.Get("Content-Type"))
	}
	task := f.replicas[1].Task(id)
	if err := task.WaitForResult(t.Context()); err != nil {
		t.Fatal(err)
	}
	var want []mockserver.Event
	for i, r := range f.replicas {
		var h struct {
			Events []mockserver.Event `json:"events"`
		}
		getJSON(t, r.URL, "/__admin/tasks/"+id+"/history", &h)
		if len(h.Events) != 5 {
			t.Fatalf("replica %d's history has %d events, want 4 polls and a result: %+v", i, len(h.Events), h.Events)
		}
		for j, e := range h.Events {
			if e.Seq != j+1 || !e.Delivered {
				t.Errorf("replica %d's event %d: seq %d delivered %v, want seq %d delivered", i, j, e.Seq, e.Delivered, j+1)
			}
		}
		if want == nil {
			want = h.Events
		} else if diff := cmp.Diff(want, h.Events); diff != "" {
			t.Errorf("replica %d's history differs from replica 0's (-0 +%d):\n%s", i, i, diff)
		}
	}
}

// TestRedisConcurrentPolls: 100 polls of one task at once, spread over
// three replicas, each take their own step: every step is served exactly
// as many times as the script says, and the history holds the 100 polls in
// the order they arrived.
func TestRedisConcurrentPolls(t *testing.T) {
	sc := mustParse(t, "counted", `description: 30 PENDING, 20 rate limits, 10 PENDING, then SUCCESS
poll:
  - status: PENDING
    polls: 30
  - error:
      code: 429
      headers:
        Retry-After: "1"
    polls: 20
  - status: PENDING
    polls: 10
  - status: SUCCESS
`)
	f := newFleet(t, startRedis(t, ""), 3, mockserver.WithScenarios(sc))
	id := createTask(t, http.DefaultClient, f.root(1), "counted")
	const polls = 100
	var wg sync.WaitGroup
	type answer struct {
		code   int
		status string
	}
	answers := make([]answer, polls)
	for i := range polls {
		wg.Go(func() {
			code, status, err := pollOnce(t.Context(), f.root(i), id)
			if err != nil {
				t.Errorf("poll %d: %v", i, err)
			}
			answers[i] = answer{code, status}
		})
	}
	wg.Wait()
	count := map[answer]int{}
	for _, a := range answers {
		count[a]++
	}
	want := map[answer]int{{200, "PENDING"}: 40, {429, ""}: 20, {200, "SUCCESS"}: 40}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("answers of 100 concurrent polls over 3 replicas mismatch (-want +got):\n%s", diff)
	}
	// Asked at once, over HTTP, any replica already counts every answer
	// its client holds.
	var info mockserver.TaskInfo
	getJSON(t, f.root(0), "/__admin/tasks/"+id, &info)
	if info.Polls != polls {
		t.Errorf("right after the polls, replica 0 counts %d, want %d", info.Polls, polls)
	}
	task := f.replicas[2].Task(id)
	if err := task.WaitForPolls(t.Context(), polls); err != nil {
		t.Fatal(err)
	}
	h, err := task.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != polls {
		t.Fatalf("the history has %d events, want %d", len(h.Events), polls)
	}
	steps := map[int]int{}
	for i, e := range h.Events {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d: the history is not in arrival order", i, e.Seq)
		}
		steps[e.Step]++
		// Arrival order is step order: no poll took a step after a later one.
		if i > 0 && e.Step < h.Events[i-1].Step {
			t.Errorf("event %d (seq %d) took step %d after seq %d took step %d", i, e.Seq, e.Step, h.Events[i-1].Seq, h.Events[i-1].Step)
		}
	}
	if diff := cmp.Diff(map[int]int{1: 30, 2: 20, 3: 10, 4: 40}, steps); diff != "" {
		t.Errorf("steps served mismatch (-want +got):\n%s", diff)
	}
	if info := task.Info(); info.Polls != polls || info.InFlight != 0 || info.Step != 4 {
		t.Errorf("Info: %d polls, %d in flight, step %d; want %d, 0, 4", info.Polls, info.InFlight, info.Step, polls)
	}
}

// TestRedisRunIDsUnique: tasks created at once on three replicas get
// distinct run ids.
func TestRedisRunIDsUnique(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 3)
	const n = 60
	runs := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			task, err := f.replicas[i%3].Server().CreateTask(mockserver.NewTask{})
			if err != nil {
				t.Error(err)
				return
			}
			runs[i] = task.Info().RunID
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, r := range runs {
		if r == 0 || seen[r] {
			t.Errorf("run id %d given twice (or not at all): %v", r, runs)
		}
		seen[r] = true
	}
	if n := len(f.replicas[0].Server().Tasks()); n != 60 {
		t.Errorf("replica 0 lists %d tasks, want 60", n)
	}
}

// TestRedisSharedClock: the manual clock is one clock. Moving it on one
// replica, with the Go API or the admin API, moves what a poll on another
// sees at once, and the other replicas' clocks follow.
func TestRedisSharedClock(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 3)
	id := createTask(t, http.DefaultClient, f.root(0), "slow-success") // PENDING for 10s, then SUCCESS
	if _, status, _ := pollOnce(t.Context(), f.root(2), id); status != "PENDING" {
		t.Fatalf("the first poll served %q, want PENDING", status)
	}
	f.replicas[0].Advance(10 * time.Second)
	if _, status, _ := pollOnce(t.Context(), f.root(2), id); status != "SUCCESS" {
		t.Errorf("right after replica 0's clock moved 10s, a poll on replica 2 served %q, want SUCCESS", status)
	}
	follows := func(want time.Time) {
		t.Helper()
		for i, r := range f.replicas {
			deadline := time.Now().Add(5 * time.Second)
			for !r.Clock().Now().Equal(want) {
				if time.Now().After(deadline) {
					t.Fatalf("replica %d's clock reads %v, want %v", i, r.Clock().Now(), want)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	follows(mockservertest.Start.Add(10 * time.Second))
	a := mustSend(t, http.DefaultClient, f.root(1), req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"5s"}`})
	if a.Code != 200 {
		t.Fatalf("POST /__admin/clock on replica 1: %d %s", a.Code, a.Body)
	}
	follows(mockservertest.Start.Add(15 * time.Second))
	var info mockserver.TaskInfo
	getJSON(t, f.root(2), "/__admin/tasks/"+id, &info)
	if info.Elapsed != mockserver.Duration(15*time.Second) {
		t.Errorf("replica 2 says the task is %v old, want 15s", info.Elapsed)
	}
}

// TestRedisTimeScale: on the real clock scaled, every replica plays the
// same scaled time, from the fleet's epoch: a task PENDING for 10s of
// scenario time succeeds after about 100ms at a scale of 0.01, whichever
// replica polls it.
func TestRedisTimeScale(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 2, mockserver.WithClock(scenarios.SystemClock()), mockserver.WithTimeScale(0.01))
	id := createTask(t, http.DefaultClient, f.root(0), "slow-success")
	if _, status, _ := pollOnce(t.Context(), f.root(1), id); status != "PENDING" {
		t.Fatalf("the first poll served %q, want PENDING", status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		_, status, _ := pollOnce(t.Context(), f.root(i), id)
		if status == "SUCCESS" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("10s of scenario time at a scale of 0.01 took over 5s of real time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	info := f.replicas[1].Task(id).Info()
	if info.Elapsed < mockserver.Duration(10*time.Second) || info.Elapsed > mockserver.Duration(10*time.Minute) {
		t.Errorf("replica 1 says the task is %v old on the scenario clock; want 10s or more, and not the real clock's", info.Elapsed)
	}
}

// TestRedisResultListFollowsRequest: a translation created through one
// replica with three texts gets three translated texts from another, as
// on one replica: the Redis store keeps how many items the create sent.
func TestRedisResultListFollowsRequest(t *testing.T) {
	f := newFleet(t, startRedis(t, ""), 2)
	a := mustSend(t, http.DefaultClient, f.root(0), req{Method: "POST", Path: "/apis/translate",
		Body:   `{"texts":["one","two","three"],"source_language":1,"target_language":2}`,
		Header: map[string][]string{mockserver.ScenarioHeader: {"success"}}})
	id := taskID(t, a)
	for i := range 3 {
		mustSend(t, http.DefaultClient, f.root(i), req{Method: "GET", Path: "/apis/translate/" + id})
	}
	run := f.replicas[1].Task(id).Info().RunID
	for i := range 2 {
		res := mustSend(t, http.DefaultClient, f.root(i), req{Method: "GET", Path: fmt.Sprintf("/apis/translation-result/%d", run)})
		var got struct {
			Texts []string `json:"texts"`
		}
		if err := json.Unmarshal(res.Body, &got); err != nil || res.Code != 200 || len(got.Texts) != 3 {
			t.Errorf("translation result on replica %d: %d %s; want 3 texts for the 3 sent", i, res.Code, res.Body)
		}
	}
}
