-- wrk script: POST /api/rooms/:id/messages with a unique clientMsgId per request, spread over
-- the rooms in ROOMS (comma-separated), with the bearer token in TOKEN.
local counter = 0
local rooms = {}
local thread_id = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  for room in string.gmatch(os.getenv("ROOMS"), "[^,]+") do
    rooms[#rooms + 1] = room
  end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local room = rooms[(counter % #rooms) + 1]
  local body = '{"body":"bench message ' .. counter .. '","clientMsgId":"t' .. thread_id .. '-' .. counter .. '-' .. math.random(1e9) .. '"}'
  return wrk.format("POST", "/api/rooms/" .. room .. "/messages", nil, body)
end
