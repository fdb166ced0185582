-- poll advances a task's poll script for a status request: ARGV id and
-- kind. Returns {0} for no such task, {1, kind} for a task of another
-- kind, else {2, step, n, at, real, seq, run, scenario, kind, seed,
-- length, audio type, created, gen, items}: the step (0-based) that answers, the
-- task's earlier polls, the arrival since creation on the scenario and
-- the real clock, the request's number among the task's.
local m = needmeta(meta())
local id, kind = ARGV[1], ARGV[2]
local tk = m.G .. 't:' .. id
local f = redis.call('HMGET', tk, 'sc', 'kind', 'run', 'created', 'rcreated', 'last', 'ps', 'pn', 'pt', 'arr', 'seq',
  'seed', 'len', 'audio', 'touched', 'pe', 'items')
if not f[1] then
  if redis.call('ZSCORE', m.G .. 'idx', id) then
    forget(m, id)
  end
  return {0}
end
local t, real = now(m)
if expired(m, tonumber(f[6]), t) then
  forget(m, id)
  return {0}
end
if f[2] ~= kind then
  return {1, f[2]}
end
-- The task keeps a copy of its poll script, read with it.
local st = steps(f[16] or redis.call('HGET', P .. 'scripts', 'p' .. f[1]))
local elapsed = t - tonumber(f[4])
local i, served, since = at(st, tonumber(f[7]), tonumber(f[8]), tonumber(f[9]), elapsed)
local arrived, seq, run = tonumber(f[10]), tonumber(f[11]) + 1, f[3]
local set = {'ps', int(i), 'pn', int(served), 'pt', int(since), 'arr', int(arrived + 1), 'seq', int(seq), 'last', int(t),
  'step', int(i + 1)}
local s = st[i + 1]
if s and s[3] ~= '' then
  set[#set + 1] = 'succ'
  set[#set + 1] = '1'
  if s[3] ~= 'a' and s[3] ~= run then
    -- A fixed run id becomes the task's run.
    local old = m.G .. 'r:' .. run
    if redis.call('GET', old) == id then
      redis.call('DEL', old)
    end
    run = s[3]
    redis.call('SET', m.G .. 'r:' .. run, id)
    set[#set + 1] = 'run'
    set[#set + 1] = run
  end
end
touch(m, id, run, t, f[15], set)
redis.call('HSET', tk, unpack(set))
return {2, i, arrived, elapsed, real - tonumber(f[5]), seq, run, f[1], f[2], f[12], f[13], f[14], f[4], m.gen, f[17] or '0'}
