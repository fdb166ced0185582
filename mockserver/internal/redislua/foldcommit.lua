-- foldcommit replaces the oldest events of a task's history with the tally
-- they were folded into, if nothing folded them first: ARGV gen, id, the
-- tally version read, the new tally, then the events folded, oldest
-- first. Returns 1 when done, 0 when the history changed (read it again).
local G = P .. ARGV[1] .. ':'
local id = ARGV[2]
local tk, hk = G .. 't:' .. id, G .. 'h:' .. id
if redis.call('HGET', tk, 'tv') ~= ARGV[3] then
  return 0
end
local k = #ARGV - 4
local cur = redis.call('ZRANGE', hk, 0, k - 1)
if #cur ~= k then
  return 0
end
for j = 1, k do
  if cur[j] ~= ARGV[4 + j] then
    return 0
  end
end
redis.call('ZREMRANGEBYRANK', hk, 0, k - 1)
redis.call('HSET', tk, 'tally', ARGV[4])
redis.call('HINCRBY', tk, 'tv', 1)
redis.call('HINCRBY', G .. 'kept', id, -k)
redis.call('HINCRBY', G .. 'n', 'kept', -k)
return 1
