package mockserver

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cambmock/cambmock/mockserver/internal/redislua"
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

// RedisEngine runs the Redis store's port of scenarios.Script.At in a
// Redis, for the test that compares the two.
type RedisEngine struct {
	c  *redis.Client
	at *redis.Script
}

func NewRedisEngine(url string) (*RedisEngine, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return &RedisEngine{c: redis.NewClient(opt), at: redis.NewScript(redislua.Source("at"))}, nil
}

func (e *RedisEngine) Close() { e.c.Close() }

// At is s.At(pos, elapsed) as the Lua engine plays it: the step's index
// and where the script stands after it.
func (e *RedisEngine) At(ctx context.Context, s scenarios.Script, pos scenarios.Position, elapsed time.Duration) (scenarios.Position, bool, error) {
	v, err := e.at.Run(ctx, e.c, []string{redisPrefix + "meta"}, encodeScript(s), pos.Step, pos.Served, int64(pos.Since), int64(elapsed)).Slice()
	if err != nil {
		return scenarios.Position{}, false, err
	}
	since, _ := strconv.ParseInt(str(v[2]), 10, 64)
	return scenarios.Position{Step: int(num(v[0])), Served: int(num(v[1])), Since: time.Duration(since)}, num(v[3]) == 1, nil
}

// RoundTrips counts the commands a Redis store's client sends to Redis:
// those of requests, and those of its recorder (the rest of its
// background work, the heartbeat and the sweep, is not counted). It is
// nil for a memory store. Call it before the server serves.
func RoundTrips(s *Server) (requests, recorder *atomic.Int64) {
	rs, ok := s.store.(*redisStore)
	if !ok {
		return nil, nil
	}
	h := &countHook{}
	rs.rdb.AddHook(h)
	return &h.requests, &h.recorder
}

type countHook struct {
	requests, recorder atomic.Int64
}

func (h *countHook) count(ctx context.Context) {
	switch {
	case ctx.Value(recKey{}) != nil:
		h.recorder.Add(1)
	case ctx.Value(bgKey{}) == nil:
		h.requests.Add(1)
	}
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hello" { // a new connection's handshake, not the request's
			h.count(ctx)
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(ctx)
		return next(ctx, cmds)
	}
}

// CheckGenerated is checkGenerated, which New skips for the embedded spec.
func (s *Server) CheckGenerated() error { return s.checkGenerated() }
