-- POSTs the pre-signed Standard Webhooks stream that benches/peers/sign.py
-- wrote (PEERS_STREAM=DIR): thread k reads DIR/stream.k at start-up (one
-- read of fixed-width records, no parsing) and sends its deliveries in
-- order, so every request carries a webhook-id that no other request of the
-- run carries. No HMAC runs during the load: a request is a few slices and
-- string concatenations.
--
-- PEERS_MODE=svix sends the same ids and bodies to Svix's message-create
-- API instead: {"eventType","eventId","payload"} with a bearer token
-- (PEERS_TOKEN); Svix refuses a repeated eventId with 409.
--
-- If a thread runs out of deliveries it starts again from its first one
-- (those are duplicates, stored once) and done() says the run is invalid.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local data          -- this thread's stream file, one string
local reclen, n = 0, 0
local id_at, id_len, ts_at, sig_at, sig_len
local bodies = {}
local i = 0
wrapped = 0 -- global: done() reads it through thread:get
local svix = false
local prefix, token

local function read_bodies(path)
  local f = assert(io.open(path, "rb"))
  local out = {}
  while true do
    local len = f:read("*l")
    if not len then break end
    table.insert(out, f:read(tonumber(len)))
  end
  f:close()
  return out
end

function init(args)
  local dir = assert(os.getenv("PEERS_STREAM"), "PEERS_STREAM is not set")
  svix = os.getenv("PEERS_MODE") == "svix"
  token = os.getenv("PEERS_TOKEN") or ""
  bodies = read_bodies(dir .. "/bodies")
  local f = assert(io.open(dir .. "/stream." .. tid, "rb"))
  data = f:read("*a")
  f:close()
  -- Fixed-width records (sign.py): "BB <id> <timestamp> <signature>\n".
  local first = data:sub(1, assert(data:find("\n", 1, true), "empty stream for thread " .. tid))
  reclen = #first
  local s1 = first:find(" ", 1, true)
  local s2 = first:find(" ", s1 + 1, true)
  local s3 = first:find(" ", s2 + 1, true)
  id_at, id_len = s1 + 1, s2 - s1 - 1
  ts_at = s2 + 1
  sig_at, sig_len = s3 + 1, reclen - s3 - 1
  assert(#data % reclen == 0, "stream records are not of one width")
  n = #data / reclen
  local host = wrk.host .. ":" .. wrk.port
  prefix = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. host .. "\r\nContent-Type: application/json\r\n"
  if svix then
    prefix = prefix .. "Authorization: Bearer " .. token .. "\r\n"
    -- The payload is the body as is, so one event type for all.
    for k, body in ipairs(bodies) do
      bodies[k] = '","eventType":"bench.delivery","payload":' .. body .. "}"
    end
  end
end

local sub = string.sub

function request()
  if i == n then
    i = 0
    wrapped = wrapped + 1
  end
  local at = i * reclen
  i = i + 1
  local body = bodies[tonumber(sub(data, at + 1, at + 2))]
  local id = sub(data, at + id_at, at + id_at + id_len - 1)
  if svix then
    body = '{"eventId":"' .. id .. body
    return prefix .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
  end
  return prefix .. "webhook-id: " .. id .. "\r\nwebhook-timestamp: " .. sub(data, at + ts_at, at + ts_at + 9) ..
    "\r\nwebhook-signature: " .. sub(data, at + sig_at, at + sig_at + sig_len - 1) ..
    "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local e = summary.errors
  -- One line for run.sh; latencies in microseconds.
  io.write(string.format("PEERS requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
  for _, t in ipairs(threads) do
    local w = t:get("wrapped")
    if w and w > 0 then
      io.write(string.format("STREAM EXHAUSTED: thread %d reused its deliveries (%d times); raise PEERS_MAX_RATE\n",
        t:get("tid"), w))
    end
  end
end
