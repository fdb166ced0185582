package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// defaultGCHeadroomMiB is how much the heap of cambmock serve may grow
// between collections, at least, unless --gc-headroom says otherwise.
const defaultGCHeadroomMiB = 64

// A gcTuner lets the heap grow by at least headroom bytes between
// collections. Go's collector, by default, runs again once the heap has
// grown by as much as was live after the last collection (GOGC=100): for a
// mock whose live heap is a few megabytes, that is a collection every few
// thousand requests, each paid for on the request path (marking, assists,
// write barriers). After each collection the tuner sets GOGC to
// headroom/live, never below 100: a small heap is collected after headroom
// more bytes, a heap larger than headroom as Go would anyway. A memory
// limit (GOMEMLIMIT) still has the collector run early when it is near.
//
// GOGC is the process's: while any tuner runs, the first one started sets
// it, and the last one stopped puts back what was there before.
type gcTuner struct {
	headroom uint64
	mu       sync.Mutex
	stopped  bool
	percent  int // what the tuner last set
	sample   []metrics.Sample
}

// gcTuning counts the tuners started in this process (serve runs more than
// once in the tests), since GOGC is one for the whole process.
var gcTuning struct {
	sync.Mutex
	running int
	tuner   *gcTuner
	before  int // GOGC before the first tuner
}

// startGCTuner starts tuning GOGC for headroom bytes between collections;
// stop ends it.
func startGCTuner(headroom uint64) (stop func()) {
	gcTuning.Lock()
	defer gcTuning.Unlock()
	gcTuning.running++
	if gcTuning.running == 1 {
		t := &gcTuner{headroom: headroom, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		gcTuning.before = debug.SetGCPercent(100)
		debug.SetGCPercent(gcTuning.before)
		gcTuning.tuner = t
		t.tune()
		t.arm()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			gcTuning.Lock()
			defer gcTuning.Unlock()
			gcTuning.running--
			if gcTuning.running == 0 {
				t := gcTuning.tuner
				t.mu.Lock()
				t.stopped = true
				t.mu.Unlock()
				debug.SetGCPercent(gcTuning.before)
				gcTuning.tuner = nil
			}
		})
	}
}

// gcSentinel is garbage as soon as it is made; its cleanup runs after the
// collection that finds it. (A pointer keeps it out of the tiny-object
// allocator, which would batch it with others.)
type gcSentinel struct{ _ *byte }

// arm has tune run after the next collection, and arm again.
func (t *gcTuner) arm() {
	runtime.AddCleanup(new(gcSentinel), func(t *gcTuner) {
		if t.tune() {
			t.arm()
		}
	}, t)
}

// tune sets GOGC for the live heap of the last collection, and reports
// whether the tuner still runs.
func (t *gcTuner) tune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	live := uint64(1 << 20) // before the first collection, or an unknown metric
	if v := t.sample[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() > live {
		live = v.Uint64()
	}
	percent := int(min(t.headroom*100/live, 1<<20))
	percent = max(percent, 100)
	// Within a twentieth of the last setting is left as it is: setting
	// GOGC takes the heap lock.
	if d := percent - t.percent; d*20 > t.percent || -d*20 > t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
	return true
}
