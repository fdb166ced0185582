-- result advances the result script of a run's task for a result request
-- (ARGV run, file "1" for a file URL's download, and the kinds allowed as
-- ",0,3,"). Returns {0} for no such run, {1, kind} for a run of another
-- kind, else {2, step, n, at, real, seq, run, scenario, kind, seed,
-- length, audio type, created, gen, id, ready, items}; step is -1 when the
-- script does not answer.
local m = needmeta(meta())
local run, file = ARGV[1], ARGV[2] == '1'
local function unknown()
  if not file then
    redis.call('HINCRBY', m.G .. 'n', 'unknown', 1)
  end
  return {0}
end
local id = redis.call('GET', m.G .. 'r:' .. run)
if not id then
  return unknown()
end
local tk = m.G .. 't:' .. id
local f = redis.call('HMGET', tk, 'sc', 'kind', 'run', 'created', 'rcreated', 'last', 'rs', 'rn', 'rt', 'rarr', 'seq',
  'seed', 'len', 'audio', 'succ', 'touched', 'items')
if not f[1] then
  return unknown()
end
local t, real = now(m)
if expired(m, tonumber(f[6]), t) then
  forget(m, id)
  return unknown()
end
if f[3] ~= run then
  return unknown()
end
if not string.find(ARGV[3], ',' .. f[2] .. ',', 1, true) then
  return {1, f[2]}
end
local elapsed = t - tonumber(f[4])
local seq = tonumber(f[11]) + 1
local index, n = -1, 0
local set = {'seq', int(seq), 'last', int(t)}
if not file then
  n = tonumber(f[10])
  set[#set + 1] = 'rarr'
  set[#set + 1] = int(n + 1)
  if f[15] == '1' then
    local st = steps(redis.call('HGET', P .. 'scripts', 'r' .. f[1]))
    local i, served, since, ok = at(st, tonumber(f[7]), tonumber(f[8]), tonumber(f[9]), elapsed)
    if ok then
      index = i
    end
    for _, v in ipairs({'rs', int(i), 'rn', int(served), 'rt', int(since)}) do
      set[#set + 1] = v
    end
  end
end
touch(m, id, run, t, f[16], set)
redis.call('HSET', tk, unpack(set))
return {2, index, n, elapsed, real - tonumber(f[5]), seq, run, f[1], f[2], f[12], f[13], f[14], f[4], m.gen, id, f[15], f[17] or '0'}
