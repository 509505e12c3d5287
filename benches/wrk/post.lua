-- POSTs Prets deliveries with a unique eventId per request (so the receiver
-- stores each one instead of short-cutting duplicates), with the bearer.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- Several wrk processes at once (benches/wrk/postgres.sh) each get their
  -- own range of thread ids, so their event ids never collide.
  thread_id = tid + tonumber(os.getenv("WRK_THREAD_OFFSET") or "0")
end

local template = '{"eventId":"evt_01KVWRK%02d%014d","version":"2026-06-01","timestamp":"2026-06-15T09:30:12Z",' ..
  '"organization":{"organizationId":"mer_01HZQ7K8ABCDEFGHJKMNPQRSTV","slug":"northwind-cycles"},' ..
  '"data":{"quoteId":"quo_01KV%s","externalId":"INV-2026-0042"},"type":"quote.updated"}'

-- QUOTES=each: every delivery about its own quote (Prets orders by quote,
-- so one quote for all measures one entity's one-at-a-time handling);
-- otherwise one quote for all, as before.
local each_quote = os.getenv("QUOTES") == "each"
-- HOOK_PATH: where to post (default /hooks/prets).
local path = os.getenv("HOOK_PATH") or "/hooks/prets"

local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. (os.getenv("PRETS_SECRET") or "whsec_BenchBenchBenchBenchBenchBenchBenchBench123"),
}

function request()
  counter = counter + 1
  local quote = each_quote and string.format("ORD%02d%014d", thread_id, counter) or "2QF850456DG9X7X2HKQ03R"
  local body = string.format(template, thread_id, counter, quote)
  return wrk.format("POST", path, headers, body)
end
