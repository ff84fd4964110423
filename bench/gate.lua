-- wrk script for bench/gate.sh: requests for a Codecov page, each with the session cookie of
-- a random signed-in person (COOKIES: a file of `gatehouse_session=…` lines), through nginx.
local cookies = {}

function init(args)
  for line in io.lines(os.getenv("COOKIES")) do cookies[#cookies + 1] = line end
  math.randomseed(os.time() + math.random(1, 1000000))
end

request = function()
  local cookie = cookies[math.random(1, #cookies)]
  return wrk.format("GET", "/gh/acme/api/pulls", { ["Cookie"] = cookie })
end
