-- wrk script of `make bench-load`: POST /v1/hit bodies of 1,000 returning visitors (each
-- with its pl_vid cookie and one acquisition channel), in the mix of the Go load run:
-- 55% pageviews (one in five landing from the visitor's campaign), 25% commerce events with
-- props, 15% engagement reports, 5% a pageview and an event together; all ask for the four
-- slots of the example rules. Event ids are unique per run (RUN in the environment).
-- done() prints one line that the bench script reads: BENCH requests, seconds, non-2xx,
-- socket errors, and the latency quantiles and maximum in microseconds.

local visitors = 1000
local run = os.getenv("RUN") or "w"
local vids = {}
for i = 1, visitors do
  vids[i] = string.format("%016x%016x", 0x5eed0000 + i, i * 2654435761)
end
local paths = {"/", "/products/trail-jacket", "/products/rain-shell", "/products/merino-base-layer",
  "/category/jackets", "/category/outlet", "/pricing", "/cart", "/checkout",
  "/blog/layering-guide", "/about", "/signup"}
local campaigns = {
  {"", ""},
  {"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring&utm_content=video_a", "https://l.facebook.com/"},
  {"?utm_source=newsletter&utm_medium=email&utm_campaign=april_digest", ""},
  {"?gclid=Cj0KCQjwn7mwBhCiARIsAGoxjaL0", "https://www.google.com/"},
  {"", "https://www.google.com/"},
  {"", "https://news.ycombinator.com/item?id=40000000"},
  {"?utm_source=tiktok&utm_medium=cpc&utm_campaign=trail_launch&ttclid=E.C.P.abc", "https://www.tiktok.com/"},
}
local events = {
  {"view_item", '{"sku":"RS-7","price":89,"currency":"EUR"}', 40},
  {"add_to_cart", '{"sku":"TJ-42","price":129.5,"currency":"EUR","qty":1}', 30},
  {"begin_checkout", '{"value":129.5,"currency":"EUR","items":1}', 15},
  {"signup", '{"plan":"free"}', 10},
  {"purchase", '{"value":129.5,"currency":"EUR","order":"A-1001"}', 5},
}
local slots = '"slots":["hero","home_returning","cart_message","pricing_offer"]'
local ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
local seq = 0

local function id()
  seq = seq + 1
  return '{"id":"' .. run .. "." .. seq .. '"'
end

local function pageview(v)
  local path = paths[math.random(#paths)]
  local query, ref = "", "https://shop.example/"
  if math.random(5) == 1 then
    local c = campaigns[(v % #campaigns) + 1]
    query, ref = c[1], c[2]
  end
  return id() .. ',"type":"pageview","url":"https://shop.example' .. path .. query ..
    '","ref":"' .. ref .. '","title":"Trail Outfitters ' .. path .. '"}'
end

local function event()
  local r, e = math.random(100), events[#events]
  for _, x in ipairs(events) do
    r = r - x[3]
    if r <= 0 then e = x break end
  end
  return id() .. ',"type":"event","name":"' .. e[1] ..
    '","url":"https://shop.example/products/trail-jacket","props":' .. e[2] .. '}'
end

local function engagement()
  return id() .. ',"type":"engagement","url":"https://shop.example/products/trail-jacket","engaged_ms":' ..
    (1000 + math.random(60000)) .. ',"scroll":' .. math.random(0, 100) .. '}'
end

function init(args)
  math.randomseed(tonumber(os.getenv("SEED") or "1"))
end

function request()
  local v = math.random(visitors)
  local r, evs = math.random(100), nil
  if r <= 55 then evs = pageview(v)
  elseif r <= 80 then evs = event()
  elseif r <= 95 then evs = engagement()
  else evs = pageview(v) .. "," .. event() end
  local body = '{"site":"demo","events":[' .. evs .. '],' .. slots .. '}'
  return wrk.format("POST", "/v1/hit", {
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = ua,
    ["Origin"] = "https://shop.example",
    ["Cookie"] = "pl_vid=" .. vids[v],
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.3f non2xx=%d errors=%d p50=%d p99=%d p999=%d max=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
