-- Shared by post.lua and get.lua: hold wrk to a fixed request rate and report percentiles as JSON.
--
-- wrk itself has no rate control; its delay() hook says how long to wait before a connection
-- sends its next request. Each thread schedules request k at start + k / rate_per_thread (open
-- loop: a slow answer does not lower the rate as long as another connection is free), using the
-- monotonic clock through LuaJIT's FFI. RATE (default 200) is the total over all threads.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } reel_timespec;
  int clock_gettime(int clk_id, reel_timespec *tp);
]]
local ts = ffi.new("reel_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local pace = {}
local threads = {}

function pace.setup(thread)
  table.insert(threads, thread)
end

-- Called in each thread's own Lua state.
function pace.init(nthreads)
  local rate = tonumber(os.getenv("RATE") or "200")
  pace.interval_ms = 1000 * nthreads / rate
  pace.next_ms = nil
end

function pace.delay()
  local t = now_ms()
  if not pace.next_ms then
    pace.next_ms = t
  end
  local wait = pace.next_ms - t
  pace.next_ms = pace.next_ms + pace.interval_ms
  if wait < 0 then
    -- Behind schedule (every connection was busy): catch up, but never burst more than 100 ms.
    if -wait > 100 then pace.next_ms = t + pace.interval_ms end
    return 0
  end
  return wait
end

function pace.done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests": %d, "duration_s": %.3f, "rate": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, "non_2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end

return pace
