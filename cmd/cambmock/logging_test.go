package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
)

// TestLineHandlerWritesAsSlog: the fast handler writes, byte for byte,
// what slog's TextHandler and JSONHandler write, so that tools reading
// cambmock's logs see no difference.
func TestLineHandlerWritesAsSlog(t *testing.T) {
	at := time.Date(2026, 12, 1, 23, 4, 41, 202999999, time.UTC)
	records := []func(l *slog.Logger){
		func(l *slog.Logger) {
			l.Info("request", "method", "GET", "path", "/apis/text-to-sound/x", "status", 200, "task", "", "scenario", "success",
				"step", "poll 1", "dur", 97583*time.Nanosecond)
		},
		func(l *slog.Logger) {
			l.Warn("odd values", "quote", `say "hi"`, "eq", "a=b", "nl", "a\nb", "uni", "é ü", "nbsp", "a\u00a0b", "ctl", "\x01",
				"neg", -3, "u", uint64(7), "f", 1.5, "b", true, "err", errors.New("no such thing"), "at", at, "any", []int{1, 2})
		},
		func(l *slog.Logger) { l.With("replica", 2).Error("with attrs", "k", "v") },
		func(l *slog.Logger) { l.WithGroup("g").Info("in a group", "k", "v") },
		func(l *slog.Logger) { l.Info("group attr", slog.Group("req", "m", "GET", "n", 1)) },
		func(l *slog.Logger) { l.Info("") },
		func(l *slog.Logger) {
			l.Info("a path with spaces", "path", "/apis/text-to-sound/a b", "tab", "a\tb", "del", "a\x7fb")
		},
	}
	for _, json := range []bool{false, true} {
		for i, rec := range records {
			var want, got bytes.Buffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					a.Value = slog.TimeValue(at)
				}
				return a
			}}
			var std slog.Handler = slog.NewTextHandler(&want, opts)
			if json {
				std = slog.NewJSONHandler(&want, opts)
			}
			rec(slog.New(std))
			rec(slog.New(fixedTime{newLineHandler(&got, slog.LevelDebug, json), at}))
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("record %d (json %v) mismatch (-slog +lineHandler):\n%s", i, json, diff)
			}
		}
	}
}

// fixedTime stamps every record with one time.
type fixedTime struct {
	slog.Handler
	at time.Time
}

func (f fixedTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = f.at
	return f.Handler.Handle(ctx, r)
}
func (f fixedTime) WithAttrs(a []slog.Attr) slog.Handler {
	return fixedTime{f.Handler.WithAttrs(a), f.at}
}
func (f fixedTime) WithGroup(n string) slog.Handler { return fixedTime{f.Handler.WithGroup(n), f.at} }

// TestLogSinkFlushes: lines reach the writer within the flush interval,
// and Close writes what is left.
func TestLogSinkFlushes(t *testing.T) {
	var out syncBuffer
	sink := newLogSink(&out)
	sink.Write([]byte("one\n"))
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "one") {
		if time.Now().After(deadline) {
			t.Fatal("a line was not flushed within 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sink.Write([]byte("two\n"))
	sink.Close()
	if out.String() != "one\ntwo\n" {
		t.Errorf("after Close the writer holds %q", out.String())
	}
	sink.Close() // again: nothing happens
}

// TestLogRequestWritesAsHandle: the request line mockserver hands the
// handler reads as the record it would otherwise send.
func TestLogRequestWritesAsHandle(t *testing.T) {
	at := time.Date(2026, 12, 1, 23, 4, 41, 202999999, time.UTC)
	for _, json := range []bool{false, true} {
		for _, fault := range []string{"", "reset"} {
			for _, with := range []bool{false, true} {
				var want, got bytes.Buffer
				var a, b slog.Handler = newLineHandler(&want, slog.LevelDebug, json), newLineHandler(&got, slog.LevelDebug, json)
				if with {
					a, b = a.WithAttrs([]slog.Attr{slog.Int("replica", 2)}), b.WithAttrs([]slog.Attr{slog.Int("replica", 2)})
				}
				l := mockserver.RequestLine{Time: at, Level: slog.LevelWarn, Method: "GET", Path: "/apis/text-to-sound/a b", Status: 0,
					Task: "", Scenario: "hang", Step: "poll 1", Duration: 1500 * time.Millisecond, Fault: fault}
				rec := slog.NewRecord(at, l.Level, "request", 0)
				rec.AddAttrs(slog.String("method", l.Method), slog.String("path", l.Path), slog.Int("status", l.Status),
					slog.String("task", l.Task), slog.String("scenario", l.Scenario), slog.String("step", l.Step), slog.Duration("dur", l.Duration))
				if fault != "" {
					rec.AddAttrs(slog.String("fault", fault))
				}
				a.Handle(context.Background(), rec)
				b.(mockserver.RequestLogger).LogRequest(l)
				if diff := cmp.Diff(want.String(), got.String()); diff != "" {
					t.Errorf("json %v fault %q with %v: LogRequest mismatch (-Handle +LogRequest):\n%s", json, fault, with, diff)
				}
			}
		}
	}
}

func TestAppendDuration(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999, 1000, 1001, 97583, 999999, 1000000, 1500000, 123456789, 999999999, time.Second,
		1500 * time.Millisecond, 90 * time.Minute, -5 * time.Millisecond, 100 * time.Microsecond, 120 * time.Millisecond} {
		if got, want := string(appendDuration(nil, d)), d.String(); got != want {
			t.Errorf("appendDuration(%d) = %q, want %q", d, got, want)
		}
	}
}

// TestRequestTimeAcrossSeconds: the remembered second gives way at each new one.
func TestRequestTimeAcrossSeconds(t *testing.T) {
	h := newLineHandler(io.Discard, slog.LevelInfo, false)
	start := time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)
	// time.Now is in Local: a Local at offset 0 (as in most containers)
	// takes the remembered second too, and other zones print their offset.
	zones := []*time.Location{time.UTC, time.FixedZone("UTC", 0), time.FixedZone("CET", 3600), time.FixedZone("NST", -(3*3600 + 1800))}
	for _, loc := range zones {
		for i := range 20 {
			at := start.Add(time.Duration(i) * 337 * time.Millisecond).In(loc)
			want := at.Format("2006-01-02T15:04:05.000Z07:00") // as slog.TextHandler writes it
			if got := string(h.appendTextTimeCached(nil, at)); got != want {
				t.Errorf("appendTextTimeCached at %v: %q, want %q", at, got, want)
			}
			if got := string(appendTextTime(nil, at)); got != want {
				t.Errorf("appendTextTime at %v: %q, want %q", at, got, want)
			}
		}
	}
}
