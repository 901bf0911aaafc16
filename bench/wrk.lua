-- One wrk script for every scenario. Arguments (after --):
--   1 path   2 method   3 credential: cookie | bearer | bearer-once | x-id | admin | admin-once
--     (each value once, as `{value}` in the path) | form-once (each value once, as a form's
--     logout_token) | sid | jar (the value is the whole Cookie header) | binding-once (each
--     value once: "<token> <session id> <proof>", a device binding's refresh) | none
--   4 file of values, one per line (tokens, ids) or "-"   5 admin key or "-"   6 body or "-"
--   7 the number of threads (wrk -t)
-- Each request picks a random value; `{user}` in the path or body becomes a random user id.
--
-- Latency is measured here, raw: wrk's own percentiles are corrected for coordinated omission
-- (each slow answer adds synthetic samples), which under a GC pause reports a p99 many times
-- any latency a client saw. Run with one connection per thread (-tN -cN): each thread's Lua
-- state then sees its requests strictly one after another, so the time from request() to
-- response() is exactly one request's latency. done() prints one RESULT line for bench/run.mjs.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local now = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1000000 + tonumber(now.tv_nsec) / 1000
end

local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  threads[thread_count] = thread
end

local path, method, credential, values, admin, body, thread_total
local count = 0
local sent_at = 0
-- Per thread: raw latencies in microseconds, and answers by status when not 2xx (read by
-- done() through thread:get).
latencies = {}
failures = {}

function init(args)
  path, method, credential = args[1], args[2], args[3]
  values = {}
  if args[4] ~= "-" then
    for line in io.lines(args[4]) do values[#values + 1] = line end
  end
  admin = args[5]
  body = args[6] ~= "-" and args[6] or nil
  thread_total = tonumber(args[7])
  math.randomseed(os.time() + thread_index * 7919)
end

local function pick()
  return values[math.random(#values)]
end

-- Each value at most once across all threads, in order (for tokens that die when used, as
-- rotation's do): thread k of n takes values k, k+n, k+2n, ...
local function next_value()
  local index = thread_index + count * thread_total
  count = count + 1
  return values[((index - 1) % #values) + 1]
end

function request()
  local headers = {}
  local value = nil
  local form = nil
  if credential == "cookie" then headers["Cookie"] = "__Host-session=" .. pick()
  elseif credential == "bearer" then headers["Authorization"] = "Bearer " .. pick()
  elseif credential == "bearer-once" then headers["Authorization"] = "Bearer " .. next_value()
  elseif credential == "x-id" then headers["x-id"] = pick()
  elseif credential == "admin" then headers["Authorization"] = "Bearer " .. admin
  elseif credential == "admin-once" then
    headers["Authorization"] = "Bearer " .. admin
    value = next_value()
  elseif credential == "form-once" then form = "logout_token=" .. next_value()
  elseif credential == "sid" then headers["Cookie"] = "sid=" .. pick()
  elseif credential == "jar" then headers["Cookie"] = pick()
  elseif credential == "binding-once" then
    local token, id, proof = next_value():match("^(%S+) (%S+) (%S+)$")
    headers["Authorization"] = "Bearer " .. token
    headers["Sec-Secure-Session-Id"] = id
    headers["Secure-Session-Response"] = proof
  end
  local user = "user" .. math.random(0, 999)
  local p = path:gsub("{user}", user)
  if value then p = p:gsub("{value}", value) end
  local b = body and body:gsub("{user}", user) or nil
  if b then headers["Content-Type"] = "application/json" end
  if form then
    b = form
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  sent_at = now_us()
  return wrk.format(method, p, headers, b)
end

function response(status, headers, body)
  latencies[#latencies + 1] = now_us() - sent_at
  if status >= 300 then failures[status] = (failures[status] or 0) + 1 end
end

function done(summary, latency, requests)
  local all = {}
  local by_status = {}
  for _, thread in ipairs(threads) do
    for _, us in ipairs(thread:get("latencies")) do all[#all + 1] = us end
    for status, n in pairs(thread:get("failures")) do by_status[status] = (by_status[status] or 0) + n end
  end
  local statuses = {}
  for status, n in pairs(by_status) do statuses[#statuses + 1] = string.format('"%d":%d', status, n) end
  table.sort(all)
  local function percentile(q)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * q))]
  end
  io.write(string.format(
    'RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"p999Us":%d,"maxUs":%d,"correctedP99Us":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    percentile(0.5), percentile(0.99), percentile(0.999), all[#all] or 0, latency:percentile(99), table.concat(statuses, ",")))
end
