-- wrk script for S4: GET a random seeded draft (env LO, HI, PREFIX), as bench/run.py asks.
local lo, hi = tonumber(os.getenv("LO")), tonumber(os.getenv("HI"))
local prefix = os.getenv("PREFIX")
request = function()
  return wrk.format("GET", prefix .. math.random(lo, hi))
end
