-- wrk script for scripts/scaling/replicas.py: single-sentence POST /v1/ner requests, cycling through a few
-- fixed news-like English sentences; done() prints one JSON line (marked WRK_JSON) with the figures.
local sentences = {
  "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters.",
  "Shares of Apple rose 3 percent in New York after the company reported record iPhone sales.",
  "The European Central Bank left interest rates unchanged, President Christine Lagarde told reporters in Frankfurt.",
  "Manchester United beat Chelsea 2-1 at Old Trafford on Sunday.",
  "Toyota will build a new battery plant in North Carolina, the Japanese carmaker said.",
  "UN Secretary-General Antonio Guterres arrived in Nairobi for talks with Kenyan officials.",
}

local bodies = {}
for i, sentence in ipairs(sentences) do
  bodies[i] = '{"text": "' .. sentence .. '", "model": "en"}'
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local next_body = 0

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "p50": %d, "p90": %d, ' ..
    '"p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
