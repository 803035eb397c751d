-- wrk script for make bench: POST /v1/verify with request bodies from a file, for greenlane and
-- for the peer alike, or without bodies a GET of the URL as given (GET /health/live).
-- bench/wrk.py runs it and sets, in wrk's environment:
--   BENCH_BODIES         a file of request bodies, one JSON object per line, without event_id;
--                        empty for the GET
--   BENCH_AUTHORIZATION  the Authorization header, or empty for none
--   BENCH_RUN            a number for this run: event ids are unique across the runs of a bench
--   BENCH_PACING_MS      0 for a closed loop (each connection asks again once answered), or
--                        the mean pause of each connection between an answer and its next request
--   BENCH_PATH           where the bodies are POSTed: /v1/verify, or /v1/verify/trip
-- Read at load time, not in init(): wrk decides whether a script paces (defines delay()) when
-- it loads it, before any thread's init() runs.

local bodies = {}
if os.getenv("BENCH_BODIES") ~= "" then
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
end
local run = tonumber(os.getenv("BENCH_RUN"))
local pacing = tonumber(os.getenv("BENCH_PACING_MS"))
local path = os.getenv("BENCH_PATH") or "/v1/verify"
local headers = {["Content-Type"] = "application/json"}
local authorization = os.getenv("BENCH_AUTHORIZATION") or ""
if authorization ~= "" then
  headers["Authorization"] = authorization
end

-- globals, not locals: done() reads each thread's counts with thread:get()
sent = 0
greens = 0
errors = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(run * 1000 + tid)
end

if #bodies > 0 then
  function request()
    sent = sent + 1
    local body = bodies[(sent * 7 + tid) % #bodies + 1]
    -- the event id goes first, so the body needs no parsing: '{' .. event .. ',' .. the rest
    local event = string.format("%08x-%04x-4000-8000-%012x", run, tid, sent)
    body = '{"event_id":"' .. event .. '",' .. string.sub(body, 2)
    return wrk.format("POST", path, headers, body)
  end
end

function response(status, hdrs, body)
  if status ~= 200 then
    errors = errors + 1
  elseif string.find(body, '"decision":"green"', 1, true) then
    greens = greens + 1
  end
end

if pacing > 0 then
  -- jittered (uniform, 0.5 to 1.5 times the mean), so that connections do not fire in step
  function delay()
    return pacing * (0.5 + math.random())
  end
end

function done(summary, latency, requests)
  local g, e = 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("greens")
    e = e + t:get("errors")
  end
  local s = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%f,"greens":%d,"errors":%d,"socket_errors":%d,' ..
    '"p50":%f,"p99":%f,"p999":%f}\n',
    summary.requests, summary.duration / 1e6, g, e, s.connect + s.read + s.write + s.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000))
end
