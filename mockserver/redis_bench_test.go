package mockserver_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cambmock/cambmock/mockserver"
)

// redisBenchServer is a server as the CLI runs one, on the real clock,
// logging a line per request to io.Discard, with its tasks in r.
func redisBenchServer(tb testing.TB, r *testRedis) *mockserver.Server {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := mockserver.New(mockserver.WithStore(r.URL()), mockserver.WithLogger(logger))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// TestRedisPollOneRoundTrip: a status poll costs one round trip to Redis
// on its way (the poll script); recording what it delivered goes in
// batches, off the answer's path: never more than one call per recorded
// operation (a poll's delivery and its journal entry), and fewer calls
// than polls when polls come side by side.
func TestRedisPollOneRoundTrip(t *testing.T) {
	srv := redisBenchServer(t, startRedis(t, ""))
	requests, recorder := mockserver.RoundTrips(srv)
	task, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	if err != nil {
		t.Fatal(err)
	}
	poll := func() error {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/apis/text-to-sound/"+task.ID(), nil)
		r.Header.Set("X-Api-Key", testKey)
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return fmt.Errorf("poll: %d %s", w.Code, w.Body)
		}
		return nil
	}
	const polls = 50
	before, recBefore := requests.Load(), recorder.Load()
	for range polls {
		if err := poll(); err != nil {
			t.Fatal(err)
		}
	}
	if n := requests.Load() - before; n != polls {
		t.Errorf("%d polls sent %d commands to Redis on their way; want one each", polls, n)
	}
	if err := task.WaitForPolls(t.Context(), polls); err != nil {
		t.Fatal(err)
	}
	// +2: the create's journal entry, and loading the record script.
	if n := recorder.Load() - recBefore; n > 2*polls+2 {
		t.Errorf("recording %d serial polls took %d calls; want at most one per recorded operation (%d)", polls, n, 2*polls+2)
	}

	const pollers, each = 20, 20
	before, recBefore = requests.Load(), recorder.Load()
	errs := make(chan error, pollers)
	for range pollers {
		go func() {
			for range each {
				if err := poll(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range pollers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := requests.Load() - before; n != pollers*each {
		t.Errorf("%d parallel polls sent %d commands to Redis on their way; want one each", pollers*each, n)
	}
	if err := task.WaitForPolls(t.Context(), polls+pollers*each); err != nil {
		t.Fatal(err)
	}
	if n := recorder.Load() - recBefore; n >= pollers*each {
		t.Errorf("recording %d polls from %d goroutines took %d calls; want fewer calls than polls, the recorder writing what queued while it wrote", pollers*each, pollers, n)
	}
}

// BenchmarkRedisPoll measures the status poll through the Redis store in
// process (no client socket: the figure is the server's side, the Redis
// round trip included), and reports the round trips to Redis per poll on
// the answer's path and in the recorder's batches.
//
//	go test -run XXX -bench RedisPoll -benchmem ./mockserver/
func BenchmarkRedisPoll(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := redisBenchServer(b, startRedis(b, ""))
			requests, recorder := mockserver.RoundTrips(srv)
			task, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
			if err != nil {
				b.Fatal(err)
			}
			path := "/apis/text-to-sound/" + task.ID()
			poll := func() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("X-Api-Key", testKey)
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("poll: %d", w.Code)
				}
			}
			b.ReportAllocs()
			before, recBefore := requests.Load(), recorder.Load()
			b.ResetTimer()
			if bc.parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						poll()
					}
				})
			} else {
				for b.Loop() {
					poll()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(requests.Load()-before)/float64(b.N), "trips/poll")
			b.ReportMetric(float64(recorder.Load()-recBefore)/float64(b.N), "recorder-trips/poll")
		})
	}
}
