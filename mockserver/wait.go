package mockserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cambmock/cambmock"
)

// notifier wakes the goroutines waiting for something to happen to a
// server's tasks. It costs the serving path one atomic load when nobody
// waits.
type notifier struct {
	waiters atomic.Int32
	mu      sync.Mutex
	ch      chan struct{} // closed at the next change; nil when nobody took it
}

// changed returns a channel closed at the next change.
func (n *notifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) notify() {
	if n.waiters.Load() == 0 {
		return
	}
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// until waits until cond holds or ctx ends.
func (s *Server) until(ctx context.Context, cond func() bool) error {
	s.notes.waiters.Add(1)
	defer s.notes.waiters.Add(-1)
	for {
		ch := s.notes.changed()
		if cond() {
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

// WaitForStatus waits until the task has been served status by a poll, or
// ctx ends.
func (t *Task) WaitForStatus(ctx context.Context, status cambmock.Status) error {
	bit := statusBit(status)
	err := t.s.until(ctx, func() bool {
		t.t.mu.Lock()
		defer t.t.mu.Unlock()
		return t.t.served&bit != 0 && (bit != otherBit || t.t.last == status)
	})
	if err != nil {
		info := t.Info()
		return fmt.Errorf("waiting for task %s to be served %s (it has had %d poll(s), the last served %s): %w", t.t.id, status, info.Polls, orNothing(info.Status), err)
	}
	return nil
}

// WaitForPolls waits until the task has had n status polls, or ctx ends.
func (t *Task) WaitForPolls(ctx context.Context, n int) error {
	err := t.s.until(ctx, func() bool {
		t.t.mu.Lock()
		defer t.t.mu.Unlock()
		return int(t.t.polls) >= n
	})
	if err != nil {
		return fmt.Errorf("waiting for task %s to be polled %d time(s) (it has been polled %d): %w", t.t.id, n, t.Info().Polls, err)
	}
	return nil
}

// WaitForResult waits until the task's result (its audio, or a file URL's
// download) has been served, or ctx ends.
func (t *Task) WaitForResult(ctx context.Context) error {
	err := t.s.until(ctx, func() bool {
		t.t.mu.Lock()
		defer t.t.mu.Unlock()
		return t.t.conduct.fetched > 0
	})
	if err != nil {
		return fmt.Errorf("waiting for the result of task %s to be fetched: %w", t.t.id, err)
	}
	return nil
}

// WaitForTasks waits until the server holds at least n tasks, or ctx
// ends, and returns them, oldest first: how a test finds the tasks a
// client created.
func (s *Server) WaitForTasks(ctx context.Context, n int) ([]*Task, error) {
	err := s.until(ctx, func() bool { return s.tasks.count.Load() >= int64(n) })
	if err != nil {
		return nil, fmt.Errorf("waiting for %d task(s) (the server holds %d): %w", n, s.tasks.count.Load(), err)
	}
	return s.Tasks(), nil
}

func orNothing(s cambmock.Status) string {
	if s == "" {
		return "nothing yet"
	}
	return string(s)
}

// otherBit stands for every status outside statusNames.
const otherBit = uint16(1) << statusOther

func statusBit(s cambmock.Status) uint16 { return uint16(1) << statusIndex(s) }
