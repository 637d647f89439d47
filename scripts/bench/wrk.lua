-- wrk script for scripts/bench.sh. PD_MODE picks the request:
--   append  one message event to a random ticket  (POST /v1/tickets/{h}/events)
--   bulk    PD_BULK message events, 10 to each of PD_BULK/10 random tickets
--           (POST /v1/events/bulk?receipts=compact, as the typed client
--           sends it), as a platform syncing recent activity
--   proof   the proof bundle of a random ticket   (GET /v1/tickets/{h}/proof)
--   proof_if the same, conditional: If-None-Match with the ticket's current
--           ETag (PD_TICKETS lines are "handle<TAB>etag"), answered 304
--   floor   GET /healthz, which does no work: the HTTP floor the 304s are
--           measured against
-- PD_TICKETS names a file of ticket handles, one per line; PD_KEY is an
-- ingest API key. done() prints one JSON line with counts and percentiles.

local mode = os.getenv("PD_MODE") or "append"
local key = os.getenv("PD_KEY") or ""
local bulk = tonumber(os.getenv("PD_BULK") or "1000")
local tickets = {}
local body = nil
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. key,
}

local function message()
  return '{"type":"message.added","data":{"direction":"inbound","visibility":"public"},'
    .. '"actor":{"role":"customer","ref":"cust-4711"},"channel":"web",'
    .. '"occurred_at":"' .. os.date("!%Y-%m-%dT%H:%M:%S.000Z") .. '",'
    .. '"content":{"text":"Hello, my withdrawal of 0.5 BTC has been pending for three days."}}'
end

local etags = {}

function init(args)
  for line in io.lines(os.getenv("PD_TICKETS")) do
    if #line > 0 then
      local h, tag = line:match("^(%S+)\t(.+)$")
      if h then
        tickets[#tickets + 1] = h
        etags[h] = tag
      else
        tickets[#tickets + 1] = line
      end
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  if mode == "bulk" then
    local items = {}
    local event = message()
    local t
    for i = 1, bulk do
      if (i - 1) % 10 == 0 then t = tickets[math.random(#tickets)] end
      items[i] = '{"ticket":"' .. t .. '","event":' .. event .. '}'
    end
    body = '{"events":[' .. table.concat(items, ",") .. ']}'
  else
    body = message()
  end
end

function request()
  if mode == "bulk" then
    return wrk.format("POST", "/v1/events/bulk?receipts=compact", headers, body)
  end
  if mode == "floor" then
    return wrk.format("GET", "/healthz")
  end
  local t = tickets[math.random(#tickets)]
  if mode == "proof" then
    return wrk.format("GET", "/v1/tickets/" .. t .. "/proof")
  end
  if mode == "proof_if" then
    return wrk.format("GET", "/v1/tickets/" .. t .. "/proof", { ["If-None-Match"] = etags[t] })
  end
  return wrk.format("POST", "/v1/tickets/" .. t .. "/events", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
