-- Replays pre-signed Twilio webhook requests with wrk.
--
-- Usage: wrk -s bench/replay.lua URL -- REQUESTS_FILE PATH
-- REQUESTS_FILE has one request a line: "<X-Twilio-Signature>\t<form body>". wrk thread k
-- (of n) takes lines k, k+n, k+2n, ... so no two threads send the same MessageSid. A thread
-- that runs out of lines starts its slice again and counts that in `wrapped` (bench/run.py
-- sizes the file so that does not happen, and reports it when it does).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file, path = args[1], args[2] or "/webhooks/twilio/sms"
  requests = {}
  index = 0
  wrapped = 0
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  local line_number = 0
  for line in io.lines(file) do
    if line_number % nthreads == (id - 1) then
      local tab = line:find("\t", 1, true)
      local signature, body = line:sub(1, tab - 1), line:sub(tab + 1)
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    line_number = line_number + 1
  end
end

function request()
  index = index + 1
  if index > #requests then
    index = 1
    wrapped = wrapped + 1
  end
  return requests[index]
end

function done(summary, latency, requests)
  local wrapped_total = 0
  for _, thread in ipairs(threads) do
    wrapped_total = wrapped_total + (thread:get("wrapped") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f, "wrapped": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, wrapped_total))
end
