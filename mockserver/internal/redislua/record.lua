-- record applies a batch of what a replica's requests did, in order.
-- ARGV[1] is the replica's id, then each operation is a letter and its
-- arguments:
--   d GEN ID ENDPOINT DELIVERED STATUS CODE FAULT SEQ EVENT: an answer
--     delivered (or not): counted, and EVENT added to the task's history
--     at SEQ;
--   u GEN ID ENDPOINT SEQ: the answer at SEQ did not reach the client
--     after all;
--   j ENTRY: a request for the journal;
--   b MESSAGE: an event for the other replicas' admin event streams.
-- Returns "GEN ID" for each task whose history holds more events than the
-- fleet keeps, which the replica then folds.
local m = needmeta(meta())
local fold, folding, woken = {}, {}, {}
local journal = {}
-- The counts of events kept, per task and per generation, are read once
-- and written once per batch.
local kept, added, totals = {}, {}, {}
local i = 2
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'd' then
    local gen, id, ep, dl, st, code, fault, seq, ev = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
      tonumber(ARGV[i + 6]), ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
    i = i + 10
    local G = P .. gen .. ':'
    local tk = G .. 't:' .. id
    local hk = G .. 'h:' .. id
    local f = redis.call('HMGET', tk, 'polls', 'res', 'fet', 'sv' .. st)
    -- No task: it has gone. An event already there is a batch written again
    -- after its reply was lost: it counts once.
    if f[1] and redis.call('ZADD', hk, 'NX', seq, ev) == 1 then
      local set = {}
      if ep == 'p' then
        set = {'polls', int(tonumber(f[1]) + 1)}
        if dl == '1' and st ~= '0' then
          for _, v in ipairs({'sv' .. st, int(tonumber(f[4] or '0') + 1), 'lst', st}) do
            set[#set + 1] = v
          end
        end
      else
        if ep == 'r' then
          set = {'res', int(tonumber(f[2]) + 1)}
        end
        if dl == '1' and code >= 200 and code < 300 and fault == '0' then
          set[#set + 1] = 'fet'
          set[#set + 1] = int(tonumber(f[3]) + 1)
        end
      end
      if #set > 0 then
        redis.call('HSET', tk, unpack(set))
      end
      local key = gen .. ' ' .. id
      if not kept[key] then
        kept[key] = tonumber(redis.call('HGET', G .. 'kept', id) or '0')
        added[key] = 0
      end
      if not totals[gen] then
        totals[gen] = {tonumber(redis.call('HGET', G .. 'n', 'kept') or '0'), 0}
      end
      kept[key] = kept[key] + 1
      added[key] = added[key] + 1
      totals[gen][1] = totals[gen][1] + 1
      totals[gen][2] = totals[gen][2] + 1
      if m.rttl > 0 and kept[key] == 1 then
        -- A new history: it expires with its task (whose polls then
        -- keep both alive).
        local ttl = redis.call('PTTL', tk)
        if ttl > 0 then
          redis.call('PEXPIRE', hk, ttl)
        end
      end
      if (kept[key] > m.hlimit or totals[gen][1] > m.budget) and not folding[key] then
        folding[key] = true
        fold[#fold + 1] = key
      end
      woken[id] = gen
    end
  elseif op == 'u' then
    local gen, id, ep, seq = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    i = i + 5
    local G = P .. gen .. ':'
    local tk, hk = G .. 't:' .. id, G .. 'h:' .. id
    local found = redis.call('ZRANGEBYSCORE', hk, seq, seq)
    if redis.call('EXISTS', tk) == 1 and #found > 0 then
      local e = split(found[1])
      local flags = tonumber(e[11])
      if flags % 2 == 1 then
        e[11] = int(flags - 1)
        redis.call('ZREM', hk, found[1])
        redis.call('ZADD', hk, seq, table.concat(e, ','))
        if ep == 'p' then
          if e[9] ~= '0' then
            redis.call('HINCRBY', tk, 'sv' .. e[9], -1)
          end
        else
          local code = tonumber(e[8])
          if code >= 200 and code < 300 and tonumber(redis.call('HGET', tk, 'fet')) > 0 then
            redis.call('HINCRBY', tk, 'fet', -1)
          end
        end
        woken[id] = gen
      end
    end
  elseif op == 'j' then
    journal[#journal + 1] = ARGV[i + 1]
    i = i + 2
  elseif op == 'b' then
    redis.call('PUBLISH', P .. 'ctl', 'b' .. ARGV[1] .. ' ' .. ARGV[i + 1])
    i = i + 2
  else
    return redis.error_reply('ERR cambmock record: unknown operation ' .. tostring(op))
  end
end
for key, n in pairs(added) do
  local gen, id = string.match(key, '^(%S+) (.*)$')
  redis.call('HINCRBY', P .. gen .. ':kept', id, n)
end
for gen, t in pairs(totals) do
  redis.call('HINCRBY', P .. gen .. ':n', 'kept', t[2])
end
if #journal > 0 then
  redis.call('HINCRBY', m.G .. 'n', 'jtotal', #journal)
  if m.jsize > 0 then
    redis.call('LPUSH', m.G .. 'j', unpack(journal))
    redis.call('LTRIM', m.G .. 'j', 0, m.jsize - 1)
  else
    redis.call('DEL', m.G .. 'j')
  end
end
for id, gen in pairs(woken) do
  wake(gen, id)
end
return fold
