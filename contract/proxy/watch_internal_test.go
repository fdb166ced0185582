package proxy

import (
	"fmt"
	"testing"
	"time"
)

// TestWatchBounds: the proxy remembers the newest maxWatched tasks, and
// forgets the oldest with their runs, counting them.
func TestWatchBounds(t *testing.T) {
	var wt watch
	now := time.Now()
	for i := range maxWatched + 5 {
		tk := wt.task(fmt.Sprintf("t%d", i), "text-to-sound", now)
		tk.runs = []string{fmt.Sprint(i)}
		wt.runs[fmt.Sprint(i)] = tk
	}
	if len(wt.tasks) != maxWatched || len(wt.order) != maxWatched || wt.forgotten != 5 {
		t.Errorf("after %d tasks: %d kept, %d in order, %d forgotten; want %d, %d, 5", maxWatched+5, len(wt.tasks), len(wt.order), wt.forgotten, maxWatched, maxWatched)
	}
	if _, ok := wt.tasks["t4"]; ok {
		t.Errorf("the 5th oldest task is still kept")
	}
	if _, ok := wt.runs["4"]; ok || len(wt.runs) != maxWatched {
		t.Errorf("the runs of forgotten tasks are kept: %d runs", len(wt.runs))
	}
	for i := range maxWatchJournal + 3 {
		wt.add(watchEntry{Path: fmt.Sprint(i)})
	}
	if len(wt.journal) != maxWatchJournal || wt.jtotal != maxWatchJournal+3 {
		t.Errorf("the journal holds %d of %d; want %d", len(wt.journal), wt.jtotal, maxWatchJournal)
	}
}
