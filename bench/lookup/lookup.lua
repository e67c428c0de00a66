-- wrk script for the lookup benchmark: GET /api/v1/items/{serial} for a
-- uniformly random serial of the N registered ones (SN00000000 ...), with the
-- bearer key from the environment. With BENCH_PATHS (run.sh's MODE=public)
-- it GETs instead random lines of that file: coverage pages with their check
-- codes (bench/lookup/codes writes them), in Chinese. done() prints one
-- machine-readable line.
local n = tonumber(os.getenv("BENCH_N") or "1000000")
local key = os.getenv("BENCH_KEY") or ""
local paths_file = os.getenv("BENCH_PATHS") or ""
local paths = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  if key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
  end
  if paths_file ~= "" then
    for line in io.lines(paths_file) do
      paths[#paths + 1] = line
    end
    wrk.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
  end
end

function request()
  if #paths > 0 then
    return wrk.format("GET", paths[math.random(1, #paths)])
  end
  return wrk.format("GET", string.format("/api/v1/items/SN%08d", math.random(0, n - 1)))
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
