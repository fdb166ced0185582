-- createstep advances the create script of scenario ARGV[1], which every
-- create request of the fleet that picks it shares, timed from the
-- generation's start. Returns {step, n, ok}.
local m = needmeta(meta())
local key = m.G .. 'cs:' .. ARGV[1]
local f = redis.call('HMGET', key, 's', 'n', 't', 'c')
local t = now(m)
local st = steps(redis.call('HGET', P .. 'scripts', 'c' .. ARGV[1]))
local i, served, since, ok = at(st, tonumber(f[1] or '0'), tonumber(f[2] or '0'), tonumber(f[3] or '0'), t - m.started)
local c = tonumber(f[4] or '0')
redis.call('HSET', key, 's', int(i), 'n', int(served), 't', int(since), 'c', int(c + 1))
if ok then
  return {i, c, 1}
end
return {i, c, 0}
