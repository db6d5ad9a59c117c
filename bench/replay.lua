-- Replays pre-signed Twilio webhook requests with wrk.
--
-- Usage (from the project folder): wrk -s bench/replay.lua URL -- REQUESTS_FILE PATH
-- Each wrk thread replays its own slice of REQUESTS_FILE (bench/requests.lua). A thread that
-- runs out of lines starts its slice again and counts that in `wrapped` (bench/run.py sizes
-- the file so that does not happen, and reports it when it does).

dofile("bench/requests.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  requests = load_slice(args[1], args[2] or "/webhooks/twilio/sms")
  index = 0
  wrapped = 0
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
  write_summary(summary, latency, thread_totals(threads, {"wrapped"}))
end
