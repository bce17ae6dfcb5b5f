-- GET /v1/members/{id}/balance for a random member of MEMBERS (C0000000 ..), with the key in KEY.
local members = tonumber(os.getenv("MEMBERS") or "20000")
local key = os.getenv("KEY")
math.randomseed(os.time())
request = function()
  local headers = {}
  if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
  return wrk.format("GET", string.format("/v1/members/C%07d/balance", math.random(0, members - 1)), headers)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
