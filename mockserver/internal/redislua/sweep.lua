-- sweep forgets up to ARGV[1] expired tasks and returns how many.
local m = needmeta(meta())
local t = now(m)
return sweep(m, t, tonumber(ARGV[1]))
