-- wrk script: varied flight searches (up to one stop, one adult, economy) between the
-- busiest airports on dates over the next 90 days, so answer caches mostly miss.
--   wrk -t2 -c32 -d30s --latency -s bench/wrk/one-stop.lua http://127.0.0.1:8080
-- Dates start from DAY0 (YYYY-MM-DD, default today in UTC).
local airports = {
  "ATL","DXB","DFW","LHR","HND","DEN","IST","LAX","ORD","DEL","CDG","JFK","CAN","AMS",
  "FRA","PEK","PVG","SIN","ICN","BKK","MAD","CLT","LAS","MCO","MIA","SFO","SEA","PHX",
  "EWR","IAH","BOS","MSP","DTW","PHL","LGA","FLL","BWI","SLC","SAN","IAD","DCA","MDW",
  "TPA","PDX","HNL","BCN","FCO","MUC","LGW","MAN","DUB","ZRH","VIE","CPH","OSL","ARN",
  "HEL","BRU","LIS","ATH","PRG","WAW","BUD","DOH","AUH","JED","RUH","CAI","JNB","CPT",
  "NBO","ADD","LOS","CMN","BOM","BLR","MAA","HYD","CCU","KUL","CGK","MNL","HKG","TPE",
  "NRT","KIX","SYD","MEL","BNE","PER","AKL","YYZ","YVR","YUL","MEX","CUN","GRU","GIG",
  "EZE","SCL","BOG","LIM","PTY"
}
local day0 = os.getenv("DAY0")
local base
if day0 then
  local y, m, d = day0:match("(%d+)-(%d+)-(%d+)")
  base = os.time({year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12})
else
  base = os.time() + 86400
end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end
function request()
  local o, d
  repeat
    o = airports[math.random(#airports)]
    d = airports[math.random(#airports)]
  until o ~= d
  local date = os.date("!%Y-%m-%d", base + 86400 * math.random(0, 89))
  return wrk.format("GET", "/api/v1/flights/search?origin=" .. o .. "&destination=" .. d ..
    "&departure_date=" .. date .. "&max_stops=1&limit=20")
end
