package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/cambmock/cambmock/mockserver"
)

// benchWriter is a ResponseWriter that keeps nothing.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkPollLogged is the status poll's handler with serve's logger (a
// text line per request through the buffered sink): the mock's own cost
// per poll as cambmock serve runs it, without the socket. For the figure
// users see, run bench/poll-ratio.sh.
func BenchmarkPollLogged(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			sink := newLogSink(io.Discard)
			defer sink.Close()
			logger := slog.New(newLineHandler(sink, slog.LevelInfo, format == "json"))
			srv, err := mockserver.New(mockserver.WithLogger(logger))
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			task, err := srv.CreateTask(mockserver.NewTask{Scenario: "stuck"})
			if err != nil {
				b.Fatal(err)
			}
			r, _ := http.NewRequest("GET", "http://127.0.0.1:8080/apis/text-to-sound/"+task.ID(), nil)
			r.Header.Set("X-Api-Key", "k")
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				srv.ServeHTTP(w, r)
				if w.code != 200 {
					b.Fatalf("poll: %d", w.code)
				}
			}
		})
	}
}
