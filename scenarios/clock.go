package scenarios

import (
	"fmt"
	"sync"
	"time"
)

// A Clock tells the time scenarios play by. Servers use [SystemClock] unless
// told otherwise; tests use a [ManualClock] to play minutes in microseconds.
type Clock interface {
	Now() time.Time
}

// SystemClock returns the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// A ManualClock is a Clock that moves only when told to. It is safe for
// concurrent use. The zero value is not usable: call [NewManualClock].
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	changed chan struct{} // closed and replaced at each move
	// shared, if set, moves the clock this one is a copy of: see Share.
	shared func(d time.Duration) (time.Time, error)
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time. A negative
// d is an error: the clock never goes back, since tasks measure time from it.
func (c *ManualClock) Advance(d time.Duration) (time.Time, error) {
	if d < 0 {
		return c.Now(), fmt.Errorf("cannot move the clock back by %v; give a duration of 0 or more", -d)
	}
	c.mu.Lock()
	shared := c.shared
	if shared == nil {
		defer c.mu.Unlock()
		c.now = c.now.Add(d)
		close(c.changed)
		c.changed = make(chan struct{})
		return c.now, nil
	}
	c.mu.Unlock()
	now, err := shared(d)
	if err != nil {
		return c.Now(), err
	}
	c.Follow(now)
	return c.Now(), nil
}

// Share makes c a copy of a clock kept elsewhere, such as the one manual
// clock of servers that share a store: Advance then calls advance to move
// that clock and shows the time it returns, and [ManualClock.Follow] moves
// c when another copy moved the clock. advance must return promptly, with
// an error if it cannot move the clock.
func (c *ManualClock) Share(advance func(d time.Duration) (time.Time, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shared = advance
}

// Follow moves c forward to t, if t is later than its time: how a copy of
// a shared clock learns that the clock moved. It never moves c back.
func (c *ManualClock) Follow(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.now) {
		return
	}
	c.now = t
	close(c.changed)
	c.changed = make(chan struct{})
}

// Changed returns a channel that is closed the next time the clock moves.
func (c *ManualClock) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}
