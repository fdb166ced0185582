-- snap returns tasks as the admin API shows them: ARGV[1] "1" to include
-- their histories, then their ids. Returns {now, gen, then per task its
-- fields (HGETALL; empty when it is gone) and its events}.
local m = needmeta(meta())
local t = now(m)
local out = {int(t), m.gen}
for j = 2, #ARGV do
  local id = ARGV[j]
  local f = redis.call('HGETALL', m.G .. 't:' .. id)
  local last
  for k = 1, #f, 2 do
    if f[k] == 'last' then
      last = tonumber(f[k + 1])
    end
  end
  if #f == 0 or expired(m, last, t) then
    if #f > 0 or redis.call('ZSCORE', m.G .. 'idx', id) then
      forget(m, id)
    end
    out[#out + 1] = {}
    out[#out + 1] = {}
  else
    out[#out + 1] = f
    if ARGV[1] == '1' then
      out[#out + 1] = redis.call('ZRANGE', m.G .. 'h:' .. id, 0, -1)
    else
      out[#out + 1] = {}
    end
  end
end
return out
