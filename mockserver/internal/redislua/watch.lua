-- watch counts the fleet's waiters of task ARGV[1] ("" for the set of
-- tasks) up or down by ARGV[2]: records and creations publish a wake only
-- for what is waited on.
local n = redis.call('HINCRBY', P .. 'watch', ARGV[1], ARGV[2])
if n <= 0 then
  redis.call('HDEL', P .. 'watch', ARGV[1])
end
return n
