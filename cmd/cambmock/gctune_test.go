package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gogc reads GOGC as the runtime holds it.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("the runtime has no /gc/gogc:percent metric")
	}
	return int(s[0].Value.Uint64())
}

// waitGOGC collects until GOGC is what ok wants, or fails after 10 s.
func waitGOGC(t *testing.T, what string, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if p := gogc(t); ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s of collections GOGC is %d, not %s", gogc(t), what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGCTuner(t *testing.T) {
	if p := gogc(t); p != 100 {
		t.Skipf("GOGC is %d in this process, not Go's default; the tuner would not run", p)
	}
	const headroom = 256 << 20
	stop := startGCTuner(headroom)
	// A small live heap (this test binary's) gets GOGC of headroom/live,
	// so that it is collected after about headroom more bytes, not after
	// as many as are live.
	p := waitGOGC(t, "well above 100", func(p int) bool { return p >= 1000 })
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	live := s[0].Value.Uint64()
	if want := int(headroom * 100 / max(live, 1<<20)); p < want*9/10 || p > want*11/10 {
		t.Errorf("with %d bytes live GOGC is %d; want about %d, headroom/live", live, p, want)
	}

	// A live heap above the headroom is collected as Go would.
	big := make([]byte, 2*headroom) // live by its size, touched or not
	waitGOGC(t, "100 with more live than the headroom", func(p int) bool { return p == 100 })
	runtime.KeepAlive(big)
	big = nil

	// A second serve in the process shares the first one's tuner: stopping
	// it leaves GOGC tuned.
	stop2 := startGCTuner(headroom)
	stop2()
	stop2() // twice is once
	waitGOGC(t, "tuned again once the big heap is gone", func(p int) bool { return p >= 1000 })

	stop()
	if p := gogc(t); p != 100 {
		t.Errorf("after the last tuner stopped, GOGC is %d; want 100, as before", p)
	}
	runtime.GC()
	runtime.GC()
	if p := gogc(t); p != 100 {
		t.Errorf("collections after the tuner stopped set GOGC to %d", p)
	}
	debug.SetGCPercent(100)
}

// TestServeGCHeadroom checks that serve tunes the collector by default,
// leaves it to GOGC when that is set, and to Go with --gc-headroom 0.
func TestServeGCHeadroom(t *testing.T) {
	t.Parallel()
	const tuned, envSet = "the heap may grow by at least --gc-headroom between garbage collections", "GOGC is set in the environment, so --gc-headroom is not used"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // the debug line logged, or ""
	}{
		{"default", nil, nil, tuned},
		{"GOGC", map[string]string{"GOGC": "50"}, nil, envSet},
		{"zero", nil, []string{"--gc-headroom", "0"}, ""},
		{"env", map[string]string{"CAMBMOCK_GC_HEADROOM": "16"}, nil, tuned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, tc.env, append([]string{"--addr", "127.0.0.1:0", "--log-level", "debug"}, tc.args...)...)
			if err := s.stop(t); err != nil {
				t.Fatalf("run(serve) = %v", err)
			}
			var got []map[string]string
			for _, l := range logLines(t, s.logs.String()) {
				if l["msg"] == tuned || l["msg"] == envSet {
					got = append(got, l)
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("serve logged %q; want the collector left alone", got[0]["msg"])
			case tc.want != "" && (len(got) != 1 || got[0]["msg"] != tc.want):
				t.Errorf("serve logged %v; want one line %q\nlogs:\n%s", got, tc.want, s.logs)
			case tc.name == "env" && got[0]["gc_headroom_mib"] != "16":
				t.Errorf("serve logged gc_headroom_mib=%s; want 16 from CAMBMOCK_GC_HEADROOM", got[0]["gc_headroom_mib"])
			}
		})
	}
}
