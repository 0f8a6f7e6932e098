-- flowlua's workflow DSL: the constructors a workflow script is written with.
--
--   workflow { name = ..., parameters = {...}, workers = {...}, steps = {...} }
--   param.string "name" { default = "x", help = "..." }   -- also int, float,
--                                         -- bool, select, file, list
--   worker.subprocess { vars = {...}, env = {...} }       -- also docker, code,
--                                         -- notebook, nbdocker
--   container "name" { commands = {...}, inputs = {...}, outputs = {...} }
--   code "name" { run = function(ctx) ... end }   or   code "name" (function(ctx) ... end)
--   notebook "name" { notebook = "nb.ipynb", params = {...} }
--   foreach "name" { over = ..., step = function(item, i) return container(...) end }
--
-- Each constructor returns a plain table; the host checks every field when
-- the script has run, naming the table path of anything wrong.

local M = {}

local getinfo, type, next, error = debug.getinfo, type, next, error

-- Where the script called a constructor, `level` frames up: its chunk name
-- and line, kept apart (the host joins them into "file:line" only when it
-- reports an error, so a script of 100,000 steps builds no such strings).
local function origin(level)
  local info = getinfo(level + 1, "Sl")
  if not info then return nil, nil end
  return info.source, info.currentline
end

local function checkname(what, name, level)
  if type(name) ~= "string" or name == "" then
    error(what .. ": expected a name string, got " .. (name == "" and "an empty string" or type(name)), level + 1)
  end
end

-- The first field of a, b, __source, __line that `t` sets (a only when
-- there is no b), for the "set by the constructor" error.
local function reserved(t, a, b)
  if t[a] ~= nil then return a end
  if b == nil then return nil end
  if t[b] ~= nil then return b end
  if t.__source ~= nil then return "__source" end
  if t.__line ~= nil then return "__line" end
end

-- What a message calls the thing: `what`, or `what 'name'`. Put together
-- only for a message: a script may declare 100,000 steps.
local function label(what, name)
  return name and what .. " '" .. name .. "'" or what
end

-- A new spec table: a copy of `options` (the caller may reuse its table)
-- with the constructor's fields; `what` and `name` name it in errors.
local function spec(what, name, options, source, line, a, va, b, vb, level)
  local t = {}
  if options ~= nil then
    if type(options) ~= "table" then
      error(label(what, name) .. ": expected a table of fields, got " .. type(options), level + 1)
    end
    for k, v in next, options do t[k] = v end
    local k = reserved(t, a, b)
    if k then error(label(what, name) .. ": field '" .. k .. "' is set by the constructor", level + 1) end
  end
  t[a], t.__source, t.__line = va, source, line
  if b then t[b] = vb end
  return t
end

-- param.<kind> and worker.<kind> take any name; the host checks it. A key
-- that is not a name is an error at the script's line.
local function checkkind(what, kind, example)
  if type(kind) ~= "string" then
    error(what .. ": expected a type name (" .. example .. ", ...), got a " .. type(kind), 3)
  end
end

M.param = setmetatable({}, {
  __index = function(_, kind)
    checkkind("param", kind, "param.string")
    return function(name)
      checkname("param." .. kind, name, 2)
      local source, line = origin(2)
      local declared = { __source = source, __line = line, name = name, type = kind }
      return setmetatable(declared, {
        __call = function(_, options)
          local called, at = origin(2)
          local t = spec("param." .. kind, name, options, called, at, "name", name, "type", kind, 2)
          return t  -- not a tail call: an error's level 3 is the script's line
        end,
      })
    end
  end,
})

M.worker = setmetatable({}, {
  __index = function(_, kind)
    checkkind("worker", kind, "worker.subprocess")
    return function(options)
      local source, line = origin(2)
      local t = spec("worker." .. kind, nil, options, source, line, "type", kind, nil, nil, 2)
      return t  -- not a tail call (see param)
    end
  end,
})

-- container "name" { ... }: the work is in C (flowlua.native), with the
-- same checks and messages as `spec` above. This Lua function stays in
-- between: a helper that tail-calls it (`return container(n)`) gives up its
-- frame, so the step is placed where the script called the helper.
local native = require("flowlua.native")
local function step(kind)
  local named = native.step(kind)
  return function(name)
    local t = named(name)
    return t  -- not a tail call: the C side looks two levels up
  end
end

M.container = step("container")
M.code = step("code")
M.notebook = step("notebook")

-- The items a foreach runs over, as its code step finds them.
local function items(over, ctx, name)
  local what = "foreach '" .. name .. "': over"
  if type(over) == "function" then
    local list = over(ctx)
    if type(list) ~= "table" then error(what .. ": expected the function to return a list, got " .. type(list), 0) end
    return list
  elseif type(over) == "table" and over.lines ~= nil then
    local path = ctx:path(over.lines)
    local file, why = io.open(path, "r")
    if not file then error(what .. ".lines: cannot read " .. over.lines .. ": " .. tostring(why), 0) end
    local list = {}
    for line in file:lines() do
      if line:match("%S") then list[#list + 1] = line:match("^%s*(.-)%s*$") end
    end
    file:close()
    return list
  elseif type(over) == "table" and over.files ~= nil then
    if type(over.files) ~= "string" then error(what .. ".files: expected a pattern string, got " .. type(over.files), 0) end
    return ctx:glob(over.files)
  elseif type(over) == "table" and over.var ~= nil then
    local list = ctx.vars[over.var]
    if type(list) ~= "table" then
      error(what .. ".var: run variable '" .. tostring(over.var) .. "' is " .. type(list) .. ", not a list", 0)
    end
    return list
  end
  error(what .. ": expected a function(ctx) returning a list, { lines = \"file\" }, { files = \"pattern\" } "
    .. "or { var = \"name\" }", 0)
end

-- foreach "name" { over = ..., step = function(item, i) return container(...) end, after = {...}, ... }
-- A code step that, as it runs, adds the step (or list of steps) `step`
-- makes for each item of `over`: a function(ctx) returning a list, the
-- lines of a file in the run folder ({ lines = "samples.txt" }), the files
-- matching a pattern there ({ files = "chunks/*.txt" }, see ctx:glob), or a
-- list in a run variable ({ var = "samples" }). Steps that wait for it wait for
-- all it added. Its other fields are a code step's.
local native_code = native.step("code")
function M.foreach(name)
  local declare = native_code(name)  -- called from the script's line: the step is placed there
  return function(options)
    if type(options) ~= "table" then
      error("foreach '" .. tostring(name) .. "': expected a table of fields, got " .. type(options), 2)
    end
    local over, make = options.over, options.step
    if type(make) ~= "function" then
      error("foreach '" .. name .. "': step: expected a function(item, i) returning a step, got " .. type(make), 2)
    end
    if type(over) ~= "function" and (type(over) ~= "table" or (over.lines == nil and over.var == nil and over.files == nil)) then
      error("foreach '" .. name .. "': over: expected a function(ctx) returning a list, { lines = \"file\" }, "
        .. "{ files = \"pattern\" } or { var = \"name\" }, got " .. type(over), 2)
    end
    if options.run ~= nil then error("foreach '" .. name .. "': field 'run' is set by foreach", 2) end
    local fields = {}
    for k, v in next, options do
      if k ~= "over" and k ~= "step" then fields[k] = v end
    end
    -- What `check` says the step adds.
    fields.__expands = type(over) == "function" and "one step per item its over function returns"
      or over.lines ~= nil and "one step per line of " .. tostring(over.lines)
      or over.files ~= nil and "one step per file matching " .. tostring(over.files)
      or "one step per item of the run variable " .. tostring(over.var)
    fields.run = function(ctx)
      for i, item in ipairs(items(over, ctx, name)) do
        local made = make(item, i)
        if made == nil then error("foreach '" .. name .. "': step returned nothing for item " .. i, 0) end
        ctx:add(made)
      end
    end
    local t = declare(fields)
    return t  -- not a tail call: the C side looks two levels up
  end
end

-- The workflow the script declared (set by `workflow {}`).
M.declared = nil

function M.workflow(options)
  if type(options) ~= "table" then
    error("workflow: expected a table of fields, got " .. type(options), 2)
  end
  if M.declared ~= nil then
    local at = M.declared.__source or "?"
    at = (at:sub(1, 1) == "@" and at:sub(2) or at) .. ":" .. tostring(M.declared.__line)
    error("workflow: a script declares one workflow (already declared at " .. at .. ")", 2)
  end
  local source, line = origin(2)
  local t = spec("workflow", nil, options, source, line, "__kind", "workflow", nil, nil, 2)
  M.declared = t
  return t
end

-- For the host, which reads a workflow one step at a time: the declared
-- table without its steps, then its steps and, when they form a list, their
-- number.
function M.take(declared)
  if type(declared) ~= "table" then error("take: expected a declared workflow table, got " .. type(declared), 2) end
  local rest, steps = {}, nil
  for k, v in next, declared do
    if k == "steps" then steps = v else rest[k] = v end
  end
  if type(steps) ~= "table" then return rest, steps end
  local n = rawlen(steps)  -- not __len: the script's own count could be anything
  for k in next, steps do
    if math.type(k) ~= "integer" or k < 1 or k > n then return rest, steps end
  end
  return rest, steps, n
end

-- Installs the constructors as globals.
function M.install(env)
  env = env or _G
  if type(env) ~= "table" then error("install: expected an environment table, got " .. type(env), 2) end
  env.workflow, env.param, env.worker = M.workflow, M.param, M.worker
  env.container, env.code, env.notebook = M.container, M.code, M.notebook
  env.foreach = M.foreach
  env.flow = require("flowlua.flow")
  return M
end

return M
