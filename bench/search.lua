-- wrk script: varied flight and hotel searches that miss the answer cache.
-- Each request picks a route (or city) and a date from a seeded sequence, so the
-- query mix is the same from run to run but rarely repeats within a run.
local routes = {
  {"JFK","LAX"},{"LHR","SYD"},{"CDG","SIN"},{"ORD","FRA"},{"ATL","DXB"},{"SFO","HND"},
  {"AMS","BKK"},{"MAD","GRU"},{"DEN","LHR"},{"BOS","MIA"},{"LAX","JFK"},{"DXB","LHR"},
  {"SIN","SYD"},{"HND","SFO"},{"FRA","ORD"},{"IST","JFK"},{"DEL","LHR"},{"ICN","LAX"},
}
local cities = {"Paris","London","New York","Tokyo","Dubai","Singapore","Frankfurt","Madrid"}
local mode = os.getenv("OTA_BENCH_MODE") or "flights"
local base = os.time()
local n = 0

local function day(offset)
  return os.date("!%Y-%m-%d", base + offset * 86400)
end

request = function()
  n = n + 1
  if mode == "hotels" then
    local c = cities[(n % #cities) + 1]
    local d = 3 + (n * 7) % 150
    local path = string.format("/api/v1/hotels/search?city=%s&check_in=%s&check_out=%s&guests=%d",
      c:gsub(" ", "%%20"), day(d), day(d + 1 + n % 5), 1 + n % 3)
    return wrk.format("GET", path)
  end
  local r = routes[(n % #routes) + 1]
  local d = 2 + (n * 13) % 170
  local path = string.format("/api/v1/flights/search?origin=%s&destination=%s&departure_date=%s&adults=%d&max_stops=1",
    r[1], r[2], day(d), 1 + n % 4)
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  io.write(string.format("\n%s: %d requests, %d errors (status), %.0f req/s\n", mode, summary.requests,
    summary.errors.status, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
