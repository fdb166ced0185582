package mockserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cambmock/cambmock"
)

// waiters wakes the goroutines waiting for something to happen to a
// server's tasks: those waiting on one task when it changes, those waiting
// for tasks to appear when one is created or the state reset. It costs the
// serving path one atomic load when nobody waits, and a poll wakes only
// the waiters of its own task.
type waiters struct {
	n      atomic.Int32
	checks atomic.Int64 // how often a waiter checked its condition
	mu     sync.Mutex
	byTask map[string]chan struct{} // closed at the task's next change
	tasks  chan struct{}            // closed at the next creation or reset
}

func (w *waiters) any() bool { return w.n.Load() > 0 }

// changed returns a channel closed at the next change of task id, or of
// the set of tasks when id is "".
func (w *waiters) changed(id string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id == "" {
		if w.tasks == nil {
			w.tasks = make(chan struct{})
		}
		return w.tasks
	}
	if w.byTask == nil {
		w.byTask = map[string]chan struct{}{}
	}
	ch := w.byTask[id]
	if ch == nil {
		ch = make(chan struct{})
		w.byTask[id] = ch
	}
	return ch
}

// wake wakes the waiters of task id, or of the set of tasks when id is "".
func (w *waiters) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id != "" {
		if ch := w.byTask[id]; ch != nil {
			close(ch)
			delete(w.byTask, id)
		}
		return
	}
	if w.tasks != nil {
		close(w.tasks)
		w.tasks = nil
	}
}

// wakeAll wakes every waiter: a reset forgets every task.
func (w *waiters) wakeAll() {
	w.wake("")
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, ch := range w.byTask {
		close(ch)
		delete(w.byTask, k)
	}
}

// until waits until cond holds or ctx ends, waking when task id changes
// ("" for the set of tasks).
func (s *Server) until(ctx context.Context, id string, cond func() (bool, error)) error {
	s.waiters.n.Add(1)
	defer s.waiters.n.Add(-1)
	if w, ok := s.store.(interface {
		watch(ctx context.Context, id string) (func(), error)
	}); ok {
		// A shared store wakes this server when another replica changes
		// the task, once it knows someone here waits for it.
		done, err := w.watch(ctx, id)
		if err != nil {
			return err
		}
		defer done()
	}
	for {
		ch := s.waiters.changed(id)
		s.waiters.checks.Add(1)
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return ErrClosed
		}
	}
}

// ErrClosed is returned by the WaitFor methods when the server is closed.
var ErrClosed = errors.New("the mock server was closed")

// WaitForStatus waits until the task's client has been delivered status
// by a poll (an answer the client gave up on does not count), or ctx ends.
// A status no scenario of the server serves is an error at once.
func (t *Task) WaitForStatus(ctx context.Context, status cambmock.Status) error {
	if !t.s.statuses.has(status) {
		return fmt.Errorf("waiting for task %s to be served %s: no scenario of this server serves %s; the statuses are %s", t.id, status, status, t.s.statuses.list())
	}
	err := t.s.until(ctx, t.id, func() (bool, error) {
		sn, err := t.s.store.task(ctx, t.id)
		if err != nil {
			return false, err
		}
		return sn.served[string(status)], nil
	})
	if err != nil {
		info := t.Info()
		return fmt.Errorf("waiting for task %s to be served %s (it has had %d poll(s), the last delivered %s): %w", t.id, status, info.Polls, orNothing(info.Status), err)
	}
	return nil
}

// WaitForPolls waits until the task has answered n status polls (each
// answer delivered, or given up on), or ctx ends.
func (t *Task) WaitForPolls(ctx context.Context, n int) error {
	err := t.s.until(ctx, t.id, func() (bool, error) {
		sn, err := t.s.store.task(ctx, t.id)
		return err == nil && sn.polls >= n, err
	})
	if err != nil {
		return fmt.Errorf("waiting for task %s to be polled %d time(s) (it has been polled %d): %w", t.id, n, t.Info().Polls, err)
	}
	return nil
}

// WaitForResult waits until the task's result (its audio, JSON, or a file
// URL's download) has been delivered whole, or ctx ends.
func (t *Task) WaitForResult(ctx context.Context) error {
	err := t.s.until(ctx, t.id, func() (bool, error) {
		sn, err := t.s.store.task(ctx, t.id)
		return err == nil && sn.fetched > 0, err
	})
	if err != nil {
		return fmt.Errorf("waiting for the result of task %s to be fetched: %w", t.id, err)
	}
	return nil
}

// WaitForTasks waits until the server holds at least n tasks, or ctx
// ends, and returns them, oldest first: how a test finds the tasks a
// client created.
func (s *Server) WaitForTasks(ctx context.Context, n int) ([]*Task, error) {
	err := s.until(ctx, "", func() (bool, error) {
		c, err := s.store.count(ctx)
		return c >= int64(n), err
	})
	if err != nil {
		c, _ := s.store.count(context.Background())
		return nil, fmt.Errorf("waiting for %d task(s) (the server holds %d): %w", n, c, err)
	}
	return s.Tasks(), nil
}

func orNothing(s cambmock.Status) string {
	if s == "" {
		return "nothing yet"
	}
	return string(s)
}
