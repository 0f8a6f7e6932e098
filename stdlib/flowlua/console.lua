-- The console's Lua side: what is typed is compiled as lua.c does it (an
-- expression prints its values, a statement runs, an unfinished chunk waits
-- for more), run in a coroutine so that the console's functions
-- (flow.run_step and the rest) can hand their work to the host and return
-- its answer, and printed with tables shown whole.
--
--   flow.load(path)        load a workflow script (replacing the one loaded)
--   flow.steps()           each step: { name, kind, status, after, ... }
--   flow.show(name)        a step fully resolved: commands after substitution,
--                          worker, inputs, outputs
--   flow.set(name, value)  set a parameter
--   flow.run_step(name)    run one step in the console's scratch run folder
--   flow.run_all()         run the whole workflow there
--   flow.graph()           the step graph as Graphviz DOT
--
-- `last` holds the result of the last step or run; `ctx` is a code step's
-- context in the scratch folder, to try step bodies out on.

local M = {}

local create, resume, status, yield, running = coroutine.create, coroutine.resume, coroutine.status,
  coroutine.yield, coroutine.running
local traceback, pack, unpack = debug.traceback, table.pack, table.unpack
local type, tostring, getmetatable, pairs, pcall = type, tostring, getmetatable, pairs, pcall

-- Compiles a chunk typed at the prompt: as `return <chunk>` first, so that an
-- expression shows its values. Returns the function, or nil, the message and
-- whether the chunk is only unfinished.
function M.compile(source)
  local fn = load("return " .. source, "=stdin", "t")
  if fn then return fn end
  local msg
  fn, msg = load(source, "=stdin", "t")
  if fn then return fn end
  return nil, msg, msg:sub(-5) == "<eof>"
end

-- The chunk being evaluated; requests are answered only to it.
local current
local token = {}

-- Resumes the chunk and says how it went: "done" and its values shown,
-- "error" and a traceback, or "request", an operation and its arguments.
local function step(...)
  local co = current
  local results = pack(resume(co, ...))
  if not results[1] then
    current = nil
    local err = results[2]
    if type(err) ~= "string" then
      local mt = getmetatable(err)
      err = mt and mt.__tostring and tostring(err) or "(error object is a " .. type(err) .. " value)"
    end
    return "error", traceback(co, err)
  end
  if status(co) == "suspended" then
    local request = results[2]
    if type(request) == "table" and request[token] then
      return "request", request.op, request.args
    end
    current = nil
    return "error", "stdin: a coroutine.yield at the prompt has no coroutine to go back to"
  end
  current = nil
  if results.n == 1 then return "done" end
  local shown = {}
  for i = 2, results.n do shown[#shown + 1] = M.pretty(results[i]) end
  return "done", table.concat(shown, "\t")
end

function M.start(fn)
  current = create(fn)
  return step()
end

-- Answers the pending request: `ok` and its value, or false and a message
-- raised as an error where the console function was called.
function M.answer(ok, value)
  if not current then return "error", "no request is waiting for an answer" end
  return step(ok, value)
end

local function request(op, ...)
  local co = running()
  if co ~= current or co == nil then
    error("flow." .. op .. ": only code typed at the console can call this", 3)
  end
  local ok, value = yield({ [token] = true, op = op, args = pack(...) })
  if not ok then error(value, 3) end
  return value
end

-- Not tail calls: an error raised for the request names the line that
-- called the console function.
function M.install(flow)
  flow.load = function(path) local v = request("load", path) return v end
  flow.steps = function() local v = request("steps") return v end
  flow.show = function(name) local v = request("show", name) return v end
  flow.set = function(name, value) local v = request("set", name, value) return v end
  flow.run_step = function(name) local v = request("run_step", name) return v end
  flow.run_all = function() local v = request("run_all") return v end
  flow.graph = function() local v = request("graph") return v end
end

-- Sets the global `ctx`: a code step's context for the console, in the
-- scratch run folder, with the parameters and the session's run variables
-- in ctx.vars. ctx:log prints.
function M.context(params, vars, run_id, run_dir)
  local runtime = require("flowlua.runtime")
  local ctx = setmetatable({ params = params, vars = vars, run_id = run_id, run_dir = run_dir, step = "console",
                             attempt = 1 }, runtime.Context)
  ctx.log = function(_, ...) print(...) end
  _G.ctx = ctx
end

-- Printing -------------------------------------------------------------------

local keywords = {}
for word in ([[and break do else elseif end false for function goto if in local nil not or repeat
               return then true until while]]):gmatch("%a+") do keywords[word] = true end

local function isname(key)
  return type(key) == "string" and key:match("^[%a_][%w_]*$") ~= nil and not keywords[key]
end

local rank = { number = 1, string = 2, boolean = 3 }

local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    local ra, rb = rank[ta] or 4, rank[tb] or 4
    if ra ~= rb then return ra < rb end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local width, deepest = 78, 24

local function show(value, indent, open)
  local t = type(value)
  if t == "string" then return quote(value) end
  if t ~= "table" then return tostring(value) end
  local mt = getmetatable(value)
  if mt and mt.__tostring then return tostring(value) end
  if open[value] then return "<cycle: " .. tostring(value) .. ">" end
  -- A table shared many times over is shown again on each path: not past this depth.
  if #indent >= 2 * deepest then return "{...}" end
  open[value] = true
  local inner = indent .. "  "
  local items, n = {}, #value
  for i = 1, n do items[#items + 1] = show(value[i], inner, open) end
  local keys = {}
  for k in pairs(value) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, before)
  for _, k in ipairs(keys) do
    local name = isname(k) and k or "[" .. show(k, inner, open) .. "]"
    items[#items + 1] = name .. " = " .. show(value[k], inner, open)
  end
  open[value] = nil
  if #items == 0 then return "{}" end
  local line = "{ " .. table.concat(items, ", ") .. " }"
  if #line + #indent <= width and not line:find("\n", 1, true) then return line end
  return "{\n" .. inner .. table.concat(items, ",\n" .. inner) .. ",\n" .. indent .. "}"
end

-- A value as text: tables nested and whole, keys sorted, each table that
-- contains itself shown once.
function M.pretty(value)
  return show(value, "", {})
end

-- Completing -----------------------------------------------------------------

local function fields(value, methods)
  local found, seen = {}, {}
  for _ = 1, 10 do  -- along a chain of __index tables, as far as it is tables
    if type(value) == "table" and not seen[value] then
      seen[value] = true
      for k, v in pairs(value) do
        if isname(k) and (not methods or type(v) == "function") then found[k] = true end
      end
    end
    local mt = getmetatable(value)
    local index = type(mt) == "table" and rawget(mt, "__index")
    if type(index) ~= "table" then break end
    value = index
  end
  return found
end

-- The words that `word` (a name, or a chain like `flow.ru` or `ctx:pa`)
-- completes to, sorted: globals and keywords, or the fields of what the
-- chain before the last `.` or `:` names (only functions after a `:`).
function M.complete(word)
  local chain, sep, partial = word:match("^(.-)([%.:])([%w_]*)$")
  local names
  if chain then
    if chain:find(":", 1, true) then return {} end
    local value = _G
    for part in chain:gmatch("[^.]+") do
      local ok, v = pcall(function() return value[part] end)
      if not ok or v == nil then return {} end
      value = v
    end
    names = fields(value, sep == ":")
  else
    partial, names = word, fields(_G, false)
    for k in pairs(keywords) do names[k] = true end
  end
  local found = {}
  for name in pairs(names) do
    if name:sub(1, #partial) == partial then found[#found + 1] = (chain and chain .. sep or "") .. name end
  end
  table.sort(found)
  return found
end

return M
