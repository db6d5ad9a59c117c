-- A stadium burst with wrk: every pre-signed text sent once, every answer checked.
--
-- Usage (from the project folder): wrk -s bench/burst.lua URL -- REQUESTS_FILE PATH EXPECT
-- Each wrk thread sends its slice of REQUESTS_FILE (bench/requests.lua) and stops once it has
-- as many answers as lines. An answer counts as `with_code` when it is a 200 whose body
-- contains EXPECT (e.g. "code: T1-"). wrk now and then asks for a request and never sends it
-- (a write that would block is retried with a fresh request), so a thread that has sent its
-- whole slice starts it again: the few texts sent twice are Twilio-style duplicates, answered
-- with the first reply. The database, not this count, says whether every customer got their
-- code (bench/run.py).

dofile("bench/requests.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  requests = load_slice(args[1], args[2] or "/webhooks/twilio/sms")
  expect = args[3] or "code:"
  sent = 0
  answered = 0
  with_code = 0
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
  local totals = thread_totals(threads, {"answered", "with_code"})
  totals.wrapped = 0
  write_summary(summary, latency, totals)
end
