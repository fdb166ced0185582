-- at runs the engine alone, for tests: ARGV the script's encoding, the
-- position (step, served, since) and the elapsed time. Returns {step,
-- served, since, ok}.
local i, served, since, ok = at(steps(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
if ok then
  return {i, served, int(since), 1}
end
return {i, served, int(since), 0}
