-- wrk script of the issue-17 scenarios (bench/scenarios/m_*, n_*, o_*): every request differs.
--
-- VARIED (environment) names the request family:
--   kleber-page      /records?where=commune="X" AND montant > N&order_by=montant desc&limit=100
--   datasette-page   the same page from Datasette's table JSON (commune=X&montant__gt=N)
--   kleber-small     the same filter on the 1,000-record dataset `small`, limit=20
--   datasette-small  the same on Datasette's `small` table, _size=20
-- X is drawn from the 33 communes of bench/gen_records.py and N from 0..4999, seeded per
-- thread (VARIED_SEED), so Kleber and Datasette get the same sequence of queries. done()
-- prints one summary line per figure, as load.lua does.

local COMMUNES = {
  "Strasbourg", "Schiltigheim", "Illkirch-Graffenstaden", "Lingolsheim", "Bischheim",
  "Hœnheim", "Ostwald", "Eckbolsheim", "Vendenheim", "Souffelweyersheim", "Geispolsheim",
  "Holtzheim", "Entzheim", "Oberhausbergen", "Mittelhausbergen", "Niederhausbergen",
  "Wolfisheim", "Oberschaeffolsheim", "Achenheim", "Breuschwickersheim", "Hangenbieten",
  "Kolbsheim", "Blaesheim", "Plobsheim", "Eschau", "Fegersheim", "Lipsheim", "Mundolsheim",
  "Lampertheim", "Eckwersheim", "La Wantzenau", "Reichstett", "Mittelschaeffolsheim",
}

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

local kind = os.getenv("VARIED") or "kleber-page"
local seed = tonumber(os.getenv("VARIED_SEED") or "17")

local function kleber(dataset, limit, commune, n)
  local where = 'commune = "' .. commune .. '" AND montant > ' .. n
  return "/api/explore/v2.1/catalog/datasets/" .. dataset .. "/records?where=" .. encode(where)
    .. "&order_by=" .. encode("montant desc") .. "&limit=" .. limit
end

local function datasette(db, size, commune, n)
  return "/" .. db .. "/" .. db .. ".json?commune=" .. encode(commune) .. "&montant__gt=" .. n
    .. "&_sort_desc=montant&_size=" .. size .. "&_nosuggest=1"
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed * 1000 + id)
  statuses = {}
end

function request()
  local commune = COMMUNES[math.random(#COMMUNES)]
  local n = math.random(0, 4999)
  local path
  if kind == "datasette-page" then
    path = datasette("records", 100, commune, n)
  elseif kind == "kleber-small" then
    path = kleber("small", 20, commune, n)
  elseif kind == "datasette-small" then
    path = datasette("small", 20, commune, n)
  else
    path = kleber("records", 100, commune, n)
  end
  return wrk.format("GET", path)
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
  local ok = 0
  for status, n in pairs(counts) do
    if status >= 200 and status < 300 then ok = ok + n end
  end
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("ok %d\n", ok))
  io.write(string.format("seconds %.3f\n", seconds))
  io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
  local e = summary.errors
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
end
