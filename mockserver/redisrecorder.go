package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cambmock/cambmock/mockserver/judge"
)

// The recorder writes what a replica's answers delivered (their events,
// the journal, the admin stream's events) to Redis in batches, one script
// call per batch, so that recording adds no round trip to an answer. It
// keeps their order. A history in Redis is ordered by each event's Seq,
// given when the request arrived, so batches of several replicas
// interleave without disorder. The replica's own reads of the store wait
// for what it has queued (flush); waiters of any replica are woken by the
// batch's script once the events are written.
//
// When Redis is away, the recorder keeps its queue (up to recMaxQueue
// operations, for up to recMaxAge) and writes it when Redis is back.

const (
	recMaxQueue = 1 << 17
	recMaxBatch = 256
	recMaxAge   = 5 * time.Minute
)

// recOp is one operation of record.lua: its letter and arguments.
type recOp struct {
	kind byte
	id   string
	args []any
	at   time.Time
}

type recorder struct {
	r        *redisStore
	mu       sync.Mutex
	queue    []recOp
	added    uint64        // operations queued, ever
	done     uint64        // operations written or given up
	progress chan struct{} // closed when done moves
	dropped  int           // operations refused since the last warning
	signal   chan struct{}
	failing  atomic.Bool // the last write found Redis away
	closed   bool        // the store is closed: nothing more is queued
}

func newRecorder(r *redisStore) *recorder {
	return &recorder{r: r, progress: make(chan struct{}), signal: make(chan struct{}, 1)}
}

func (q *recorder) add(op recOp) {
	op.at = time.Now()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.queue) >= recMaxQueue {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.queue = append(q.queue, op)
	q.added++
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// flush waits until what was queued before the call is written, or ctx
// ends, or a bound passes (Redis is away: the caller's own request will
// say so).
func (q *recorder) flush(ctx context.Context) error {
	if q.failing.Load() {
		return nil
	}
	bound := time.NewTimer(2 * redisIOTimeout)
	defer bound.Stop()
	q.mu.Lock()
	target := q.added
	for q.done < target {
		ch := q.progress
		q.mu.Unlock()
		select {
		case <-ch:
		case <-bound.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	return nil
}

// close writes what is queued, within ctx; what comes after is dropped
// (a closed server answers on, its store gone).
func (q *recorder) close(ctx context.Context) {
	q.flush(ctx)
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// run writes batches until ctx ends.
func (q *recorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.signal:
		}
		for ctx.Err() == nil {
			q.mu.Lock()
			n := min(len(q.queue), recMaxBatch)
			batch := make([]recOp, n)
			copy(batch, q.queue)
			q.queue = q.queue[n:]
			if len(q.queue) == 0 {
				q.queue = nil
			}
			dropped := q.dropped
			q.dropped = 0
			q.mu.Unlock()
			if dropped > 0 {
				q.r.log.Warn("the recorder's queue is full: answers were not recorded", "store", q.r.name, "dropped", dropped)
			}
			if n == 0 {
				break
			}
			q.write(ctx, batch)
			q.mu.Lock()
			q.done += uint64(n)
			close(q.progress)
			q.progress = make(chan struct{})
			q.mu.Unlock()
		}
	}
}

func (q *recorder) write(ctx context.Context, batch []recOp) {
	r := q.r
	args := make([]any, 0, 1+10*len(batch))
	args = append(args, r.replica)
	for _, op := range batch {
		args = append(args, op.args...)
	}
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, 2*redisIOTimeout)
		v, err := r.run(wctx, r.sc.record, args...)
		cancel()
		if err == nil {
			q.failing.Store(false)
			for _, key := range strs(v) {
				gen, id, _ := strings.Cut(key, " ")
				r.fold(ctx, gen, id)
			}
			if r.cfg.waiting() {
				for _, op := range batch {
					if op.kind == 'd' || op.kind == 'u' {
						r.cfg.wake(op.id)
					}
				}
			}
			return
		}
		err = r.fail(err)
		if !errors.Is(err, errStoreDown) || ctx.Err() != nil || time.Since(batch[0].at) > recMaxAge {
			r.log.Warn("answers could not be recorded", "store", r.name, "operations", len(batch), "err", err)
			return
		}
		q.failing.Store(true)
		if attempt == 0 {
			r.log.Warn("the task store is away; recording waits for it", "store", r.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(100*time.Millisecond<<min(attempt, 4), time.Second)):
		}
	}
}

// foldChunk is how many events beyond its limit a history folds at once,
// so that a long history folds once every so many answers.
func (r *redisStore) foldChunk() int {
	return min(max(r.cfg.historyLimit/8, 4), r.cfg.historyLimit)
}

// fold folds the oldest events of a task's history into its tally, as
// judge.History.Fold does, when it keeps more than the fleet allows: read
// them, fold them here, and replace them in one script if nothing changed
// them meanwhile (else again).
func (r *redisStore) fold(ctx context.Context, gen, id string) {
	for range 5 {
		fctx, cancel := context.WithTimeout(ctx, 2*redisIOTimeout)
		done := r.foldOnce(fctx, gen, id)
		cancel()
		if done {
			return
		}
	}
}

func (r *redisStore) foldOnce(ctx context.Context, gen, id string) bool {
	v, err := r.sc.foldRead.Run(ctx, r.rdb, r.keys, gen, id, r.foldChunk()).Slice()
	if err != nil {
		return true // Redis is away: the next record folds
	}
	if len(v) < 3 {
		return true
	}
	h := judge.History{Scale: r.cfg.scale, Manual: r.cfg.manual}
	if t := str(v[0]); t != "" {
		json.Unmarshal([]byte(t), &h.Earlier)
	}
	members := strs(v[2:])
	for _, m := range members {
		if ev, ok := r.decodeEvent(m); ok {
			h.Events = append(h.Events, ev)
		}
	}
	h.Fold(len(h.Events), r.cfg.spec)
	tally, err := json.Marshal(h.Earlier)
	if err != nil {
		return true
	}
	args := make([]any, 0, 4+len(members))
	args = append(args, gen, id, str(v[1]), tally)
	for _, m := range members {
		args = append(args, m)
	}
	ok, err := r.sc.foldCommit.Run(ctx, r.rdb, r.keys, args...).Int()
	return err != nil || ok == 1
}
