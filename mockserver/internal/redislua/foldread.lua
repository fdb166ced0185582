-- foldread returns the oldest events of task ARGV[2] of generation
-- ARGV[1] to fold, when its history keeps more than the fleet allows per
-- task (then ARGV[3] events beyond the limit) or in all (then up to 4):
-- {tally, tally version, event...}, or {} when there is none to fold.
local m = needmeta(meta())
local G = P .. ARGV[1] .. ':'
local id = ARGV[2]
local f = redis.call('HMGET', G .. 't:' .. id, 'tally', 'tv')
if not f[2] then
  return {}
end
local kept = tonumber(redis.call('HGET', G .. 'kept', id) or '0')
local total = tonumber(redis.call('HGET', G .. 'n', 'kept') or '0')
local k = 0
if kept > m.hlimit then
  k = kept - m.hlimit + tonumber(ARGV[3]) - 1
elseif total > m.budget then
  k = 4
end
k = math.min(k, kept)
if k <= 0 then
  return {}
end
local out = {f[1] or '', f[2]}
for _, e in ipairs(redis.call('ZRANGE', G .. 'h:' .. id, 0, k - 1)) do
  out[#out + 1] = e
end
return out
