-- One wrk script for every scenario. Arguments (after --):
--   1 path   2 method   3 credential: cookie | bearer | bearer-once | x-id | admin | sid | none
--   4 file of values, one per line (tokens, ids) or "-"   5 admin key or "-"   6 body or "-"
-- Each request picks a random value; `{user}` in the path or body becomes a random user id.
-- done() prints one RESULT line of JSON for bench/run.mjs.
local path, method, credential, values, admin, body
local count = 0

function init(args)
  path, method, credential = args[1], args[2], args[3]
  values = {}
  if args[4] ~= "-" then
    for line in io.lines(args[4]) do values[#values + 1] = line end
  end
  admin = args[5]
  body = args[6] ~= "-" and args[6] or nil
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

local function pick()
  return values[math.random(#values)]
end

-- Each value once, in order (for tokens that die when used, as rotation's do).
local function next_value()
  count = count + 1
  return values[((count - 1) % #values) + 1]
end

function request()
  local headers = {}
  if credential == "cookie" then headers["Cookie"] = "__Host-session=" .. pick()
  elseif credential == "bearer" then headers["Authorization"] = "Bearer " .. pick()
  elseif credential == "bearer-once" then headers["Authorization"] = "Bearer " .. next_value()
  elseif credential == "x-id" then headers["x-id"] = pick()
  elseif credential == "admin" then headers["Authorization"] = "Bearer " .. admin
  elseif credential == "sid" then headers["Cookie"] = "sid=" .. pick()
  end
  local user = "user" .. math.random(0, 999)
  local p = path:gsub("{user}", user)
  local b = body and body:gsub("{user}", user) or nil
  if b then headers["Content-Type"] = "application/json" end
  return wrk.format(method, p, headers, b)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"p999Us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
