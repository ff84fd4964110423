-- wrk script: first logins, each of a person never seen before, in the allowed org and team,
-- so every request writes: a person, an identity, a seat and the memberships, each audited.
-- PREFIX (distinct per measurement, so no two requests name the same person) and TOKEN come
-- from the environment.
local prefix = os.getenv("PREFIX") or "n"
local token = os.getenv("TOKEN")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local threads = 0

function setup(thread)
  thread:set("tag", threads)
  threads = threads + 1
end

local counter = 0

request = function()
  counter = counter + 1
  local name = string.format("%s-%d-%d", prefix, tag, counter)
  local body = string.format('{"provider":"github","username":"%s","external_id":"%s","orgs":["acme"],"teams":["acme/eng"]}', name, name)
  return wrk.format("POST", "/v1/authorize/login", headers, body)
end
