package mockserver

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// The memory store keeps a million tasks in a few hundred bytes each, in
// memory the garbage collector does not scan: tasks are fixed-size records
// without pointers in chunks, found by index; ids map to indices in maps
// whose keys and values hold no pointers; a task's history is a chain of
// fixed-size blocks of compact events, allocated when the task is first
// answered and bounded per task and in all.

const (
	chunkBits  = 12
	chunkSize  = 1 << chunkBits
	lockCount  = 1024
	shardCount = 32
	blockLen   = 4 // events per history block
)

// flags of a record.
const (
	fLive      uint8 = 1 << iota // the slot holds a task
	fCustom                      // its id is not a canonical UUID: see names
	fSucceeded                   // a reply with an integer run id was served
	fTally                       // events were folded: see tallies
)

// pos is a scripts.Position, compact.
type pos struct {
	since  int64
	served uint32
	step   uint16
}

func (p pos) position() scenarios.Position {
	return scenarios.Position{Step: int(p.step), Served: int(p.served), Since: time.Duration(p.since)}
}

func toPos(p scenarios.Position) pos {
	return pos{since: int64(p.Since), served: uint32(min(p.Served, math.MaxUint32)), step: uint16(min(p.Step, math.MaxUint16))}
}

// rec is one task. Its fields are guarded by the task's stripe lock.
type rec struct {
	uuid     [16]byte
	created  int64 // scenario clock, unix nanoseconds
	real     int64 // real clock, nanoseconds since the store began
	runID    int64
	seed     uint64
	length   int64
	last     int64 // scenario clock of the last request, for expiry
	poll     pos
	result   pos
	arrived  uint32 // status polls arrived
	polls    uint32 // status polls answered
	rarrived uint32 // result requests arrived
	results  uint32 // result requests answered
	fetched  uint32 // results delivered whole
	seq      uint32 // requests arrived
	served   uint64 // a bit per status index delivered
	head     uint32 // the oldest history block; 0: none
	tail     uint32 // the newest
	kept     uint32 // events in the blocks
	scenario uint16
	kind     uint8
	audio    uint8 // index into memState.audioTypes
	lastSt   uint8 // the last status delivered, as an index
	step     uint16
	items    uint16
	flags    uint8
}

// cevent is a judge.Event, compact.
type cevent struct {
	at, real   int64
	sent       int64  // nanoseconds after at
	realSent   uint32 // microseconds after real, saturated
	retryAfter int32  // milliseconds; -1 for none
	seq        uint32
	code, step uint16
	status     uint8
	fault      uint8
	endpoint   uint8
	flags      uint8 // 1: delivered, 2: early
}

type block struct {
	ev   [blockLen]cevent
	next uint32
	n    uint8
}

var endpoints = [...]judge.Endpoint{judge.Poll, judge.Result, judge.File}

func endpointIndex(e judge.Endpoint) uint8 {
	for i, n := range endpoints {
		if n == e {
			return uint8(i)
		}
	}
	return 0
}

func micros(d judge.Duration) uint32 {
	return uint32(min(max(time.Duration(d)/time.Microsecond, 0), math.MaxUint32))
}

// storeConfig is what a store needs of its server.
type storeConfig struct {
	scenarios    []*scenario
	kinds        []string
	statuses     *statusTable
	clock        scenarios.Clock
	spec         *cambmock.Spec
	scale        float64
	manual       bool
	maxTasks     int
	historyLimit int // events kept per task
	eventBudget  int // events kept in all
	ttl          time.Duration
	journalSize  int
	wake         func(id string) // called after a task changes ("" for the set of tasks), when someone waits
	wakeAll      func()
	waiting      func() bool
	// remote, for a store that replicas share, hands the server an event
	// another replica published (see bus.publish); nil otherwise.
	remote func(kind string, msg []byte)
}

// memStore is the in-process store.
type memStore struct {
	cfg   storeConfig
	state atomic.Pointer[memState]
	seed  maphash.Seed
	start time.Time // the real clock's origin
	nextR atomic.Int64
	jr    *journal
	sys   bool // the scenario clock is the real one
}

// memState is everything a reset forgets. Tickets keep the state they came
// from, so a delivery in flight during a reset lands in the old one.
type memState struct {
	locks   [lockCount]sync.Mutex
	chunks  []atomic.Pointer[[chunkSize]rec]
	blocks  blockSlab
	ids     [shardCount]idShard
	runs    [shardCount]runShard
	count   atomic.Int64
	unknown atomic.Int64

	alloc sync.Mutex // guards next, free and chunk creation
	next  uint32     // the next slot never used; slot 0 is never used
	free  []uint32

	side       sync.Mutex // guards names, tallies and writes to audioTypes
	names      map[uint32]string
	tallies    map[uint32]*judge.Tally
	audioTypes atomic.Pointer[[]string] // only ever grows: read without the lock

	create  []createState // per scenario
	started time.Time     // the scenario clock at the reset
}

type createState struct {
	mu  sync.Mutex
	pos scenarios.Position
	n   int
}

type idShard struct {
	mu    sync.RWMutex
	uuids map[[16]byte]uint32
	names map[string]uint32
}

type runShard struct {
	mu   sync.RWMutex
	runs map[int64]uint32
}

// blockSlab holds history blocks in chunks that never move, so a block
// is reached without a lock; mu guards next and free.
type blockSlab struct {
	mu     sync.Mutex
	chunks []atomic.Pointer[[chunkSize]block]
	next   uint32
	free   []uint32
	limit  uint32
}

func newMemStore(cfg storeConfig) *memStore {
	m := &memStore{cfg: cfg, seed: maphash.MakeSeed(), start: time.Now(), jr: newJournal(cfg.journalSize), sys: cfg.clock == scenarios.SystemClock()}
	m.nextR.Store(100000)
	m.state.Store(m.newState())
	return m
}

func (m *memStore) newState() *memState {
	st := &memState{
		chunks:  make([]atomic.Pointer[[chunkSize]rec], (m.cfg.maxTasks+chunkSize)/chunkSize+1),
		next:    1,
		names:   map[uint32]string{},
		tallies: map[uint32]*judge.Tally{},
		create:  make([]createState, len(m.cfg.scenarios)),
		started: m.cfg.clock.Now(),
	}
	st.audioTypes.Store(&[]string{""})
	st.blocks.next = 1
	st.blocks.limit = uint32(max(m.cfg.eventBudget/blockLen, 1))
	st.blocks.chunks = make([]atomic.Pointer[[chunkSize]block], st.blocks.limit/chunkSize+1)
	for i := range st.ids {
		st.ids[i].uuids = map[[16]byte]uint32{}
		st.ids[i].names = map[string]uint32{}
		st.runs[i].runs = map[int64]uint32{}
	}
	return st
}

func (m *memStore) clock() scenarios.Clock { return m.cfg.clock }

func (m *memStore) close() error { return nil }

// broadcast has nothing to do: every listener of a memory store's server
// is local.
func (m *memStore) broadcast(kind string, msg []byte) {}

func (m *memStore) journal() journaler { return m.jr }

func (m *memStore) realNow() int64 { return int64(time.Since(m.start)) }

// now reads the scenario clock (unix nanoseconds) and the real one
// (nanoseconds since the store began): with one call to time.Now when
// the scenario clock is the real one.
func (m *memStore) now() (scenario, real int64) {
	if m.sys {
		t := time.Now()
		return t.UnixNano(), int64(t.Sub(m.start))
	}
	return m.cfg.clock.Now().UnixNano(), m.realNow()
}

func (st *memState) rec(idx uint32) *rec {
	return &st.chunks[idx>>chunkBits].Load()[idx&(chunkSize-1)]
}

func (st *memState) lock(idx uint32) *sync.Mutex { return &st.locks[idx%lockCount] }

// parseUUID reads a canonical (lowercase) UUID.
func parseUUID(id string) ([16]byte, bool) {
	var u [16]byte
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, lo := unhex(id[i]), unhex(id[i+1])
		if hi > 15 || lo > 15 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

// unhex is the value of a lowercase hex digit, or 255.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 255
}

func formatUUID(u [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// newTaskID returns a random id shaped like a UUID, as the live API's are.
func newTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func (m *memStore) idShard(st *memState, id string) *idShard {
	return &st.ids[maphash.String(m.seed, id)%shardCount]
}

func (st *memState) runShard(run int64) *runShard { return &st.runs[uint64(run)%shardCount] }

// taskKey is a task id as the store looks it up: a canonical UUID as its
// 16 bytes, any other id as it is.
type taskKey struct {
	id   string
	uuid [16]byte
	ok   bool // id is a canonical UUID
}

func keyOf(id string) taskKey {
	u, ok := parseUUID(id)
	return taskKey{id: id, uuid: u, ok: ok}
}

// lookup finds a task's slot.
func (m *memStore) lookup(st *memState, id string) (uint32, bool) {
	return m.lookupKey(st, keyOf(id))
}

func (m *memStore) lookupKey(st *memState, k taskKey) (uint32, bool) {
	sh := m.idShard(st, k.id)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if k.ok {
		idx, found := sh.uuids[k.uuid]
		return idx, found
	}
	idx, found := sh.names[k.id]
	return idx, found
}

// idOf returns a record's id; r's lock is held.
func (st *memState) idOf(idx uint32, r *rec) string {
	if r.flags&fCustom == 0 {
		return formatUUID(r.uuid)
	}
	st.side.Lock()
	defer st.side.Unlock()
	return st.names[idx]
}

// is reports whether r holds the task id; r's lock is held.
func (st *memState) is(idx uint32, r *rec, id string) bool {
	return st.isKey(idx, r, keyOf(id))
}

func (st *memState) isKey(idx uint32, r *rec, k taskKey) bool {
	if r.flags&fLive == 0 {
		return false
	}
	if r.flags&fCustom == 0 {
		return k.ok && k.uuid == r.uuid
	}
	return st.idOf(idx, r) == k.id
}

func (st *memState) audioIndex(t string) uint8 {
	if i := slices.Index(*st.audioTypes.Load(), t); i >= 0 {
		return uint8(i)
	}
	st.side.Lock()
	defer st.side.Unlock()
	types := *st.audioTypes.Load()
	if i := slices.Index(types, t); i >= 0 {
		return uint8(i)
	}
	if len(types) >= 255 {
		return 0
	}
	grown := append(slices.Clone(types), t)
	st.audioTypes.Store(&grown)
	return uint8(len(grown) - 1)
}

func (st *memState) audioName(i uint8) string {
	if types := *st.audioTypes.Load(); int(i) < len(types) {
		return types[i]
	}
	return ""
}

func (m *memStore) expired(r *rec, now int64) bool {
	return m.cfg.ttl > 0 && now-r.last > int64(m.cfg.ttl)
}

func (m *memStore) create(ctx context.Context, spec taskSpec) (taskMeta, error) {
	st := m.state.Load()
	if spec.id == "" {
		spec.id = newTaskID()
	}
	u, canonical := parseUUID(spec.id)
	sh := m.idShard(st, spec.id)
	sh.mu.Lock()
	_, takenU := sh.uuids[u]
	_, takenN := sh.names[spec.id]
	if canonical && takenU || !canonical && takenN {
		sh.mu.Unlock()
		// A task that has expired gives its id back.
		if idx, ok := m.lookup(st, spec.id); ok && m.sweepOne(st, idx, spec.id) {
			return m.create(ctx, spec)
		}
		return taskMeta{}, fmt.Errorf("%w: %q", ErrTaskExists, spec.id)
	}
	idx, err := m.allocate(st)
	if err != nil {
		sh.mu.Unlock()
		return taskMeta{}, err
	}
	if canonical {
		sh.uuids[u] = idx
	} else {
		sh.names[spec.id] = idx
	}
	sh.mu.Unlock()

	now := m.cfg.clock.Now()
	run := m.nextR.Add(1)
	mu := st.lock(idx)
	mu.Lock()
	r := st.rec(idx)
	*r = rec{uuid: u, created: now.UnixNano(), real: m.realNow(), runID: run, seed: spec.seed, length: int64(spec.length),
		last: now.UnixNano(), scenario: spec.scenario, kind: spec.kind, audio: st.audioIndex(spec.audioType), flags: fLive,
		items: uint16(min(max(spec.items, 0), math.MaxUint16))}
	if !canonical {
		r.flags |= fCustom
		st.side.Lock()
		st.names[idx] = spec.id
		st.side.Unlock()
	}
	mu.Unlock()
	rs := st.runShard(run)
	rs.mu.Lock()
	rs.runs[run] = idx
	rs.mu.Unlock()
	if m.cfg.waiting() {
		m.cfg.wake("")
	}
	return taskMeta{id: spec.id, scenario: spec.scenario, kind: spec.kind, runID: run, seed: spec.seed, length: spec.length,
		audioType: spec.audioType, items: int(r.items), created: now}, nil
}

// allocate takes a free slot, sweeping expired tasks when the store is full.
func (m *memStore) allocate(st *memState) (uint32, error) {
	if st.count.Add(1) > int64(m.cfg.maxTasks) {
		st.count.Add(-1)
		if m.cfg.ttl > 0 && m.sweep(st) > 0 {
			return m.allocate(st)
		}
		return 0, fmt.Errorf("%w: the mock holds %d tasks, its limit; reset it (POST /__admin/reset), raise the limit (--max-tasks) or let tasks expire (--task-ttl)", ErrFull, m.cfg.maxTasks)
	}
	st.alloc.Lock()
	defer st.alloc.Unlock()
	if n := len(st.free); n > 0 {
		idx := st.free[n-1]
		st.free = st.free[:n-1]
		return idx, nil
	}
	idx := st.next
	st.next++
	c := &st.chunks[idx>>chunkBits]
	if c.Load() == nil {
		c.Store(new([chunkSize]rec))
	}
	return idx, nil
}

func (m *memStore) createStep(ctx context.Context, sc *scenario) (scenarios.Step, int, int, bool, error) {
	st := m.state.Load()
	cs := &st.create[sc.index]
	elapsed := m.cfg.clock.Now().Sub(st.started)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	step, next, ok := sc.Create.At(cs.pos, elapsed)
	cs.pos = next
	n := cs.n
	cs.n++
	return step, next.Step, n, ok, nil
}

// memRef is a memory store's handle on a task in a ticket.
type memRef struct {
	st  *memState
	idx uint32
	id  string
}

func (m *memStore) poll(ctx context.Context, id string, kind uint8) (ticket, error) {
	st := m.state.Load()
	key := keyOf(id)
	idx, ok := m.lookupKey(st, key)
	if !ok {
		return ticket{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
	}
	mu := st.lock(idx)
	mu.Lock()
	r := st.rec(idx)
	now, realNow := m.now()
	if !st.isKey(idx, r, key) || m.expired(r, now) {
		mu.Unlock()
		m.sweepOne(st, idx, id)
		return ticket{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
	}
	if r.kind != kind {
		k := r.kind
		mu.Unlock()
		return ticket{}, fmt.Errorf("task %q is a %s task: %w", id, m.cfg.kinds[k], errWrongKind)
	}
	sc := m.cfg.scenarios[r.scenario]
	elapsed := time.Duration(now - r.created)
	step, next, _ := sc.Poll.At(r.poll.position(), elapsed)
	r.poll = toPos(next)
	r.step = uint16(min(next.Step+1, math.MaxUint16))
	n := r.arrived
	r.arrived++
	r.seq++
	r.last = now
	if step.Reply != nil {
		m.noteRunID(st, idx, r, step.Reply)
	}
	t := ticket{meta: m.meta(st, idx, r, id), index: next.Step, n: int(n), at: elapsed, real: time.Duration(realNow - r.real),
		endpoint: judge.Poll, mem: memRef{st, idx, id}, seq: int(r.seq)}
	mu.Unlock()
	return t, nil
}

// noteRunID notes the run a reply names: an allocated one, or a fixed
// integer that becomes the task's run. r's lock is held.
func (m *memStore) noteRunID(st *memState, idx uint32, r *rec, reply *scenarios.Reply) {
	if reply.RunID.Auto {
		r.flags |= fSucceeded
		return
	}
	v, ok := fixedRunID(reply)
	if !ok {
		return
	}
	r.flags |= fSucceeded
	if v != r.runID {
		old := st.runShard(r.runID)
		old.mu.Lock()
		if old.runs[r.runID] == idx {
			delete(old.runs, r.runID)
		}
		old.mu.Unlock()
		r.runID = v
		rs := st.runShard(v)
		rs.mu.Lock()
		rs.runs[v] = idx
		rs.mu.Unlock()
	}
}

func (m *memStore) meta(st *memState, idx uint32, r *rec, id string) taskMeta {
	return taskMeta{id: id, scenario: r.scenario, kind: r.kind, runID: r.runID, seed: r.seed, length: time.Duration(r.length),
		audioType: st.audioName(r.audio), items: int(r.items), created: time.Unix(0, r.created).In(time.UTC)}
}

func (m *memStore) result(ctx context.Context, run int64, kinds []uint8, file bool) (ticket, error) {
	st := m.state.Load()
	rs := st.runShard(run)
	rs.mu.RLock()
	idx, ok := rs.runs[run]
	rs.mu.RUnlock()
	if !ok {
		if !file {
			st.unknown.Add(1)
		}
		return ticket{}, fmt.Errorf("run %d: %w", run, errNoRun)
	}
	mu := st.lock(idx)
	mu.Lock()
	r := st.rec(idx)
	now := m.cfg.clock.Now().UnixNano()
	if r.flags&fLive == 0 || m.expired(r, now) || r.runID != run {
		mu.Unlock()
		if !file {
			st.unknown.Add(1)
		}
		return ticket{}, fmt.Errorf("run %d: %w", run, errNoRun)
	}
	id := st.idOf(idx, r)
	if !slices.Contains(kinds, r.kind) {
		k := r.kind
		mu.Unlock()
		return ticket{}, fmt.Errorf("run %d is a run of a %s task: %w", run, m.cfg.kinds[k], errWrongKind)
	}
	sc := m.cfg.scenarios[r.scenario]
	elapsed := time.Duration(now - r.created)
	r.seq++
	t := ticket{index: -1, at: elapsed, real: time.Duration(m.realNow() - r.real), ready: r.flags&fSucceeded != 0,
		endpoint: judge.Result, mem: memRef{st, idx, id}, seq: int(r.seq)}
	if file {
		t.endpoint = judge.File
	} else {
		t.n = int(r.rarrived)
		r.rarrived++
		if t.ready {
			_, next, scripted := sc.Result.At(r.result.position(), elapsed)
			if scripted {
				t.index = next.Step
			}
			r.result = toPos(next)
		}
	}
	r.last = now
	t.meta = m.meta(st, idx, r, id)
	mu.Unlock()
	return t, nil
}

func (m *memStore) deliver(ctx context.Context, t *ticket, ev judge.Event) {
	ref := t.mem
	if ref.st == nil {
		return
	}
	st := ref.st
	mu := st.lock(ref.idx)
	mu.Lock()
	r := st.rec(ref.idx)
	if !st.is(ref.idx, r, ref.id) {
		mu.Unlock()
		return
	}
	switch ev.Endpoint {
	case judge.Poll:
		r.polls++
		if ev.Delivered && ev.Status != "" {
			i := m.cfg.statuses.index(ev.Status)
			r.served |= 1 << i
			r.lastSt = i
		}
	case judge.Result, judge.File:
		if ev.Endpoint == judge.Result {
			r.results++
		}
		if ev.Delivered && ev.Code >= 200 && ev.Code < 300 && ev.Fault == "" {
			r.fetched++
		}
	}
	m.record(st, ref.idx, r, ev)
	mu.Unlock()
	if m.cfg.waiting() {
		m.cfg.wake(ref.id)
	}
}

func (m *memStore) undeliver(ctx context.Context, t *ticket) {
	ref := t.mem
	if ref.st == nil {
		return
	}
	st := ref.st
	mu := st.lock(ref.idx)
	mu.Lock()
	defer mu.Unlock()
	r := st.rec(ref.idx)
	if !st.is(ref.idx, r, ref.id) {
		return
	}
	var c *cevent
	for bb := st.blocks.get(r.head); bb != nil; bb = st.blocks.get(bb.next) {
		for j := range bb.n {
			if e := &bb.ev[j]; e.seq == uint32(t.seq) && e.flags&1 != 0 {
				c = e
			}
		}
	}
	if c == nil {
		return
	}
	c.flags &^= 1
	switch t.endpoint {
	case judge.Poll:
		// The status did not reach the client: it no longer counts as served,
		// unless an earlier answer delivered it.
		i := c.status
		seen := false
		for bb := st.blocks.get(r.head); bb != nil; bb = st.blocks.get(bb.next) {
			for j := range bb.n {
				if e := &bb.ev[j]; e != c && e.status == i && e.flags&1 != 0 {
					seen = true
				}
			}
		}
		if !seen && i != 0 {
			r.served &^= 1 << i
		}
	default:
		if c.code >= 200 && c.code < 300 && r.fetched > 0 {
			r.fetched--
		}
	}
}

// record appends ev to the task's history, folding the oldest block into
// the task's tally when the task or the store keeps as many as allowed.
// r's lock is held.
func (m *memStore) record(st *memState, idx uint32, r *rec, ev judge.Event) {
	c := cevent{seq: uint32(ev.Seq), at: int64(ev.At), real: int64(ev.Real), sent: int64(ev.Sent - ev.At), realSent: micros(ev.RealSent - ev.Real),
		retryAfter: -1, code: uint16(ev.Code), step: uint16(min(ev.Step, math.MaxUint16)), status: m.cfg.statuses.index(ev.Status),
		fault: faultIndex(ev.Fault), endpoint: endpointIndex(ev.Endpoint)}
	if ev.RetryAfter != nil {
		c.retryAfter = int32(min(time.Duration(*ev.RetryAfter)/time.Millisecond, math.MaxInt32))
	}
	if ev.Delivered {
		c.flags |= 1
	}
	if ev.Early {
		c.flags |= 2
	}
	b := st.blocks.get(r.tail)
	if b == nil || b.n == blockLen {
		var nb uint32
		if int(r.kept)+blockLen <= m.cfg.historyLimit {
			nb = st.blocks.alloc()
		}
		if nb == 0 {
			if r.head == 0 {
				// Nothing kept and nothing to reuse: fold this one event.
				m.fold(st, idx, r, []judge.Event{ev})
				return
			}
			// Reuse the oldest block: fold its events first.
			nb = r.head
			old := st.blocks.get(nb)
			m.fold(st, idx, r, m.events(old))
			r.kept -= uint32(old.n)
			r.head = old.next
			if r.head == 0 {
				r.tail = 0
			}
			*old = block{}
		}
		if r.tail != 0 {
			st.blocks.get(r.tail).next = nb
		} else {
			r.head = nb
		}
		r.tail = nb
		b = st.blocks.get(nb)
	}
	b.ev[b.n] = c
	b.n++
	r.kept++
}

func (m *memStore) fold(st *memState, idx uint32, r *rec, evs []judge.Event) {
	st.side.Lock()
	defer st.side.Unlock()
	t := st.tallies[idx]
	if t == nil {
		t = &judge.Tally{}
		st.tallies[idx] = t
		r.flags |= fTally
	}
	h := judge.History{Scale: m.cfg.scale, Manual: m.cfg.manual, Earlier: *t, Events: evs}
	h.Fold(len(evs), m.cfg.spec)
	*t = h.Earlier
}

func (m *memStore) events(b *block) []judge.Event {
	out := make([]judge.Event, 0, b.n)
	for _, c := range b.ev[:b.n] {
		e := judge.Event{Seq: int(c.seq), Endpoint: endpoints[c.endpoint], At: judge.Duration(c.at), Real: judge.Duration(c.real),
			Sent: judge.Duration(c.at + c.sent), RealSent: judge.Duration(c.real + int64(c.realSent)*int64(time.Microsecond)),
			Code: int(c.code), Step: int(c.step), Status: m.cfg.statuses.name(c.status), Fault: faultNames[c.fault],
			Delivered: c.flags&1 != 0, Early: c.flags&2 != 0}
		if c.retryAfter >= 0 {
			d := judge.Duration(time.Duration(c.retryAfter) * time.Millisecond)
			e.RetryAfter = &d
		}
		out = append(out, e)
	}
	return out
}

func (b *blockSlab) get(i uint32) *block {
	if i == 0 {
		return nil
	}
	return &b.chunks[(i-1)/chunkSize].Load()[(i-1)%chunkSize]
}

// alloc returns a free block, or 0 when the slab holds its limit.
func (b *blockSlab) alloc() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.free); n > 0 {
		i := b.free[n-1]
		b.free = b.free[:n-1]
		return i
	}
	if b.next > b.limit {
		return 0
	}
	i := b.next
	b.next++
	if c := &b.chunks[(i-1)/chunkSize]; c.Load() == nil {
		c.Store(new([chunkSize]block))
	}
	return i
}

func (b *blockSlab) release(i uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.get(i) = block{}
	b.free = append(b.free, i)
}

// snapshotOf builds a snapshot of a task; r's lock is held.
func (m *memStore) snapshotOf(st *memState, idx uint32, r *rec, id string, now int64, history bool) snapshot {
	sc := m.cfg.scenarios[r.scenario]
	sn := snapshot{meta: m.meta(st, idx, r, id), elapsed: time.Duration(now - r.created), polls: int(r.polls),
		results: int(r.results), fetched: int(r.fetched), step: int(r.step), succeeded: r.flags&fSucceeded != 0,
		inFlight: int(r.arrived-r.polls) + int(r.rarrived-r.results),
		served:   map[string]bool{}}
	if r.lastSt != 0 {
		sn.last = string(m.cfg.statuses.name(r.lastSt))
	}
	for i := range m.cfg.statuses.len() {
		if r.served&(1<<i) != 0 {
			sn.served[string(m.cfg.statuses.name(uint8(i)))] = true
		}
	}
	if m.cfg.ttl > 0 {
		sn.expires = time.Unix(0, r.last).Add(m.cfg.ttl).In(time.UTC)
	}
	if history {
		h := judge.History{Task: id, Scenario: sc.Name, Kind: m.cfg.kinds[r.kind], Scale: m.cfg.scale, Manual: m.cfg.manual, Events: []judge.Event{}}
		for b := st.blocks.get(r.head); b != nil; b = st.blocks.get(b.next) {
			h.Events = append(h.Events, m.events(b)...)
		}
		slices.SortStableFunc(h.Events, func(a, b judge.Event) int { return a.Seq - b.Seq })
		if r.flags&fTally != 0 {
			st.side.Lock()
			if t := st.tallies[idx]; t != nil {
				h.Earlier = *t
				h.Earlier.Advice = slices.Clone(t.Advice)
			}
			st.side.Unlock()
		}
		sn.history = h
	}
	return sn
}

func (m *memStore) task(ctx context.Context, id string) (snapshot, error) {
	st := m.state.Load()
	idx, ok := m.lookup(st, id)
	if !ok {
		return snapshot{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
	}
	mu := st.lock(idx)
	mu.Lock()
	defer mu.Unlock()
	r := st.rec(idx)
	now := m.cfg.clock.Now().UnixNano()
	if !st.is(idx, r, id) || m.expired(r, now) {
		return snapshot{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
	}
	return m.snapshotOf(st, idx, r, id, now, true), nil
}

func (m *memStore) tasks(ctx context.Context, q taskQuery) ([]snapshot, int, error) {
	st := m.state.Load()
	st.alloc.Lock()
	n := st.next
	st.alloc.Unlock()
	now := m.cfg.clock.Now().UnixNano()
	// The newest limit+offset tasks, kept in a heap of that size while
	// scanning, so that a page of a million tasks costs no sort of them all.
	keep := q.limit + q.offset
	if q.limit <= 0 {
		keep = 0
	}
	var hits hitHeap
	total := 0
	for idx := uint32(1); idx < n; idx++ {
		c := st.chunks[idx>>chunkBits].Load()
		if c == nil {
			continue
		}
		mu := st.lock(idx)
		mu.Lock()
		r := &c[idx&(chunkSize-1)]
		ok := r.flags&fLive != 0 && !m.expired(r, now) && m.matches(r, q)
		h := hit{idx, r.created, r.runID}
		mu.Unlock()
		if !ok {
			continue
		}
		total++
		switch {
		case keep == 0 || len(hits) < keep:
			heap.Push(&hits, h)
		case hits[0].older(h):
			hits[0] = h
			heap.Fix(&hits, 0)
		}
	}
	// Newest first.
	slices.SortFunc(hits, func(a, b hit) int {
		if a.older(b) {
			return 1
		}
		if b.older(a) {
			return -1
		}
		return 0
	})
	if q.offset > 0 {
		hits = hits[min(q.offset, len(hits)):]
	}
	if q.limit > 0 && len(hits) > q.limit {
		hits = hits[:q.limit]
	}
	out := make([]snapshot, 0, len(hits))
	for _, h := range hits {
		mu := st.lock(h.idx)
		mu.Lock()
		r := st.rec(h.idx)
		if r.flags&fLive != 0 {
			out = append(out, m.snapshotOf(st, h.idx, r, st.idOf(h.idx, r), now, q.history))
		}
		mu.Unlock()
	}
	return out, total, nil
}

// hit is a task a listing selects.
type hit struct {
	idx     uint32
	created int64
	run     int64
}

// older reports whether a was created before b (by run id on a tie).
func (a hit) older(b hit) bool {
	if a.created != b.created {
		return a.created < b.created
	}
	return a.run < b.run
}

// hitHeap is a min-heap of hits, the oldest on top.
type hitHeap []hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return h[i].older(h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (m *memStore) matches(r *rec, q taskQuery) bool {
	if q.scenario != "" && m.cfg.scenarios[r.scenario].Name != q.scenario {
		return false
	}
	if q.kind != "" && m.cfg.kinds[r.kind] != q.kind {
		return false
	}
	if q.status != "" && (r.lastSt == 0 || string(m.cfg.statuses.name(r.lastSt)) != q.status) {
		return false
	}
	return true
}

func (m *memStore) count(ctx context.Context) (int64, error) { return m.state.Load().count.Load(), nil }

func (m *memStore) unknownRuns(ctx context.Context) (int64, error) {
	return m.state.Load().unknown.Load(), nil
}

func (m *memStore) reset(ctx context.Context) error {
	m.state.Store(m.newState())
	m.cfg.wakeAll()
	return nil
}

// sweep forgets every expired task and returns how many.
func (m *memStore) sweep(st *memState) int {
	st.alloc.Lock()
	n := st.next
	st.alloc.Unlock()
	swept := 0
	for idx := uint32(1); idx < n; idx++ {
		if st.chunks[idx>>chunkBits].Load() == nil {
			continue
		}
		if m.sweepOne(st, idx, "") {
			swept++
		}
	}
	return swept
}

// sweepOne forgets the task in slot idx if it has expired (and, when id
// is given, is that task), reporting whether it did.
func (m *memStore) sweepOne(st *memState, idx uint32, id string) bool {
	mu := st.lock(idx)
	mu.Lock()
	r := st.rec(idx)
	now := m.cfg.clock.Now().UnixNano()
	if r.flags&fLive == 0 || !m.expired(r, now) || id != "" && !st.is(idx, r, id) {
		mu.Unlock()
		return false
	}
	id = st.idOf(idx, r)
	run, uuid, custom := r.runID, r.uuid, r.flags&fCustom != 0
	for b := r.head; b != 0; {
		next := st.blocks.get(b).next
		st.blocks.release(b)
		b = next
	}
	*r = rec{}
	mu.Unlock()

	sh := m.idShard(st, id)
	sh.mu.Lock()
	if custom {
		delete(sh.names, id)
	} else {
		delete(sh.uuids, uuid)
	}
	sh.mu.Unlock()
	rs := st.runShard(run)
	rs.mu.Lock()
	if rs.runs[run] == idx {
		delete(rs.runs, run)
	}
	rs.mu.Unlock()
	st.side.Lock()
	delete(st.names, idx)
	delete(st.tallies, idx)
	st.side.Unlock()
	st.alloc.Lock()
	st.free = append(st.free, idx)
	st.alloc.Unlock()
	st.count.Add(-1)
	return true
}

// statusTable numbers the statuses a server's tasks can be served: the
// spec's, then those its off-spec scenarios serve. Index 0 is no status.
type statusTable struct {
	names []cambmock.Status
}

func newStatusTable(spec *cambmock.Spec, scs []*scenario) *statusTable {
	t := &statusTable{names: []cambmock.Status{""}}
	add := func(s cambmock.Status) {
		if s != "" && !slices.Contains(t.names, s) && len(t.names) < 63 {
			t.names = append(t.names, s)
		}
	}
	for _, s := range spec.Statuses() {
		add(s)
	}
	for _, sc := range scs {
		for _, st := range sc.Poll {
			if st.Reply != nil {
				add(st.Reply.Status)
			}
		}
	}
	return t
}

func (t *statusTable) len() int { return len(t.names) }

// index returns s's index; a status outside the table has none (0).
func (t *statusTable) index(s cambmock.Status) uint8 {
	if s == "" {
		return 0
	}
	for i, n := range t.names {
		if n == s {
			return uint8(i)
		}
	}
	return 0
}

func (t *statusTable) name(i uint8) cambmock.Status {
	if int(i) < len(t.names) {
		return t.names[i]
	}
	return ""
}

// has reports whether some task could be served s.
func (t *statusTable) has(s cambmock.Status) bool { return s != "" && slices.Contains(t.names, s) }

// list names the statuses, for messages.
func (t *statusTable) list() string {
	var out []string
	for _, n := range t.names[1:] {
		out = append(out, string(n))
	}
	return strings.Join(out, ", ")
}

var faultNames = [...]scenarios.Fault{"", scenarios.FaultReset, scenarios.FaultEmpty, scenarios.FaultMalformedJSON,
	scenarios.FaultTruncated, scenarios.FaultHang}

func faultIndex(f scenarios.Fault) uint8 {
	for i, n := range faultNames {
		if n == f {
			return uint8(i)
		}
	}
	return 0
}
