-- wrk script: POST pre-signed Twilio SMS webhooks, each one a new text (a fresh MessageSid).
--
-- Usage: wrk ... -s signed_posts.lua URL -- DATA_FILE THREADS PATH
-- DATA_FILE has one request a line: "<X-Twilio-Signature>\t<urlencoded form body>". Thread t
-- (0-based) of THREADS sends lines t+1, t+1+THREADS, ... so no two threads share a body; a thread
-- that runs out starts its slice again and counts each such request as a repeat.
-- done() prints one line, "BENCH_JSON {...}", for benchmarks/webhook.py to read.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local data_file = args[1]
  local nthreads = tonumber(args[2])
  local path = args[3] or "/twilio/sms"
  requests = {}
  local index = 0
  for line in io.lines(data_file) do
    if index % nthreads == id then
      local tab = line:find("\t", 1, true)
      local headers = {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
      }
      requests[#requests + 1] = wrk.format("POST", path, headers, line:sub(tab + 1))
    end
    index = index + 1
  end
  sent = 0
  repeats = 0
  ok = 0
  not_ok = 0
  statuses = {}
end

function request()
  sent = sent + 1
  if sent > #requests then
    repeats = repeats + 1
  end
  return requests[((sent - 1) % #requests) + 1]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    not_ok = not_ok + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local totals = { sent = 0, repeats = 0, ok = 0, not_ok = 0, bodies = 0 }
  local codes = {}
  for _, thread in ipairs(threads) do
    totals.sent = totals.sent + thread:get("sent")
    totals.repeats = totals.repeats + thread:get("repeats")
    totals.ok = totals.ok + thread:get("ok")
    totals.not_ok = totals.not_ok + thread:get("not_ok")
    for code, count in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(codes) do
    parts[#parts + 1] = string.format('"%s":%d', code, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"not_ok":%d,"statuses":{%s},'
      .. '"sent":%d,"repeats":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, totals.ok, totals.not_ok, table.concat(parts, ","),
    totals.sent, totals.repeats, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout
  ))
end
