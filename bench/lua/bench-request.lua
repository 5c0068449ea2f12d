-- The one wrk script of `npm run bench`. Arguments (after `--`):
--   method  token|-  nonce  path[,path…]
-- GET with one path is a static request (wrk builds it once, costing the load generator least).
-- POST sends {"body","clientMsgId"} with a clientMsgId unique per request (nonce-thread-counter),
-- so every post is a new message and none is answered as an idempotent retry; paths (one per
-- room) are taken in turn.

local method, nonce
local paths = {}
local next_path = 0
local counter = 0

function setup(thread)
  thread:set("thread_id", tostring(setup_count or 1))
  setup_count = (setup_count or 1) + 1
end

function init(args)
  method = args[1]
  nonce = args[3]
  for path in string.gmatch(args[4], "[^,]+") do
    table.insert(paths, path)
  end
  if args[2] ~= "-" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  if method == "POST" then
    wrk.headers["Content-Type"] = "application/json"
  elseif #paths == 1 then
    wrk.method = method
    wrk.path = paths[1]
    request = nil
  end
end

function request()
  next_path = next_path % #paths + 1
  if method ~= "POST" then
    return wrk.format(method, paths[next_path])
  end
  counter = counter + 1
  local id = nonce .. "-" .. thread_id .. "-" .. counter
  local body = '{"body":"bench message ' .. id .. '","clientMsgId":"' .. id .. '"}'
  return wrk.format("POST", paths[next_path], nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,' ..
      '"latencyP50Us":%d,"latencyP99Us":%d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
