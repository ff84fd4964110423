-- wrk script: varied login decisions against POST /v1/authorize/login.
-- PEOPLE (seeded users u0..u{PEOPLE-1}) and TOKEN come from the environment.
local people = tonumber(os.getenv("PEOPLE") or "1000")
local token = os.getenv("TOKEN")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local r = math.random(100)
  local body
  if r <= 85 then
    -- A seat holder in the allowed org and team: allowed, answered from memory.
    local i = math.random(0, people - 1)
    body = string.format('{"provider":"github","username":"u%d","external_id":"%d","orgs":["acme"],"teams":["acme/eng"]}', i, i)
  elseif r <= 90 then
    -- A seat holder outside the allowed teams: not_in_allowed_team.
    local i = math.random(0, people - 1)
    body = string.format('{"provider":"github","username":"u%d","external_id":"%d","orgs":["acme"],"teams":["acme/sales"]}', i, i)
  elseif r <= 95 then
    -- Someone new from another org: not_in_allowed_org (nothing is written).
    body = string.format('{"provider":"github","username":"outsider%d","orgs":["other"]}', math.random(1, 1000000))
  else
    -- On the deny list: denied_by_policy.
    body = string.format('{"provider":"github","username":"mallory%d","orgs":["acme"],"teams":["acme/eng"]}', math.random(0, 9))
  end
  return wrk.format("POST", "/v1/authorize/login", headers, body)
end
