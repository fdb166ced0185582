-- wrk script: creates N tasks through the admin API, with UUID-shaped ids
-- made from a counter (00000001-0000-4000-8000-000000000001, ...), then
-- stops. N comes from the environment (TASKS); run wrk with one thread.
local n = tonumber(os.getenv("TASKS") or "1000")
local next, created, started = 0, 0, false

local function id(i)
  return string.format("%08x-0000-4000-8000-%012x", i, i)
end

request = function()
  -- wrk may build a first request it never sends: let it be a harmless one,
  -- so that no task id is lost.
  if not started or next >= n then
    started = true
    return wrk.format("GET", "/__admin/health")
  end
  next = next + 1
  local body = '{"scenario":"stuck","task_id":"' .. id(next) .. '"}'
  return wrk.format("POST", "/__admin/tasks", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status == 201 then
    created = created + 1
  end
  if created >= n then
    wrk.thread:stop()
  end
end
