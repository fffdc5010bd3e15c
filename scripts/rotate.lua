-- wrk script for scripts/bench.sh: every request takes the next path of a file, so a run
-- rotates over thousands of distinct URLs as real traffic does (one repeated URL measures a
-- cache, not the server). Each wrk thread starts at its own offset.
--
-- Environment: ROTATE_PATHS, a file of request paths, one per line.

local paths = {}
local next_index = 1

function setup(thread)
  thread:set("offset", math.random(1, 1000000))
end

function init(args)
  local file = assert(io.open(os.getenv("ROTATE_PATHS"), "r"))
  for line in file:lines() do
    if line ~= "" then table.insert(paths, line) end
  end
  file:close()
  next_index = (tonumber(offset) or 1) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end

-- One line the benchmark reads: responses that were not 2xx or 3xx, and socket errors.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("non-2xx or errors: %d\n",
    e.status + e.connect + e.read + e.write + e.timeout))
end
