-- clock moves the fleet's manual clock by ARGV[1] nanoseconds (0 reads
-- it), tells the replicas, and returns its value.
local m = needmeta(meta())
local c = m.clock
if tonumber(ARGV[1]) > 0 then
  c = c + tonumber(ARGV[1])
  redis.call('HSET', KEYS[1], 'clock', int(c))
  redis.call('PUBLISH', P .. 'ctl', 'c' .. int(c))
end
return int(c)
