-- wrk script: GET /Users?filter=userName eq "u<n>@contoso.example" for a random n in 1..1,000,000.
local N = 1000000
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
request = function()
  local n = math.random(1, N)
  return wrk.format("GET", "/scim/v2/contoso.example/Users?filter=userName%20eq%20%22u" .. n .. "%40contoso.example%22")
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors status %d, p50 %.2f ms, p99 %.2f ms\n", summary.requests, summary.errors.status, latency:percentile(50)/1000, latency:percentile(99)/1000))
end
