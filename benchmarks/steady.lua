-- wrk script: submit.lua at a steady pace. Each connection waits `delay` ms before each
-- request (arguments: token file prefix, origin, delay in ms), so the rate holds at about
-- connections * 1000 / (delay + latency) requests per second whatever the server does.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "submit.lua")

local base_init = init

function init(args)
  base_init(args)
  pause = tonumber(args[3])
end

function delay()
  return pause
end
