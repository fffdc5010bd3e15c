-- Mixed load for wrk, driven by scripts/load.sh: 90% reads, 10% keyed writes.
--
-- Reads (one in each ten requests is a write, the others are reads in these shares):
--   40% one institute by slug (three synthetic for one seed slug), 25% filtered and sorted
--   lists, 15% search and suggest, 10% stats, 5% countries, 5% an institute's budget series.
-- Writes: two in three are PATCH application/merge-patch+json to synthetic institutes, each
--   setting `description` to a token unique to the run ("load-<run>-<thread>-<seq>"), `city`,
--   and a `country` and `sectors` taken in turn from short lists (so filters, totals and
--   aggregates change, not only free text); one in three adds a headcount entry (POST) to
--   another synthetic institute, its `source` a token unique to the run and its year one that
--   institute has no entry for yet (from 1900 up), so every acknowledged entry can be counted.
--   Every wrk thread owns a disjoint set of institutes (from LOAD_WRITES); an institute gets
--   no new write until the answer to its previous one came back (whichever of the thread's
--   connections carried it), and each write sends If-Match with the ETag of the institute's
--   last acknowledged version. So no two writes ever race on one institute, and a write that
--   overtook or lost another would come back 412 rather than succeed.
--
-- Environment (set by load.sh):
--   LOAD_KEY        an editor key
--   LOAD_RUN        a token unique to this run
--   LOAD_READS      file: the read paths of slugs, one per line, "synthetic\t/v1/…" or "seed\t/v1/…"
--   LOAD_WRITES     file: "<thread>\t<institute id>\t<ETag>" per line
--   LOAD_FIGURES    file: "<thread>\t<institute id>" per line, the headcount write targets
--   LOAD_OUT        file done() writes: per-institute outcome and per-status counts
--   LOAD_WRITE_EVERY  one write every this many requests (default 10)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("load.lua: " .. name .. " is not set") end
    return default
  end
  return v
end

-- Filtered lists, search, stats, countries: all answered 200 (load.sh checks each once first).
local lists = {
  "/v1/institutes?country=US&sort=-budget",
  "/v1/institutes?country=US,CN&sector=healthcare&sort=-budget&limit=20",
  "/v1/institutes?country=DE,FR,GB&sort=-headcount&limit=50",
  "/v1/institutes?region=Asia&headcount_min=300&sector=healthcare&sort=-budget&currency=EUR",
  "/v1/institutes?kind=university&sort=name",
  -- a multi-key sort reads and sorts every match: kept to a selective filter (see README)
  "/v1/institutes?country=DE&founded_from=2000&founded_to=2020&sort=-founded,name",
  "/v1/institutes?sector=robotics&budget_min=1000000&sort=-budget",
  "/v1/institutes?status=all&sort=-updated&limit=10",
}
local searches = {
  "/v1/institutes?q=robotics",
  "/v1/institutes?q=turing",
  "/v1/institutes?q=vector%20institute",
  "/v1/institutes?q=machine%20learning&country=US",
  "/v1/institutes?q=robotics%20kal",
  "/v1/institutes/suggest?q=kalo",
  "/v1/institutes/suggest?q=mil",
}
-- by country in half of the stats reads: the common one
local stats = {
  "/v1/stats?group_by=country",
  "/v1/stats?group_by=country",
  "/v1/stats?group_by=country",
  "/v1/stats?group_by=country",
  "/v1/stats?group_by=sector",
  "/v1/stats?group_by=kind",
  "/v1/stats?group_by=founded_decade",
  "/v1/stats?group_by=sector&region=Europe",
}
local countries = {
  "/v1/countries",
  "/v1/countries/US",
  "/v1/countries/DE",
}

function init(args)
  key = env("LOAD_KEY")
  run = env("LOAD_RUN")
  out_path = env("LOAD_OUT")
  write_every = tonumber(env("LOAD_WRITE_EVERY", "10"))
  auth = "Bearer " .. key

  synthetic, seeded, budgets = {}, {}, {}
  for line in io.lines(env("LOAD_READS")) do
    local kind, path = line:match("^(%w+)\t(%S+)$")
    if kind == "synthetic" then
      synthetic[#synthetic + 1] = path
    elseif kind == "seed" then
      seeded[#seeded + 1] = path
      budgets[#budgets + 1] = path .. "/budgets"
    end
  end
  assert(#synthetic > 0 and #seeded > 0, "load.lua: no read paths in LOAD_READS")

  -- This thread's institutes; flat tables, so that done() can copy them out of the thread.
  t_id, t_etag, t_busy, t_acked, t_last, t_inflight = {}, {}, {}, {}, {}, {}
  for line in io.lines(env("LOAD_WRITES")) do
    local t, id, etag = line:match("^(%d+)\t(%S+)\t(.+)$")
    if tonumber(t) == tid then
      local i = #t_id + 1
      t_id[i], t_etag[i], t_busy[i], t_acked[i], t_last[i], t_inflight[i] = id, etag, false, 0, "", ""
    end
  end
  assert(#t_id > 0, "load.lua: thread " .. tid .. " owns no institute in LOAD_WRITES")
  f_id, f_year, f_acked, f_inflight = {}, {}, {}, {}
  for line in io.lines(env("LOAD_FIGURES")) do
    local t, id, first = line:match("^(%d+)\t(%S+)\t(%d+)$")
    if tonumber(t) == tid then
      local i = #f_id + 1
      f_id[i], f_year[i], f_acked[i], f_inflight[i] = id, tonumber(first), 0, 0
    end
  end
  assert(#f_id > 0, "load.lua: thread " .. tid .. " owns no institute in LOAD_FIGURES")
  f_pending = {}   -- token -> index of the headcount target it was sent to
  f_cursor = 0

  pending = {}     -- token -> index of the institute it was sent to
  statuses = {}    -- status -> count, every response
  counts = { reads = 0, writes = 0, acked = 0, skipped = 0, unmatched = 0, figure_writes = 0, figure_acked = 0 }
  own_prefix = string.format('"description":"load-%s-%d-', run, tid)
  seq, cursor, n = 0, 0, 0
  math.randomseed(tid * 7919)
end

local function pick(list)
  return list[math.random(#list)]
end

local function read_path()
  local r = math.random(100)
  if r <= 30 then return pick(synthetic)
  elseif r <= 40 then return pick(seeded)
  elseif r <= 65 then return pick(lists)
  elseif r <= 80 then return pick(searches)
  elseif r <= 90 then return pick(stats)
  elseif r <= 95 then return pick(countries)
  else return pick(budgets) end
end

local countries = { "US", "DE", "FR", "JP", "CA", "GB", "CN", "KR" }
local sector_sets = {
  '["robotics"]', '["healthcare","machine-learning"]', '["energy"]',
  '["language","education-talent"]', '["finance","ai-safety"]',
}

-- A headcount entry for the next headcount target, or nil when its years are used up.
local function figure_request()
  f_cursor = f_cursor % #f_id + 1
  if f_year[f_cursor] > 1999 then return nil end
  seq = seq + 1
  local token = string.format("load-%s-%d-f%d", run, tid, seq)
  local year = f_year[f_cursor]
  f_year[f_cursor] = year + 1
  f_inflight[f_cursor] = f_inflight[f_cursor] + 1
  f_pending[token] = f_cursor
  counts.figure_writes = counts.figure_writes + 1
  local body = string.format('{"year":%d,"researchers":%d,"basis":"headcount","source":"%s"}',
    year, 100 + seq % 400, token)
  return wrk.format("POST", "/v1/institutes/" .. f_id[f_cursor] .. "/headcounts", {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/json",
  }, body)
end

-- The next write, or nil when every institute of the thread still awaits an answer.
local function write_request()
  if (seq % 3) == 2 then
    local req = figure_request()
    if req then return req end
  end
  for _ = 1, #t_id do
    cursor = cursor % #t_id + 1
    if not t_busy[cursor] then
      seq = seq + 1
      local token = string.format("load-%s-%d-%d", run, tid, seq)
      t_busy[cursor], t_inflight[cursor] = true, token
      pending[token] = cursor
      counts.writes = counts.writes + 1
      local body = string.format('{"description":"%s","city":"Load %d-%d","country":"%s","sectors":%s}',
        token, tid, seq, countries[seq % #countries + 1], sector_sets[seq % #sector_sets + 1])
      return wrk.format("PATCH", "/v1/institutes/" .. t_id[cursor], {
        ["Authorization"] = auth,
        ["Content-Type"] = "application/merge-patch+json",
        ["If-Match"] = t_etag[cursor],
      }, body)
    end
  end
  counts.skipped = counts.skipped + 1
  return nil
end

function request()
  n = n + 1
  if n % write_every == 0 then
    local req = write_request()
    if req then return req end
  end
  counts.reads = counts.reads + 1
  return wrk.format("GET", read_path())
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- A write's answer is the institute itself, carrying the token the write set. Reads never
  -- fetch a write target by itself, and lists start with {"items", so only a write's answer
  -- (2xx) can match a pending token here.
  if status == 201 and body ~= nil then
    local token = body:match('"source":"(load%-[%w]+%-%d+%-f%d+)"')
    local i = token and f_pending[token]
    if i then
      f_pending[token] = nil
      f_inflight[i] = f_inflight[i] - 1
      f_acked[i] = f_acked[i] + 1
      counts.figure_acked = counts.figure_acked + 1
    else
      counts.unmatched = counts.unmatched + 1
    end
    return
  end
  if status >= 200 and status < 300 and body ~= nil and body:sub(1, 6) == '{"id":' then
    local token = body:match('"description":"(load%-[%w]+%-%d+%-%d+)"')
    local i = token and pending[token]
    if i then
      pending[token] = nil
      t_busy[i], t_inflight[i] = false, ""
      t_acked[i] = t_acked[i] + 1
      t_last[i] = token
      t_etag[i] = headers["ETag"] or headers["etag"] or headers["Etag"]
      counts.acked = counts.acked + 1
    elseif body:find(own_prefix, 1, true) then
      -- A write of this thread answered twice, or a token it never sent: should not happen.
      counts.unmatched = counts.unmatched + 1
    end
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("LOAD_OUT"), "w"))
  local total = { reads = 0, writes = 0, acked = 0, skipped = 0, unmatched = 0, figure_writes = 0, figure_acked = 0 }
  local by_status = {}
  for _, thread in ipairs(threads) do
    local tid = thread:get("tid")
    local ids, acked, last, inflight =
      thread:get("t_id"), thread:get("t_acked"), thread:get("t_last"), thread:get("t_inflight")
    for i = 1, #ids do
      -- inflight: a write sent whose answer had not come back when wrk stopped (or never
      -- came: then its status is counted below and the run fails anyway).
      out:write(string.format("institute\t%d\t%s\t%d\t%s\t%s\n", tid, ids[i], acked[i],
        last[i] == "" and "-" or last[i], inflight[i] == "" and "-" or inflight[i]))
    end
    local fids, facked, finflight = thread:get("f_id"), thread:get("f_acked"), thread:get("f_inflight")
    for i = 1, #fids do
      out:write(string.format("figures\t%d\t%s\t%d\t%d\n", tid, fids[i], facked[i], finflight[i]))
    end
    for k, v in pairs(thread:get("counts")) do total[k] = total[k] + v end
    for s, c in pairs(thread:get("statuses")) do by_status[s] = (by_status[s] or 0) + c end
  end
  for s, c in pairs(by_status) do out:write(string.format("status\t%d\t%d\n", s, c)) end
  for k, v in pairs(total) do out:write(string.format("count\t%s\t%d\n", k, v)) end
  out:write(string.format("latency\tp50\t%d\nlatency\tp90\t%d\nlatency\tp99\t%d\nlatency\tmax\t%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:write(string.format("summary\trequests\t%d\nsummary\tduration_us\t%d\n", summary.requests, summary.duration))
  out:close()
end
