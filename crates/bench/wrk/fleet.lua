-- wrk script for `taskforce-bench fleet`: every request goes to a tenant
-- picked at random from a file of "<host> <access token> <first task id>"
-- lines, so the load is spread over the whole fleet.
--
--   wrk -t2 -c32 -d10s -s fleet.lua http://127.0.0.1:PORT -- MODE TENANTS_FILE WINDOW THREADS FIRST
--
-- MODE: health | projects | tasks | create | update | mixed (80% reads,
-- 20% writes) | warm (every tenant in turn, for the unmeasured warm-up). Updates send `If-Match` with the task's current ETag: they
-- touch only the tasks of this run's window (FIRST..FIRST+WINDOW-1 past
-- each tenant's first task, arguments 5 and 3), which no earlier run has
-- updated, so each starts at version 1, and every 200 answer carries the
-- next ETag; a task is never updated by two requests at once, and each wrk
-- thread updates its own tenants, so a 412 here would be a server defect.
-- At the end one line is printed for the harness:
--   RESULT <requests> <seconds> <p50 us> <p99 us> <p99.9 us> <non-2xx> <socket errors>

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local mode, tenants, etags, inflight, per_tenant, window_start
-- requests that never change, made once per tenant in init: formatting
-- them per request costs wrk more CPU than the server spends on some
local fixed = {}
statuses = {}  -- global: done() reads it from each thread
local bodies = {
  '{"title":"Load test task","description":"Created under load","priority":"high"}',
  '{"title":"Another load test task","status":"in_progress","priority":"low"}',
}
local priorities = { "low", "medium", "high", "urgent" }

local function headers(t)
  return { Host = t.host, Authorization = t.auth }
end

function init(args)
  mode = args[1]
  per_tenant = tonumber(args[3]) or 100
  local nthreads = tonumber(args[4]) or 1
  window_start = tonumber(args[5]) or 0
  tenants, etags, inflight = {}, {}, {}
  local index = 0
  for line in io.lines(args[2]) do
    local host, token, first = line:match("^(%S+) (%S+) (%d+)$")
    -- this thread takes every nthreads-th tenant
    if index % nthreads == tid then
      table.insert(tenants, { host = host, auth = "Bearer " .. token, first = tonumber(first) })
    end
    index = index + 1
  end
  math.randomseed(os.time() * 1000 + tid)
  for i, t in ipairs(tenants) do
    fixed[i] = {
      health = wrk.format("GET", "/api/health/", { Host = t.host }),
      projects = wrk.format("GET", "/api/projects/", headers(t)),
      tasks = wrk.format("GET", "/api/projects/1/tasks/?status=todo&ordering=-created_at", headers(t)),
    }
  end
end

local function pick()
  local i = math.random(#tenants)
  return tenants[i], fixed[i]
end

local function create(t)
  local h = headers(t)
  h["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/projects/2/tasks/", h, bodies[math.random(#bodies)])
end

local function update()
  -- a task of this thread's tenants that has no update in flight: with at
  -- most c/2 in flight and WINDOW tasks per tenant one is found at once
  local t, id
  for _ = 1, 1000 do
    t = pick()
    id = t.first + window_start + math.random(0, per_tenant - 1)
    if not inflight[id] then break end
  end
  inflight[id] = true
  local h = headers(t)
  h["Content-Type"] = "application/json"
  h["If-Match"] = etags[id] or string.format('"task-%d-v1"', id)
  local body = string.format('{"priority":"%s"}', priorities[math.random(#priorities)])
  return wrk.format("PATCH", string.format("/api/tasks/%d/", id), h, body)
end

-- warm-up: this thread's tenants in turn, each with a project list, a task
-- list and a new task, so that every tenant is met before the measurements
local sweep = 0

local function warm()
  local i = math.floor(sweep / 3) % #tenants + 1
  local kind = sweep % 3
  sweep = sweep + 1
  if kind == 0 then
    return fixed[i].projects
  elseif kind == 1 then
    return fixed[i].tasks
  end
  return create(tenants[i])
end

function request()
  if mode == "warm" then return warm() end
  local t, f = pick()
  if mode == "health" or mode == "projects" or mode == "tasks" then
    return f[mode]
  elseif mode == "create" then
    return create(t)
  elseif mode == "update" then
    return update()
  else
    local r = math.random(100)
    if r <= 40 then
      return f.projects
    elseif r <= 80 then
      return f.tasks
    elseif r <= 90 then
      return create(t)
    else
      return update()
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if mode ~= "update" and mode ~= "mixed" then return end
  local etag = headers["etag"] or headers["ETag"]
  if etag then
    local id = etag:match('^"task%-(%d+)%-v%d+"$')
    if id then
      id = tonumber(id)
      -- 201s are new tasks; only updates of the seeded ones are tracked
      if status == 200 and inflight[id] then
        etags[id] = etag
        inflight[id] = nil
      end
    end
  end
end

function done(summary, latency, requests)
  -- answers by status, summed over the threads
  local all = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do all[status] = (all[status] or 0) + n end
  end
  for status, n in pairs(all) do io.write(string.format("STATUS %d %d\n", status, n)) end
  io.write(string.format("RESULT %d %.3f %d %d %d %d %d\n",
    summary.requests,
    summary.duration / 1e6,
    latency:percentile(50),
    latency:percentile(99),
    latency:percentile(99.9),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
