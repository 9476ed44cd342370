-- wrk script: every request is a unique Graph change notification for /webhooks/graph.
local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  base = math.random(1, 2000000000)
  counter = 0
end

function request()
  counter = counter + 1
  local mid = string.format("%d%d%08d", base, tid, counter)
  local resource = "teams('bench-team')/channels('19:bench@thread.tacv2')/messages('" .. mid .. "')"
  local body = '{"value":[{"subscriptionId":"00000000-0000-0000-0000-000000000001","changeType":"created",'
    .. '"clientState":"sandbox-client-state","tenantId":"bench","resource":"' .. resource .. '",'
    .. '"subscriptionExpirationDateTime":"2099-01-01T00:00:00Z","resourceData":{"id":"' .. mid .. '"}}]}'
  return wrk.format("POST", "/webhooks/graph", {["Content-Type"] = "application/json"}, body)
end
