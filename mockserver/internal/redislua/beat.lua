-- beat says replica ARGV[1] is alive for 15 seconds more, with ARGV[2]
-- listeners of its event stream ("leave" as ARGV[3] removes it; "tell"
-- publishes the change). Returns {live replicas, replicas other than this
-- one with listeners}.
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == 'leave' then
  redis.call('HDEL', P .. 'replicas', ARGV[1])
else
  redis.call('HSET', P .. 'replicas', ARGV[1], int(ms + 15000) .. ' ' .. ARGV[2])
end
local live, listening = 0, 0
local all = redis.call('HGETALL', P .. 'replicas')
for i = 1, #all, 2 do
  local deadline, n = string.match(all[i + 1], '^(%d+) (%d+)$')
  if not deadline or tonumber(deadline) < ms then
    redis.call('HDEL', P .. 'replicas', all[i])
  else
    live = live + 1
    if all[i] ~= ARGV[1] and tonumber(n) > 0 then
      listening = listening + 1
    end
  end
end
if ARGV[3] == 'tell' or ARGV[3] == 'leave' then
  redis.call('PUBLISH', P .. 'ctl', 'L')
end
return {live, listening}
