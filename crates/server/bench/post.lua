-- wrk script: POST /Users with a userName unique per thread, request and run (RUN env var).
local counter = 0
local threads = {}
setup = function(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/scim+json"
request = function()
  counter = counter + 1
  local id = (tid or 0) .. "x" .. counter .. (os.getenv("RUN") or "")
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p' .. id
    .. '@contoso.example","displayName":"P ' .. counter .. '","externalId":"ext-' .. id .. '"}'
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors status %d, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
