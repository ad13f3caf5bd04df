-- wrk script: one JSON submission per pre-minted form token (tokens are single-use), each
-- to a distinct number. Arguments: the token file prefix (files <prefix>-<thread>.txt hold
-- "token<TAB>number" lines) and the origin. Prints the count of each answer status.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(args[1] .. "-" .. id .. ".txt") do
    local token, phone = line:match("([^\t]+)\t([^\t]+)")
    table.insert(lines, string.format('{"phone":"%s","token":"%s"}', phone, token))
  end
  position = 0
  statuses = {}
  exhausted = 0
  headers = {["Content-Type"] = "application/json", ["Origin"] = args[2]}
end

function request()
  position = position + 1
  if position > #lines then
    exhausted = exhausted + 1
    position = 1
  end
  return wrk.format("POST", wrk.path, headers, lines[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  local reused = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    reused = reused + thread:get("exhausted")
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d: %d\n", status, count))
  end
  io.write(string.format("tokens reused: %d\n", reused))
end
