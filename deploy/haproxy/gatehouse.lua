-- Gatehouse forward auth for HAProxy (2.5 or later, built with Lua): before a request is
-- forwarded to Codecov, ask Gatehouse /gate/auth and leave its answer in transaction
-- variables for haproxy.cfg to act on (see haproxy.cfg beside this file).
--
--   txn.gatehouse_status   200 pass, 401 sign in, 403 refused, 0 no replica answered
--   txn.gatehouse_signin   where to sign in (401)
--   txn.gatehouse_reason   why (403)
--   txn.gatehouse_user, _person, _email, _role   who (200)
--
-- Gatehouse is asked through a listener of this HAProxy (GATEHOUSE_AUTH_URL, default
-- http://127.0.0.1:9099), whose backend balances over the replicas with health checks.

local auth_url = os.getenv("GATEHOUSE_AUTH_URL") or "http://127.0.0.1:9099"

local function first(headers, name)
    local values = headers[name]
    if values == nil then return "" end
    return values[0] or values[1] or ""
end

core.register_action("gatehouse-auth", { "http-req" }, function(txn)
    local request_headers = txn.http:req_get_headers()
    local headers = {
        ["X-Forwarded-Method"] = { txn.sf:method() },
        ["X-Forwarded-Uri"] = { txn.sf:pathq() },
        ["X-Forwarded-Host"] = { first(request_headers, "host") },
        ["X-Forwarded-Proto"] = { txn.sf:ssl_fc() and "https" or "http" },
        ["Cookie"] = { first(request_headers, "cookie") },
        ["Accept"] = { first(request_headers, "accept") },
    }
    local client = core.httpclient()
    local ok, response = pcall(function()
        return client:get{ url = auth_url .. "/gate/auth", headers = headers, timeout = 5000 }
    end)
    if not ok or response == nil or response.status == nil or response.status == 0 then
        txn:set_var("txn.gatehouse_status", 0)
        return
    end
    local answer = response.headers or {}
    txn:set_var("txn.gatehouse_status", response.status)
    txn:set_var("txn.gatehouse_signin", first(answer, "x-gatehouse-sign-in"))
    txn:set_var("txn.gatehouse_reason", first(answer, "x-gatehouse-reason"))
    txn:set_var("txn.gatehouse_user", first(answer, "x-gatehouse-user"))
    txn:set_var("txn.gatehouse_person", first(answer, "x-gatehouse-person"))
    txn:set_var("txn.gatehouse_email", first(answer, "x-gatehouse-email"))
    txn:set_var("txn.gatehouse_role", first(answer, "x-gatehouse-role"))
end, 0)
