-- wrk script for the baselines: the same kind of POST, answered by a constant route.
local body = '{"provider":"github","username":"u1","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}'
request = function()
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
