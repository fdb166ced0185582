-- reset starts a new generation: every task, run, history, create script
-- and the journal are forgotten at once; the old generation's keys are
-- left for the replicas to delete (the list PREFIX .. "dead"). Returns
-- the new generation.
local m = needmeta(meta())
local t = now(m)
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'started', int(t))
redis.call('RPUSH', P .. 'dead', m.gen)
redis.call('PUBLISH', P .. 'ctl', 'R' .. gen)
return gen
