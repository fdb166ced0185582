-- journal returns {requests journaled, the newest ARGV[1] entries}.
local m = needmeta(meta())
local n = tonumber(ARGV[1])
local entries = {}
if n > 0 then
  entries = redis.call('LRANGE', m.G .. 'j', 0, n - 1)
end
return {tonumber(redis.call('HGET', m.G .. 'n', 'jtotal') or '0'), entries}
