-- lib.lua begins every script of cambmock's Redis store (see package
-- redislua). KEYS[1] is the store's meta hash, PREFIX .. "meta"; every
-- other key is named from the prefix and, for what a reset forgets, the
-- generation: PREFIX .. GEN .. ":t:" .. ID is a task.
local P = string.sub(KEYS[1], 1, -5)

-- int writes a whole number as Redis stores it, without an exponent.
local function int(x)
  return string.format('%d', x)
end

-- meta reads the fleet's settings; nil when the store has none (a Redis
-- that lost its data).
local function meta()
  local f = redis.call('HMGET', KEYS[1], 'gen', 'epoch', 'clock', 'manual', 'factor', 'ttl', 'rttl',
    'hlimit', 'budget', 'max', 'jsize', 'started')
  if not f[1] then
    return nil
  end
  return {gen = f[1], epoch = tonumber(f[2]), clock = tonumber(f[3] or '0'), manual = f[4] == '1',
    factor = tonumber(f[5]), ttl = tonumber(f[6]), rttl = tonumber(f[7]), hlimit = tonumber(f[8]),
    budget = tonumber(f[9]), max = tonumber(f[10]), jsize = tonumber(f[11]), started = tonumber(f[12] or '0'),
    G = P .. f[1] .. ':'}
end

local function needmeta(m)
  if not m then
    error({err = 'NOMETA the store holds no cambmock state'})
  end
  return m
end

-- now returns the scenario clock and the real clock (Redis's), in whole
-- nanoseconds since the fleet's epoch: the manual clock's value, or Redis
-- TIME scaled by the time scale.
local function now(m)
  local t = redis.call('TIME')
  local real = (tonumber(t[1]) - m.epoch) * 1e9 + tonumber(t[2]) * 1e3
  if m.manual then
    return m.clock, real
  end
  return math.floor(real * m.factor), real
end

-- steps decodes a script: "POLLS,FOR,RUN;..." with FOR in nanoseconds and
-- RUN empty (no run id), "a" (an allocated one) or a fixed integer.
local function steps(enc)
  local out = {}
  for p, f, r in string.gmatch(enc or '', '([^,;]*),([^,;]*),([^,;]*)') do
    out[#out + 1] = {tonumber(p), tonumber(f), r}
  end
  return out
end

-- at is scenarios.Script.At: the step (0-based) that answers a request
-- arriving elapsed after the script began, from position (i, served,
-- since), and the position after it; ok is false when the script has run
-- out.
local function at(st, i, served, since, elapsed)
  while i < #st do
    local s = st[i + 1]
    if s[1] > 0 and served >= s[1] then
      since = elapsed
    elseif s[2] > 0 and elapsed - since >= s[2] then
      since = since + s[2]
    else
      return i, served + 1, since, true
    end
    served = 0
    i = i + 1
  end
  return #st, 0, since, false
end

local function expired(m, last, t)
  return m.ttl > 0 and t - last > m.ttl
end

-- wake tells the replicas that task id changed ("" for the set of tasks),
-- if some replica waits for it.
local function wake(gen, id)
  local n = redis.call('HGET', P .. 'watch', id)
  if n and tonumber(n) > 0 then
    redis.call('PUBLISH', P .. 'ctl', 'w' .. gen .. ' ' .. id)
  end
end

-- forget deletes a task and what points at it.
local function forget(m, id)
  local tk = m.G .. 't:' .. id
  local run = redis.call('HGET', tk, 'run')
  if run and redis.call('GET', m.G .. 'r:' .. run) == id then
    redis.call('DEL', m.G .. 'r:' .. run)
  end
  redis.call('DEL', tk, m.G .. 'h:' .. id)
  redis.call('ZREM', m.G .. 'idx', id)
  redis.call('ZREM', m.G .. 'exp', id)
  local k = tonumber(redis.call('HGET', m.G .. 'kept', id) or '0')
  if k ~= 0 then
    redis.call('HINCRBY', m.G .. 'n', 'kept', -k)
  end
  redis.call('HDEL', m.G .. 'kept', id)
end

-- sweep forgets up to limit tasks whose last request is more than the TTL
-- ago, and returns how many. The index of expiry is written only now and
-- then (see touch): a task it holds too early is put back in its place.
local function sweep(m, t, limit)
  if m.ttl <= 0 then
    return 0
  end
  local ids = redis.call('ZRANGEBYSCORE', m.G .. 'exp', '-inf', '(' .. string.format('%.17g', t - m.ttl), 'LIMIT', 0, limit)
  local n = 0
  for _, id in ipairs(ids) do
    local last = redis.call('HGET', m.G .. 't:' .. id, 'last')
    if last and not expired(m, tonumber(last), t) then
      redis.call('ZADD', m.G .. 'exp', last, id)
    else
      forget(m, id)
      n = n + 1
    end
  end
  return n
end

-- touch notes a request of task id at t, for its expiry, when the last
-- note is a sixteenth of the TTL old: in the index of expiry, and on the
-- real clock as Redis TTLs of its keys, a sixteenth longer than the TTL so
-- that Redis never forgets a task before the scripts do (they compare the
-- task's last request itself). It adds the field it notes to set.
local function touch(m, id, run, t, touched, set)
  if m.ttl <= 0 or (touched and t - tonumber(touched) < m.ttl / 16) then
    return
  end
  set[#set + 1] = 'touched'
  set[#set + 1] = int(t)
  redis.call('ZADD', m.G .. 'exp', int(t), id)
  if m.rttl > 0 then
    local ttl = m.rttl + math.ceil(m.rttl / 16)
    redis.call('PEXPIRE', m.G .. 't:' .. id, ttl)
    redis.call('PEXPIRE', m.G .. 'h:' .. id, ttl)
    redis.call('PEXPIRE', m.G .. 'r:' .. run, ttl)
  end
end

-- split cuts an event of a history at its commas.
local function split(s)
  local out = {}
  for v in string.gmatch(s .. ',', '([^,]*),') do
    out[#out + 1] = v
  end
  return out
end

