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
--
-- Each constructor returns a plain table; the host checks every field when
-- the script has run, naming the table path of anything wrong.

local M = {}

-- "file:line" of the script line that called a constructor `level` frames up.
local function origin(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info then return nil end
  local source = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return source .. ":" .. (info.currentline or 0)
end

local function checkname(what, name, level)
  if type(name) ~= "string" or name == "" then
    error(what .. ": expected a name string, got " .. (name == "" and "an empty string" or type(name)), level + 1)
  end
end

-- Copies `options` into a new spec table with `fields` set first.
local function spec(what, fields, options, level)
  if options ~= nil and type(options) ~= "table" then
    error(what .. ": expected a table of fields, got " .. type(options), level + 1)
  end
  local t = {}
  for k, v in pairs(options or {}) do t[k] = v end
  for k, v in pairs(fields) do
    if options and options[k] ~= nil and k ~= "__origin" then
      error(what .. ": field '" .. k .. "' is set by the constructor", level + 1)
    end
    t[k] = v
  end
  return t
end

-- param.<type> "name" { ... }: usable with or without the options table.
M.param = setmetatable({}, {
  __index = function(_, kind)
    return function(name)
      checkname("param." .. kind, name, 2)
      local declared = { __origin = origin(2), name = name, type = kind }
      return setmetatable(declared, {
        __call = function(self, options)
          local full = spec("param." .. kind .. " '" .. name .. "'", self, options, 2)
          full.__origin = origin(2)
          return full
        end,
      })
    end
  end,
})

M.worker = setmetatable({}, {
  __index = function(_, kind)
    return function(options)
      return spec("worker." .. kind, { __origin = origin(2), type = kind }, options, 2)
    end
  end,
})

local function step(kind)
  return function(name)
    checkname(kind, name, 2)
    local at = origin(2)
    return function(options)
      if kind == "code" and type(options) == "function" then options = { run = options } end
      return spec(kind .. " '" .. name .. "'", { __origin = at, kind = kind, name = name }, options, 2)
    end
  end
end

M.container = step("container")
M.code = step("code")
M.notebook = step("notebook")

-- The workflow the script declared (set by `workflow {}`).
M.declared = nil

function M.workflow(options)
  if type(options) ~= "table" then
    error("workflow: expected a table of fields, got " .. type(options), 2)
  end
  if M.declared ~= nil then
    error("workflow: a script declares one workflow (already declared at " .. tostring(M.declared.__origin) .. ")", 2)
  end
  local t = spec("workflow", { __origin = origin(2), __kind = "workflow" }, options, 2)
  M.declared = t
  return t
end

-- Installs the constructors as globals.
function M.install(env)
  env = env or _G
  env.workflow, env.param, env.worker = M.workflow, M.param, M.worker
  env.container, env.code, env.notebook = M.container, M.code, M.notebook
  env.flow = require("flowlua.flow")
  return M
end

return M
