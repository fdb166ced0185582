package mockserver

import (
	"time"

	"github.com/cambmock/cambmock/scenarios"
)

// ScaledNow is the scaled clock's Now, for tests of its saturation.
func ScaledNow(base scenarios.Clock, origin time.Time, factor float64) time.Time {
	return (&scaledClock{base: base, origin: origin, factor: factor}).Now()
}

// Wakeups counts how often the server's waiters have checked what they
// wait for, for tests that only the waiters of what changed are woken.
func (s *Server) Wakeups() int64 { return s.waiters.checks.Load() }

// AudioTypeOf is audioTypeOf, for the external tests.
var AudioTypeOf = audioTypeOf
