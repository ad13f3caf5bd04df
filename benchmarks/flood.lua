-- wrk script: a bot flood that the server refuses, at a steady pace, each request from its
-- own address (X-Forwarded-For; the server trusts one proxy hop). It cycles through a
-- foreign Origin, an invalid number, a forged form token and a widget that does not exist.
-- Arguments: a genuine form token (only its forgery is sent), the origin, the widget id, the
-- delay in ms each connection waits before each request. Prints the count of each status.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  forged = args[1]:sub(1, -5) .. "AAAA"
  origin = args[2]
  good_path = "/v1/widgets/" .. args[3] .. "/callbacks"
  missing_path = "/v1/widgets/" .. string.rep("0", 32) .. "/callbacks"
  pause = tonumber(args[4])
  serial = 0
  statuses = {}
end

local function address()
  -- 10.<thread>.x.y: a fresh address for each request, 65,536 per thread before reuse.
  return string.format("10.%d.%d.%d", 128 + id, math.floor(serial / 256) % 256, serial % 256)
end

function request()
  serial = serial + 1
  local kind = serial % 4
  local headers = {
    ["Content-Type"] = "application/json",
    ["Origin"] = origin,
    ["X-Forwarded-For"] = address(),
  }
  local phone = string.format("+1201%07d", 2000000 + serial % 7000000)
  local path = good_path
  local body
  if kind == 0 then
    headers["Origin"] = "https://elsewhere.example"
    body = string.format('{"phone":"%s","token":"%s"}', phone, forged)
  elseif kind == 1 then
    body = string.format('{"phone":"+1 201 555","token":"%s"}', forged)
  elseif kind == 2 then
    body = string.format('{"phone":"%s","token":"%s"}', phone, forged)
  else
    path = missing_path
    body = string.format('{"phone":"%s","token":"%s"}', phone, forged)
  end
  return wrk.format("POST", path, headers, body)
end

function delay()
  return pause
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d: %d\n", status, count))
  end
end
