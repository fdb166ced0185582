-- init joins a replica to the fleet, or makes the fleet. ARGV: the
-- replica's fingerprint (of its spec, scenarios and settings), its
-- clock's whole seconds ("" for Redis's own) and nanoseconds (for a manual
-- clock), then manual, factor, ttl, rttl, hlimit, budget, max, jsize, a
-- random secret, the replica's id, and the scripts as name, encoding
-- pairs. The replica counts as live from here on, so that another one
-- configured otherwise, starting at the same moment, does not take over.
-- Returns {state, epoch, clock, secret, gen}: state is "new", "joined",
-- "takeover" (the fleet was configured otherwise and no replica of it is
-- alive) or "busy" (then the second value is how many live replicas run
-- the other configuration).
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fp = redis.call('HGET', KEYS[1], 'fp')
local state = 'joined'
if not fp then
  state = 'new'
  local epoch = ARGV[2]
  if epoch == '' then
    epoch = t[1]
  end
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'gen', '1', 'clock', '0')
elseif fp ~= ARGV[1] then
  local live = 0
  local all = redis.call('HGETALL', P .. 'replicas')
  for i = 1, #all, 2 do
    local deadline = tonumber(string.match(all[i + 1], '^(%d+)'))
    if deadline and deadline >= ms then
      live = live + 1
    end
  end
  if live > 0 then
    return {'busy', live}
  end
  state = 'takeover'
  local old = redis.call('HGET', KEYS[1], 'gen')
  redis.call('RPUSH', P .. 'dead', old)
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
  redis.call('DEL', P .. 'scripts', P .. 'watch')
end
if state ~= 'joined' then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'manual', ARGV[4], 'factor', ARGV[5], 'ttl', ARGV[6], 'rttl', ARGV[7],
    'hlimit', ARGV[8], 'budget', ARGV[9], 'max', ARGV[10], 'jsize', ARGV[11])
  for i = 14, #ARGV, 2 do
    redis.call('HSET', P .. 'scripts', ARGV[i], ARGV[i + 1])
  end
end
local m = meta()
if m.manual and ARGV[2] ~= '' then
  -- The clock never goes back: a replica whose clock is ahead moves the
  -- fleet's (and one that is behind follows it).
  local c = (tonumber(ARGV[2]) - m.epoch) * 1e9 + tonumber(ARGV[3])
  if state ~= 'joined' or c > m.clock then
    redis.call('HSET', KEYS[1], 'clock', int(c))
    m.clock = c
  end
end
if state ~= 'joined' then
  redis.call('HSET', KEYS[1], 'started', int(now(m)))
end
redis.call('HSET', P .. 'replicas', ARGV[13], int(ms + 15000) .. ' 0')
redis.call('SET', P .. 'run', '100000', 'NX')
redis.call('HSETNX', KEYS[1], 'secret', ARGV[12])
local f = redis.call('HMGET', KEYS[1], 'epoch', 'clock', 'secret', 'gen')
return {state, f[1], f[2], f[3], f[4]}
