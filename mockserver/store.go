package mockserver

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// event kinds in a task's history.
const (
	kindPoll uint8 = iota + 1
	kindResult
	kindFile
)

// event is one answer a task gave, kept compact: a task keeps the last few.
type event struct {
	at     time.Duration // since the task was created
	code   uint16        // HTTP status; 0 for a fault
	step   uint16        // 1-based step of the script that answered; 0 if none
	kind   uint8
	status uint8 // index into statusNames; 0 if none
	fault  uint8 // index into faultNames; 0 if none
}

// statusNames and faultNames index the strings events refer to; a status
// outside the table (off-spec) is kept as statusOther.
var statusNames = [...]cambmock.Status{"", cambmock.StatusPending, cambmock.StatusSuccess, cambmock.StatusError,
	cambmock.StatusTimeout, cambmock.StatusPaymentRequired, cambmock.StatusFailed}

const statusOther = uint8(len(statusNames))

var faultNames = [...]scenarios.Fault{"", scenarios.FaultReset, scenarios.FaultEmpty, scenarios.FaultMalformedJSON,
	scenarios.FaultTruncated, scenarios.FaultHang}

func statusIndex(s cambmock.Status) uint8 {
	for i, n := range statusNames {
		if n == s {
			return uint8(i)
		}
	}
	return statusOther
}

func faultIndex(f scenarios.Fault) uint8 {
	for i, n := range faultNames {
		if n == f {
			return uint8(i)
		}
	}
	return 0
}

// task is one task's state. Its fields after mu are guarded by mu.
type task struct {
	id        string
	sc        *scenario
	created   time.Time
	runID     int64
	seed      uint64        // derived from the prompt; picks the audio
	length    time.Duration // of the audio
	audioType string

	mu        sync.Mutex
	poll      scenarios.Position
	result    scenarios.Position
	polls     int32 // status polls answered
	results   int32 // result requests answered
	succeeded bool  // a SUCCESS with an integer run id was served
	last      cambmock.Status
	served    uint16 // a bit per status served (statusBit)
	conduct   conduct
	history   []event // ring of at most historySize, oldest at head
	head      int
	dropped   int32 // events that fell out of history
}

func (t *task) record(e event, limit int) {
	if limit <= 0 {
		t.dropped++
		return
	}
	if len(t.history) < limit {
		t.history = append(t.history, e)
		return
	}
	t.history[t.head] = e
	t.head = (t.head + 1) % limit
	t.dropped++
}

func (t *task) events() []event {
	out := make([]event, 0, len(t.history))
	out = append(out, t.history[t.head:]...)
	return append(out, t.history[:t.head]...)
}

const shardCount = 64

// store holds tasks and runs, sharded so that concurrent polls of different
// tasks rarely share a lock.
type store struct {
	seed   maphash.Seed
	count  atomic.Int64
	shards [shardCount]shard
}

type shard struct {
	mu    sync.RWMutex
	tasks map[string]*task
	runs  map[int64]*task
}

func newStore() *store {
	s := &store{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].tasks = make(map[string]*task)
		s.shards[i].runs = make(map[int64]*task)
	}
	return s
}

func (s *store) shardOf(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%shardCount]
}

func (s *store) runShard(id int64) *shard {
	return &s.shards[uint64(id)%shardCount]
}

func (s *store) get(id string) *task {
	sh := s.shardOf(id)
	sh.mu.RLock()
	t := sh.tasks[id]
	sh.mu.RUnlock()
	return t
}

// add stores t unless its id is taken or the store holds limit tasks.
func (s *store) add(t *task, limit int) (taken, full bool) {
	sh := s.shardOf(t.id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.tasks[t.id] != nil {
		return true, false
	}
	if s.count.Add(1) > int64(limit) {
		s.count.Add(-1)
		return false, true
	}
	sh.tasks[t.id] = t
	return false, false
}

func (s *store) setRun(id int64, t *task) {
	sh := s.runShard(id)
	sh.mu.Lock()
	sh.runs[id] = t
	sh.mu.Unlock()
}

func (s *store) run(id int64) *task {
	sh := s.runShard(id)
	sh.mu.RLock()
	t := sh.runs[id]
	sh.mu.RUnlock()
	return t
}

func (s *store) reset() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.tasks = make(map[string]*task)
		sh.runs = make(map[int64]*task)
		sh.mu.Unlock()
	}
	s.count.Store(0)
}

// all returns every task, in no particular order.
func (s *store) all() []*task {
	var out []*task
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, t := range sh.tasks {
			out = append(out, t)
		}
		sh.mu.RUnlock()
	}
	return out
}
