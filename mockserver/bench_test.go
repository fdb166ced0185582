package mockserver_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
)

// The benchmarks find where the status poll, the mock's hot path, spends
// its time and memory: run them with -cpuprofile and -benchmem. They are
// not the figures users meet: in process, Go's own client shares the CPUs
// with the server and dilutes every ratio towards 1. The published
// figures come from bench/run.sh, which measures from a separate process
// with wrk, each side pinned to its own core.
//
//	go test -run XXX -bench . -benchmem ./mockserver/ -count 3

// benchPendingBody is what a task of the stuck scenario answers to every poll,
// and what the baseline handler serves.
const benchPendingBody = `{"status":"PENDING","run_id":null,"exception_reason":null,"message":null}`

// benchServer returns a server as the CLI runs one (the real clock, any
// key), logging a text line per request to io.Discard at Info, so that
// every request formats its line. strict adds [mockserver.WithStrict].
func benchServer(b *testing.B, spec *cambmock.Spec, strict bool) *mockserver.Server {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := []mockserver.Option{mockserver.WithLogger(logger), mockserver.WithStrict(strict)}
	if spec != nil {
		opts = append(opts, mockserver.WithSpec(spec))
	}
	srv, err := mockserver.New(opts...)
	if err != nil {
		b.Fatalf("mockserver.New: %v", err)
	}
	b.Cleanup(srv.Close)
	return srv
}

// benchStuckTask creates a task that answers PENDING to every poll.
func benchStuckTask(b *testing.B, srv *mockserver.Server) string {
	b.Helper()
	t, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	if err != nil {
		b.Fatalf("CreateTask: %v", err)
	}
	return t.ID()
}

func benchSpec(b *testing.B) *cambmock.Spec {
	b.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		b.Fatalf("LoadSpec: %v", err)
	}
	return spec
}

// benchBare is the baseline: the least a net/http handler can do to answer a
// poll with the same body and headers.
func benchBare() http.Handler {
	body := []byte(benchPendingBody)
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// benchListen serves h on a port of 127.0.0.1 until the benchmark ends and
// returns a client that keeps enough idle connections for RunParallel.
func benchListen(b *testing.B, h http.Handler) (*httptest.Server, *http.Client) {
	b.Helper()
	hs := httptest.NewServer(h)
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	return hs, &http.Client{Transport: tr}
}

// benchPollLoop polls url from every RunParallel goroutine, discarding the
// bodies, and reports requests per second.
func benchPollLoop(b *testing.B, client *http.Client, url string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Header.Set("x-api-key", "bench-key")
		for pb.Next() {
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("GET %s: %s", url, resp.Status)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkPollLoopback polls one stuck task over loopback HTTP, beside a
// bare net/http handler serving the same body: the ratio of their req/s
// is the mock's overhead. The mock logs every request (a text handler
// writing to io.Discard). RunParallel runs GOMAXPROCS clients, which share
// the CPUs with the server.
func BenchmarkPollLoopback(b *testing.B) {
	spec := benchSpec(b)
	b.Run("baseline", func(b *testing.B) {
		benchCheck(b, benchBare(), benchPollRequest("baseline"))
		hs, client := benchListen(b, benchBare())
		benchPollLoop(b, client, hs.URL+"/apis/text-to-sound/baseline")
	})
	for _, strict := range []bool{false, true} {
		name := "mock"
		if strict {
			name = "mock-strict"
		}
		b.Run(name, func(b *testing.B) {
			srv := benchServer(b, spec, strict)
			id := benchStuckTask(b, srv)
			benchCheck(b, srv, benchPollRequest(id))
			hs, client := benchListen(b, srv)
			benchPollLoop(b, client, hs.URL+"/apis/text-to-sound/"+id)
		})
	}
}

// benchWriter is a reusable ResponseWriter that keeps only the status,
// so that handler-only benchmarks count the handler's allocations alone.
type benchWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.code, w.n = 0, 0
}

func benchPollRequest(id string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/apis/text-to-sound/"+id, nil)
	r.Header.Set("x-api-key", "bench-key")
	return r
}

// benchCheck fails the benchmark unless h answers r with the body the
// baseline serves, so that both sides of a comparison send the same bytes.
func benchCheck(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if got := rec.Body.String(); rec.Code != http.StatusOK || got != benchPendingBody {
		b.Fatalf("GET %s: %d %s, want 200 %s", r.URL.Path, rec.Code, got, benchPendingBody)
	}
}

// benchServe runs one request through h and fails the benchmark unless it is
// answered 200.
func benchServe(b *testing.B, h http.Handler, w *benchWriter, r *http.Request) {
	w.reset()
	h.ServeHTTP(w, r)
	if w.code != http.StatusOK {
		b.Fatalf("GET %s: %d", r.URL.Path, w.code)
	}
}

// BenchmarkPollHandler calls the handler of the status poll directly,
// without a socket: its ns/op and allocs/op are the mock's own cost.
func BenchmarkPollHandler(b *testing.B) {
	spec := benchSpec(b)
	b.Run("baseline", func(b *testing.B) {
		h := benchBare()
		w := &benchWriter{header: http.Header{}}
		r := benchPollRequest("baseline")
		benchCheck(b, h, r)
		b.ReportAllocs()
		for b.Loop() {
			benchServe(b, h, w, r)
		}
	})
	for _, strict := range []bool{false, true} {
		name := "mock"
		if strict {
			name = "mock-strict"
		}
		b.Run(name, func(b *testing.B) {
			srv := benchServer(b, spec, strict)
			w := &benchWriter{header: http.Header{}}
			r := benchPollRequest(benchStuckTask(b, srv))
			benchCheck(b, srv, r)
			b.ReportAllocs()
			for b.Loop() {
				benchServe(b, srv, w, r)
			}
		})
	}
}

// BenchmarkPollTasks polls random tasks among many live ones: the time per
// poll should not grow with the number of tasks.
func BenchmarkPollTasks(b *testing.B) {
	spec := benchSpec(b)
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			srv := benchServer(b, spec, false)
			paths := make([]string, n)
			for i := range paths {
				t, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
				if err != nil {
					b.Fatalf("CreateTask %d: %v", i, err)
				}
				paths[i] = "/apis/text-to-sound/" + t.ID()
			}
			// Leave the setup's garbage to this collection, not to the
			// timed polls.
			runtime.GC()
			b.Run("handler", func(b *testing.B) {
				// One request, pointed at another task each time: a
				// million requests built beforehand would outweigh the
				// tasks in the cache and the heap.
				w := &benchWriter{header: http.Header{}}
				r := benchPollRequest("")
				rng := rand.New(rand.NewPCG(1, 2))
				b.ReportAllocs()
				for b.Loop() {
					r.URL.Path = paths[rng.IntN(n)]
					benchServe(b, srv, w, r)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
			b.Run("loopback", func(b *testing.B) {
				hs, client := benchListen(b, srv)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
					for pb.Next() {
						req, err := http.NewRequest(http.MethodGet, hs.URL+paths[rng.IntN(n)], nil)
						if err != nil {
							b.Error(err)
							return
						}
						req.Header.Set("x-api-key", "bench-key")
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("GET %s: %s", req.URL.Path, resp.Status)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		})
	}
}

// BenchmarkTaskMemory reports the heap a live task holds: the growth of
// the live heap over creating a million stuck tasks, each polled once (so
// that its history holds an event), divided by their number. One
// iteration is the whole million.
func BenchmarkTaskMemory(b *testing.B) {
	const n = 1_000_000
	spec := benchSpec(b)
	var perTask float64
	for range b.N {
		b.StopTimer()
		srv, err := mockserver.New(mockserver.WithSpec(spec))
		if err != nil {
			b.Fatal(err)
		}
		w := &benchWriter{header: http.Header{}}
		before := benchHeapAlloc()
		b.StartTimer()
		for i := range n {
			t, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
			if err != nil {
				b.Fatalf("CreateTask %d: %v", i, err)
			}
			benchServe(b, srv, w, benchPollRequest(t.ID()))
		}
		b.StopTimer()
		perTask = float64(benchHeapAlloc()-before) / n
		runtime.KeepAlive(srv)
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(perTask, "B/task")
}

func benchHeapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkStartup measures what stands between starting the mock and its
// first answer, in process: New (which loads openapi.yaml and the built-in
// scenarios from their snapshots, see internal/specsnap), creating a task and its first poll, either
// through the handler or over a fresh loopback listener and connection.
func BenchmarkStartup(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			srv, err := mockserver.New()
			if err != nil {
				b.Fatal(err)
			}
			w := &benchWriter{header: http.Header{}}
			benchServe(b, srv, w, benchPollRequest(benchStuckTask(b, srv)))
			srv.Close()
		}
		b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/start")
	})
	b.Run("loopback", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			srv, err := mockserver.New()
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			tr := &http.Transport{}
			req, _ := http.NewRequest(http.MethodGet, hs.URL+"/apis/text-to-sound/"+benchStuckTask(b, srv), nil)
			req.Header.Set("x-api-key", "bench-key")
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("first poll: %s", resp.Status)
			}
			tr.CloseIdleConnections()
			hs.Close()
			srv.Close()
		}
		b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/start")
	})
}

// TestPollAllocations watches how many allocations a status poll costs the
// handler, logging a line, in strict mode or not: a count, not a time, so
// it holds on a busy machine. The bound has room for noise; a poll that
// allocates more has gained work on the hot path.
func TestPollAllocations(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
		srv, err := mockserver.New(mockserver.WithSpec(spec), mockserver.WithLogger(logger), mockserver.WithStrict(strict))
		if err != nil {
			t.Fatal(err)
		}
		task, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
		if err != nil {
			t.Fatal(err)
		}
		w := &benchWriter{header: http.Header{}}
		r := benchPollRequest(task.ID())
		allocs := testing.AllocsPerRun(1000, func() {
			w.reset()
			srv.ServeHTTP(w, r)
		})
		if w.code != http.StatusOK {
			t.Fatalf("poll: %d", w.code)
		}
		if allocs > 8 {
			t.Errorf("a status poll (strict %v) allocates %.1f times; it did 4 when this test was written", strict, allocs)
		}
		srv.Close()
	}
}
