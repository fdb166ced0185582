package mockserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// clockFree reports whether a scenario's case plays the same whatever the
// clock does: no step of its poll script lasts a time, its case moves no
// clock, waits for no latency and meets no hang, and its create script
// (shared by the server's tasks) is empty.
func clockFree(sc *scenarios.Scenario, tc e2eCase) bool {
	if tc.creates != nil || len(sc.Create) > 0 || hasLatency(sc.Poll) {
		return false
	}
	for _, st := range sc.Poll {
		if st.For > 0 || st.Fault == scenarios.FaultHang {
			return false
		}
	}
	for _, p := range tc.polls {
		if p.advance > 0 {
			return false
		}
	}
	return true
}

// TestConcurrentTasks creates and polls 200 tasks of mixed scenarios at
// once while the clock moves: every task must see exactly its scenario's
// sequence, and count exactly its own polls.
func TestConcurrentTasks(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	var mix []*scenarios.Scenario
	for _, sc := range ts.Server().Scenarios() {
		if tc, ok := e2eCases[sc.Name]; ok && clockFree(sc, tc) {
			mix = append(mix, sc)
		}
	}
	if len(mix) < 10 {
		t.Fatalf("only %d scenarios to mix", len(mix))
	}
	keepAlive, fresh := ts.Client(), noKeepAlive(t)

	const tasks = 200
	type result struct {
		scenario string
		id       string
		got      []seen
		err      error
	}
	results := make([]result, tasks)
	stop := make(chan struct{})
	var moving sync.WaitGroup
	moving.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ts.Clock().Advance(time.Second); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	var wg sync.WaitGroup
	for i := range tasks {
		sc := mix[i%len(mix)]
		wg.Go(func() {
			r := &results[i]
			r.scenario = sc.Name
			c := keepAlive
			for _, st := range sc.Poll {
				if st.Fault == scenarios.FaultReset || st.Fault == scenarios.FaultEmpty {
					c = fresh // a reused connection would be retried
				}
			}
			a, err := send(t.Context(), c, ts.URL, req{Method: "POST", Path: "/apis/text-to-sound",
				Body:   `{"prompt":"task ` + strconv.Itoa(i) + `","duration":1}`,
				Header: map[string][]string{mockserver.ScenarioHeader: {sc.Name}}})
			var created struct {
				TaskID string `json:"task_id"`
			}
			if err != nil || a.Code != http.StatusOK || json.Unmarshal(a.Body, &created) != nil {
				r.err = fmt.Errorf("create: %d %s, %v", a.Code, a.Body, err)
				return
			}
			r.id = created.TaskID
			for range e2eCases[sc.Name].polls {
				s, err := pollTask(t.Context(), c, ts.URL, r.id, 10*time.Second)
				if err != nil {
					r.err = err
					return
				}
				r.got = append(r.got, s)
			}
		})
	}
	wg.Wait()
	close(stop)
	moving.Wait()

	ids := map[string]bool{}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("task %d (%s): %v", i, r.scenario, r.err)
			continue
		}
		if ids[r.id] {
			t.Errorf("task %d (%s): id %s given twice", i, r.scenario, r.id)
		}
		ids[r.id] = true
		info := ts.Task(r.id).Info()
		var want []seen
		for _, p := range e2eCases[r.scenario].polls {
			w := p.want
			if w.RunID == runIDPlaceholder {
				w.RunID = strconv.FormatInt(info.RunID, 10)
			}
			want = append(want, w)
		}
		if diff := cmp.Diff(want, r.got); diff != "" {
			t.Errorf("task %d (%s) polls mismatch (-want +got):\n%s", i, r.scenario, diff)
		}
		if info.Scenario != r.scenario || info.Polls != len(want) {
			t.Errorf("task %d: Info() says scenario %s with %d polls, want %s with %d", i, info.Scenario, info.Polls, r.scenario, len(want))
		}
	}
}

// TestTestServersSideBySide runs test servers in parallel: each has its
// own tasks, ids, run ids, clock, default scenario and journal.
func TestTestServersSideBySide(t *testing.T) {
	for i := range 6 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			ts := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario("slow-success"))
			task := ts.CreateTask(mockserver.NewTask{ID: "the-same-id"}) // taken on no other server
			if task.Info().RunID != 100001 {
				t.Errorf("the first task's run id is %d, want 100001 on every server", task.Info().RunID)
			}
			ts.Advance(time.Duration(i) * 3 * time.Second)
			want := "PENDING" // slow-success is PENDING for 10s
			if i*3 >= 10 {
				want = "SUCCESS"
			}
			s, err := pollTask(t.Context(), ts.Client(), ts.URL, "the-same-id", 10*time.Second)
			if err != nil || s.Status != want {
				t.Errorf("after %ds: poll %+v, %v; want %s", i*3, s, err, want)
			}
			if now, want := ts.Clock().Now(), testStart.Add(time.Duration(i)*3*time.Second); !now.Equal(want) {
				t.Errorf("the clock is at %v, want %v", now, want)
			}
			var got journal
			admin(t, ts, req{Method: "GET", Path: "/__admin/requests"}, 200, &got)
			if got.Total != 1 {
				t.Errorf("the journal holds %d requests, want 1: the poll", got.Total)
			}
		})
	}
}
