-- counts returns {tasks, result requests for unknown runs, requests
-- journaled, live replicas}.
local m = needmeta(meta())
local f = redis.call('HMGET', m.G .. 'n', 'unknown', 'jtotal')
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = 0
local all = redis.call('HGETALL', P .. 'replicas')
for i = 1, #all, 2 do
  local deadline = tonumber(string.match(all[i + 1], '^(%d+)'))
  if deadline and deadline >= ms then
    live = live + 1
  end
end
return {redis.call('ZCARD', m.G .. 'idx'), tonumber(f[1] or '0'), tonumber(f[2] or '0'), live}
