package mockserver

import (
	"context"
	"errors"
	"time"

	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// A store holds a server's tasks, runs and create scripts: in process
// ([newMemStore]) or in Redis, shared by replicas ([newRedisStore]). Every
// method that changes a task does so atomically, so that concurrent
// requests for one task, on one replica or many, each get their own step.
type store interface {
	// create stores a new task and allocates its run id. An id that is
	// taken is an error wrapping ErrTaskExists; a full store, ErrFull.
	create(ctx context.Context, spec taskSpec) (taskMeta, error)
	// createStep advances scenario sc's create script, shared by every
	// create request that picks it, and returns the step that answers
	// (ok false: the script has run out and the create proceeds).
	createStep(ctx context.Context, sc *scenario) (step scenarios.Step, index, n int, ok bool, err error)
	// poll advances the task's poll script for a status request of kind
	// and returns the step that answers it. An unknown task is ErrNoTask,
	// one of another kind errWrongKind.
	poll(ctx context.Context, id string, kind uint8) (ticket, error)
	// result advances the result script of run id's task, if the run is
	// ready, for a result request of one of kinds; a run never given is
	// errNoRun, one of another kind errWrongKind.
	result(ctx context.Context, run int64, kinds []uint8, file bool) (ticket, error)
	// deliver records how a request of a task was answered.
	deliver(ctx context.Context, t *ticket, ev judge.Event)
	// undeliver marks the answer deliver recorded for t as not delivered
	// after all: the connection failed as it was sent.
	undeliver(ctx context.Context, t *ticket)
	// task returns a snapshot of the task and its history.
	task(ctx context.Context, id string) (snapshot, error)
	// tasks returns snapshots of the tasks q selects, newest first, and
	// how many tasks it selects in all.
	tasks(ctx context.Context, q taskQuery) ([]snapshot, int, error)
	// count returns how many tasks the store holds.
	count(ctx context.Context) (int64, error)
	// unknownRuns returns how many result requests named a run never given.
	unknownRuns(ctx context.Context) (int64, error)
	// reset forgets every task and run and restarts the create scripts.
	reset(ctx context.Context) error
	// clock is the scenario clock tasks are timed by.
	clock() scenarios.Clock
	// journal is the request journal: the store's own, so that replicas
	// sharing a store show one.
	journal() journaler
	// broadcast sends an event of the server's bus to the other replicas
	// sharing the store, which hand it to their servers' buses
	// (storeConfig.remote); a memory store has none.
	broadcast(kind string, msg []byte)
	// close releases what the store holds.
	close() error
}

// errNoRun is returned (wrapped) for a run id no task has.
var errNoRun = errors.New("no such run")

// errWrongKind is returned (wrapped) for a task or run asked for at
// another kind's endpoint.
var errWrongKind = errors.New("of another kind")

// taskSpec is what a new task is made of.
type taskSpec struct {
	id        string // empty: a random id
	scenario  uint16
	kind      uint8
	audioType string
	seed      uint64
	length    time.Duration
	items     int // how many items the kind's list field held (kind.itemsField); 0 if none
}

// taskMeta is what a handler needs to know of a task.
type taskMeta struct {
	id        string
	scenario  uint16
	kind      uint8
	runID     int64
	seed      uint64
	length    time.Duration
	audioType string
	items     int
	created   time.Time // on the scenario clock
}

// A ticket is the outcome of a request's arrival at a task: the step its
// script chose, and how to record the delivery.
type ticket struct {
	meta taskMeta
	// index is the step of the script that answers; -1 when the script
	// has run out (or is empty) and the endpoint answers normally.
	index int
	// n counts the task's earlier requests of this endpoint, to seed
	// latency draws.
	n int
	// at and real are the arrival since the task was created, on the
	// scenario and the real clock.
	at, real time.Duration
	// ready is true, for a result, when the task has served a run id.
	ready bool
	// seq orders the task's requests by arrival.
	seq int

	endpoint judge.Endpoint
	mem      memRef // the memory store's handle on the task (a field, not in ref: no allocation per poll)
	ref      any    // another store's handle on the task
}

// snapshot is a task as the admin API shows it.
type snapshot struct {
	meta      taskMeta
	elapsed   time.Duration
	polls     int // status polls answered
	results   int // result requests answered
	fetched   int // results delivered whole
	inFlight  int // requests arrived and not answered yet
	step      int // the poll step that answered last, 1-based; 0 before the first poll
	last      string
	served    map[string]bool // the statuses delivered
	succeeded bool
	expires   time.Time // zero: never
	history   judge.History
}

// taskQuery selects tasks for the admin API.
type taskQuery struct {
	status   string // the last status delivered; empty: any
	scenario string
	kind     string
	limit    int // at most this many; 0: no limit
	offset   int // skip this many of the newest first
	history  bool
}

// journaler keeps the recent requests for the admin API.
type journaler interface {
	add(e entry)
	// last returns up to n entries, newest first, and how many requests
	// the journal has seen in all; a shared journal can fail to be read.
	last(ctx context.Context, n int) ([]entry, int64, error)
	reset()
}
