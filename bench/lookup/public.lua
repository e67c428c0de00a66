-- wrk script for run.sh's MODE=public: GET the customer's coverage page
-- (/c/{serial}?k={code}, HTML, Chinese) for paths read from $BENCH_PATHS
-- (bench/lookup/codes writes them: random serials with their check codes).
-- done() prints the same machine-readable line as lookup.lua.
local file = os.getenv("BENCH_PATHS") or ""
local paths = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function init(args)
  for line in io.lines(file) do
    paths[#paths + 1] = line
  end
  math.randomseed(os.time() * 1000 + (id or 0))
  wrk.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)])
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
