-- wrk script for scripts/match-bench.sh: GET /v1/institutes/match with a different affiliation
-- each request, rotating through MATCH_PATHS (one request path a line), each thread starting
-- at its own offset.

local paths = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local file = os.getenv("MATCH_PATHS")
  if file == nil or file == "" then error("match-load.lua: MATCH_PATHS is not set") end
  for line in io.lines(file) do
    if line ~= "" then table.insert(paths, line) end
  end
  if #paths == 0 then error("match-load.lua: no paths in " .. file) end
  n = (tid * 7919) % #paths
end

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("match-load.lua: status " .. status .. " for " .. paths[n] .. "\n")
  end
end
