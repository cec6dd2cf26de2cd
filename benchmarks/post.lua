-- wrk script: POST the same JSON body (from the file named by BENCH_BODY) with a bearer
-- token (BENCH_TOKEN), count the 202 answers across all threads, and print one JSON line
-- of figures at the end for benchmarks/run.py to read.
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) privalytics-bench"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   accepted = 0
   other = 0
end

function response(status, headers, body)
   if status == 202 then
      accepted = accepted + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local accepted_total, other_total = 0, 0
   for _, thread in ipairs(threads) do
      accepted_total = accepted_total + thread:get("accepted")
      other_total = other_total + thread:get("other")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"accepted":%d,"other_status":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
      summary.requests, summary.duration, accepted_total, other_total,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
