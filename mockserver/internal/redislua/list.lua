-- list pages through the tasks, newest first: ARGV offset and count (0:
-- to the end); with ARGV[3] "1" it also returns, for each task, its
-- scenario, kind, last status and last request, for the caller to filter.
-- Returns {now, total, ids, fields}.
local m = needmeta(meta())
local t = now(m)
sweep(m, t, 1000)
local from = tonumber(ARGV[1])
local to = -1
if tonumber(ARGV[2]) > 0 then
  to = from + tonumber(ARGV[2]) - 1
end
local ids = redis.call('ZREVRANGE', m.G .. 'idx', from, to)
local fields = {}
if ARGV[3] == '1' then
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', m.G .. 't:' .. id, 'sc', 'kind', 'lst', 'last')
    for _, v in ipairs(f) do
      fields[#fields + 1] = v or ''
    end
  end
end
return {int(t), redis.call('ZCARD', m.G .. 'idx'), ids, fields}
