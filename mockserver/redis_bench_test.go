package mockserver_test

import (
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
// batches, off the answer's path.
func TestRedisPollOneRoundTrip(t *testing.T) {
	srv := redisBenchServer(t, startRedis(t, ""))
	requests, background := mockserver.RoundTrips(srv)
	task, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	if err != nil {
		t.Fatal(err)
	}
	const polls = 50
	before, bgBefore := requests.Load(), background.Load()
	for range polls {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/apis/text-to-sound/"+task.ID(), nil)
		r.Header.Set("X-Api-Key", testKey)
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("poll: %d %s", w.Code, w.Body)
		}
	}
	if n := requests.Load() - before; n != polls {
		t.Errorf("%d polls sent %d commands to Redis on their way; want one each", polls, n)
	}
	if err := task.WaitForPolls(t.Context(), polls); err != nil {
		t.Fatal(err)
	}
	if n := background.Load() - bgBefore; n > polls+5 {
		t.Errorf("recording %d polls took %d round trips; want at most one per poll (fewer when batched)", polls, n)
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
			requests, background := mockserver.RoundTrips(srv)
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
			before, bgBefore := requests.Load(), background.Load()
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
			b.ReportMetric(float64(background.Load()-bgBefore)/float64(b.N), "recorder-trips/poll")
		})
	}
}
