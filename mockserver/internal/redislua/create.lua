-- create stores a new task and allocates its run id: ARGV id, scenario,
-- kind, audio type, seed, length, items (how many items the kind's list
-- field held). Returns {0} when the id is taken, {1,
-- count} when the store is full, else {2, run, created, gen}.
local m = needmeta(meta())
local id = ARGV[1]
local tk = m.G .. 't:' .. id
local t, real = now(m)
if redis.call('EXISTS', tk) == 1 then
  -- A task that has expired gives its id back.
  if not expired(m, tonumber(redis.call('HGET', tk, 'last')), t) then
    return {0}
  end
  forget(m, id)
elseif redis.call('ZSCORE', m.G .. 'idx', id) then
  forget(m, id)
end
local n = redis.call('ZCARD', m.G .. 'idx')
if n >= m.max and m.ttl > 0 then
  sweep(m, t, 1000)
  n = redis.call('ZCARD', m.G .. 'idx')
end
if n >= m.max then
  return {1, n}
end
local run = int(redis.call('INCR', P .. 'run'))
redis.call('HSET', tk, 'sc', ARGV[2], 'kind', ARGV[3], 'audio', ARGV[4], 'seed', ARGV[5], 'len', ARGV[6], 'items', ARGV[7], 'run', run,
  'created', int(t), 'rcreated', int(real), 'last', int(t), 'ps', '0', 'pn', '0', 'pt', '0', 'rs', '0', 'rn', '0',
  'rt', '0', 'arr', '0', 'polls', '0', 'rarr', '0', 'res', '0', 'fet', '0', 'seq', '0', 'step', '0', 'lst', '0',
  'succ', '0', 'tv', '0', 'pe', redis.call('HGET', P .. 'scripts', 'p' .. ARGV[2]) or '')
redis.call('ZADD', m.G .. 'idx', run, id)
redis.call('SET', m.G .. 'r:' .. run, id)
local set = {}
touch(m, id, run, t, nil, set)
if #set > 0 then
  redis.call('HSET', tk, unpack(set))
end
wake(m.gen, '')
return {2, run, int(t), m.gen}
