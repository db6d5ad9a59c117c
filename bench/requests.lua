-- What replay.lua and burst.lua share: each wrk thread's slice of the requests file, and the
-- one-line JSON summary bench/run.py reads. Loaded with dofile() from the project folder.
--
-- REQUESTS_FILE has one request a line: "<X-Twilio-Signature>\t<form body>". wrk thread k
-- (of WRK_THREADS) takes lines k, k+n, k+2n, ... so no two threads send the same MessageSid.

function load_slice(file, path)
  local slice = {}
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  local line_number = 0
  for line in io.lines(file) do
    if line_number % nthreads == (id - 1) then
      local tab = line:find("\t", 1, true)
      local signature, body = line:sub(1, tab - 1), line:sub(tab + 1)
      slice[#slice + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    line_number = line_number + 1
  end
  return slice
end

-- The sum over every thread of each named global (e.g. "wrapped").
function thread_totals(threads, names)
  local totals = {}
  for _, name in ipairs(names) do
    totals[name] = 0
    for _, thread in ipairs(threads) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  return totals
end

-- BENCH_JSON {...}: wrk's counts and latency percentiles, plus `extra` (name -> number).
function write_summary(summary, latency, extra)
  local errors = summary.errors
  local fields = ""
  for name, value in pairs(extra) do
    fields = fields .. string.format(', "%s": %d', name, value)
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f%s}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, fields))
end
