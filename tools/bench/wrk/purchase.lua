-- POST /v1/purchases with a distinct purchase id per request (thread id and a counter), for a
-- random member of MEMBERS, with the key in KEY. Every request is a fully durable command.
local members = tonumber(os.getenv("MEMBERS") or "20000")
local key = os.getenv("KEY")
local run = os.getenv("RUN") or "0"
local threads = {}
local counter = 0
local id = 0
setup = function(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
init = function(args)
  math.randomseed(os.time() + id)
end
request = function()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/json" }
  if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
  local body = string.format('{"member":"C%07d","purchaseId":"W%s-%d-%d","amount":"%d.%02d","store":"S%03d","occurredAt":"2026-03-01T10:00:00Z"}',
    math.random(0, members - 1), run, id, counter, math.random(1, 300), math.random(0, 99), math.random(0, 39))
  return wrk.format("POST", "/v1/purchases", headers, body)
end
response = function(status, headers, body)
  if status ~= 201 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
