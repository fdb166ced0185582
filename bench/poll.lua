-- wrk script: polls tasks chosen at random among the N that create.lua
-- made (TASKS in the environment), so that every poll finds its task and
-- the cache sees a spread of them.
local n = tonumber(os.getenv("TASKS") or "1000")
math.randomseed(42)

request = function()
  local i = math.random(1, n)
  local path = string.format("/apis/text-to-sound/%08x-0000-4000-8000-%012x", i, i)
  return wrk.format("GET", path, {["x-api-key"] = "k"})
end
