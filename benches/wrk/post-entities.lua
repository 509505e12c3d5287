-- POSTs Prets deliveries, each with its own eventId and its own quote (so
-- per-entity ordering has one delivery per entity: what it costs across
-- entities), to the path in HOOK_PATH (default /hooks/prets), with the bearer.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

local template = '{"eventId":"evt_01KVORD%02d%014d","version":"2026-06-01","timestamp":"2026-06-15T09:30:12Z",' ..
  '"organization":{"organizationId":"mer_01HZQ7K8ABCDEFGHJKMNPQRSTV","slug":"northwind-cycles"},' ..
  '"data":{"quoteId":"quo_01KVORD%02d%014d","externalId":"INV-2026-0042"},"type":"quote.updated"}'

local path = os.getenv("HOOK_PATH") or "/hooks/prets"
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. (os.getenv("PRETS_SECRET") or "whsec_BenchBenchBenchBenchBenchBenchBenchBench123"),
}

function request()
  counter = counter + 1
  local body = string.format(template, thread_id, counter, thread_id, counter)
  return wrk.format("POST", path, headers, body)
end
