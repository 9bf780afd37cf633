-- wrk script of bench/load.sh: a mix of API queries, portal pages and exports against a
-- server with the demo datasets and a dataset `records` (bench/gen_records.py).
--
-- Each request is drawn at random (seeded per thread) from weighted families; the families
-- vary their parameters (offsets, thresholds, values), so the response cache sees both hits
-- and misses. Every status is counted; done() prints one summary line per figure, which
-- load.sh reads.

local R = "/api/explore/v2.1/catalog/datasets/records"
local COMMUNES = { "Strasbourg", "Schiltigheim", "Illkirch-Graffenstaden", "Lingolsheim", "Bischheim", "Ostwald" }
local CATEGORIES = { "Voirie", "Propret%C3%A9", "Stationnement", "Bruit", "Arbres", "Transports" }

local function pick(list) return list[math.random(#list)] end

-- Each family: weight (in thousandths) and a function returning a path.
local families = {
  -- API, v2.1 records: pages, filters, sorts, aggregates, refinements, facets
  { 120, function() return R .. "/records?limit=20&offset=" .. (math.random(0, 490) * 20) end },
  { 90, function() return R .. "/records?where=commune%3D%22" .. pick(COMMUNES) .. "%22&order_by=montant%20desc&limit=50" end },
  { 80, function() return R .. "/records?where=montant%3E" .. math.random(0, 5000) .. "&limit=10&select=id,commune,montant" end },
  { 60, function() return R .. "/records?select=categorie,count(*)%20as%20n,avg(montant)%20as%20m&group_by=categorie" end },
  { 40, function() return R .. "/records?select=count(*)%20as%20n&where=quantite%3E" .. math.random(0, 200) end },
  { 60, function() return R .. "/records?refine=categorie%3A" .. pick(CATEGORIES) .. "&limit=10" end },
  { 40, function() return R .. "/records?q=" .. pick(COMMUNES) .. "&limit=10" end },
  { 50, function() return R .. "/facets?facet=categorie&facet=commune&facet=priorite" end },
  { 30, function() return R end },
  -- API, catalog and other datasets
  { 40, function() return "/api/explore/v2.1/catalog/datasets?limit=10" end },
  { 20, function() return "/api/explore/v2.1/catalog/datasets?where=search(%22parking%22)" end },
  { 20, function() return "/api/explore/v2.1/catalog/facets" end },
  { 40, function() return "/api/explore/v2.1/catalog/datasets/comptages-velos/records?limit=50&offset=" .. (math.random(0, 20) * 50) end },
  { 20, function() return "/api/explore/v2.1/catalog/datasets/occupation-parkings-temps-reel/records?limit=100" end },
  -- API, legacy
  { 40, function() return "/api/records/1.0/search/?dataset=records&rows=10&start=" .. math.random(0, 1000) .. "&refine.commune=" .. pick(COMMUNES) end },
  { 10, function() return "/api/explore/v2.0/catalog/datasets/records/records?limit=10" end },
  -- portal pages
  { 40, function() return "/" end },
  { 30, function() return "/explore/" end },
  { 20, function() return "/explore/?q=velo" end },
  { 40, function() return "/explore/dataset/records/table/?page=" .. math.random(1, 50) end },
  { 20, function() return "/explore/dataset/comptages-velos/information/" end },
  { 20, function() return "/explore/dataset/toilettes-publiques/map/" end },
  { 15, function() return "/explore/dataset/records/analyze/" end },
  -- exports: small streamed ones, spooled ones (bounded: some 503s are expected), and a
  -- whole 50,000-record export now and then
  { 40, function() return R .. "/exports/csv?limit=1000&offset=" .. (math.random(0, 40) * 1000) end },
  { 25, function() return R .. "/exports/json?limit=500&where=commune%3D%22" .. pick(COMMUNES) .. "%22" end },
  { 20, function() return "/api/explore/v2.1/catalog/datasets/toilettes-publiques/exports/geojson" end },
  { 10, function() return R .. "/exports/xlsx?limit=2000&offset=" .. (math.random(0, 20) * 1000) end },
  { 10, function() return R .. "/exports/parquet?limit=5000" end },
  { 3, function() return R .. "/exports/csv" end },
  { 2, function() return R .. "/exports/geojson?limit=20000" end },
}

local total = 0
for _, f in ipairs(families) do total = total + f[1] end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(1000 + id)
  statuses = {}
end

function request()
  local x = math.random(total)
  for _, f in ipairs(families) do
    x = x - f[1]
    if x <= 0 then return wrk.format("GET", f[2]()) end
  end
  return wrk.format("GET", R)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("seconds %.1f\n", seconds))
  io.write(string.format("throughput_rps %.1f\n", summary.requests / seconds))
  io.write(string.format("bytes %d\n", summary.bytes))
  io.write(string.format("p50_ms %.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms %.1f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms %.1f\n", latency.max / 1000))
  local e = summary.errors
  io.write(string.format("socket_errors connect=%d read=%d write=%d timeout=%d\n", e.connect, e.read, e.write, e.timeout))
  local keys = {}
  for status in pairs(counts) do table.insert(keys, status) end
  table.sort(keys)
  for _, status in ipairs(keys) do
    io.write(string.format("status %d %d\n", status, counts[status]))
  end
end
