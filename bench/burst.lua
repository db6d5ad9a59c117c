-- A stadium burst with wrk: every pre-signed text sent once, every answer checked.
--
-- Usage: wrk -s bench/burst.lua URL -- REQUESTS_FILE PATH EXPECT
-- REQUESTS_FILE as for replay.lua ("<X-Twilio-Signature>\t<form body>" a line). wrk thread k
-- (of n) sends lines k, k+n, ... and stops once it has as many answers as lines. An answer
-- counts as `with_code` when it is a 200 whose body contains EXPECT (e.g. "code: T1-").
-- wrk now and then asks for a request and never sends it (a write that would block is
-- retried with a fresh request), so a thread that has sent its whole slice starts it again:
-- the few texts sent twice are Twilio-style duplicates, answered with the first reply. The
-- database, not this count, says whether every customer got their code (bench/run.py).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file, path = args[1], args[2] or "/webhooks/twilio/sms"
  expect = args[3] or "code:"
  requests = {}
  sent = 0
  answered = 0
  with_code = 0
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
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 and body:find(expect, 1, true) then
    with_code = with_code + 1
  end
  if answered >= #requests then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_with_code, total_answered = 0, 0
  for _, thread in ipairs(threads) do
    total_with_code = total_with_code + (thread:get("with_code") or 0)
    total_answered = total_answered + (thread:get("answered") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f, "wrapped": 0, "answered": %d, "with_code": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, total_answered, total_with_code))
end
