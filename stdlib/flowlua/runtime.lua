-- Runs code steps: builds the `ctx` a step function receives.
--
--   ctx.params   the run's parameter values (read-only by convention)
--   ctx.vars     run variables: read them, set them; later steps see them as ${name}
--   ctx.run_id, ctx.run_dir, ctx.step, ctx.attempt
--   ctx:path(p)  the absolute path of p inside the run folder
--   ctx:log(...) writes a line to the step's log (its stdout)
--   ctx:sh(cmd)  flow.sh(cmd), in the run folder with the step's environment
--   ctx:glob(p)  the paths in the run folder matching the shell pattern p
--                ("chunks/*.txt", "raw/{a,b}_?.fq"), sorted, relative to it;
--                a pattern ending in "/" matches folders, else files only
--   ctx:add(step, ...)  adds steps to the run (each a step, or a list of
--                steps): they run once this step succeeds, after it, and the
--                steps that wait for this one wait for them too

local Context = {}
Context.__index = Context

-- `ctx.log(...)` for `ctx:log(...)` is an error at the caller's line.
local function checkself(self, method)
  if getmetatable(self) ~= Context then
    error("ctx:" .. method .. ": call it as a method, ctx:" .. method .. "(...)", 3)
  end
end

function Context:path(relative)
  checkself(self, "path")
  if type(relative) ~= "string" then
    error("ctx:path: expected a string, got " .. type(relative), 2)
  end
  if relative:sub(1, 1) == "/" then return relative end
  return self.run_dir .. "/" .. relative
end

function Context:log(...)
  checkself(self, "log")
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  local line = table.concat(parts, "\t", 1, parts.n) .. "\n"
  local file = self.__log
  if not file then
    local why
    file, why = io.open(self.__logbase .. ".stdout", "a")
    if not file then error("ctx:log: cannot open the step's log: " .. why, 2) end
    self.__log = file
  end
  file:write(line)
end

local native = require("flowlua.native")

function Context:glob(pattern)
  checkself(self, "glob")
  if type(pattern) ~= "string" then
    error("ctx:glob: expected a pattern string, got " .. type(pattern), 2)
  end
  if pattern:sub(1, 1) == "/" or ("/" .. pattern .. "/"):find("/%.%./") then
    error("ctx:glob: '" .. pattern .. "' leaves the run folder (write a path inside it)", 2)
  end
  local folders = pattern:sub(-1) == "/"
  local found = {}
  for _, path in ipairs(native.glob(self.run_dir, pattern)) do
    if (path:sub(-1) == "/") == folders then found[#found + 1] = path end
  end
  return found
end

function Context:sh(command)
  checkself(self, "sh")
  if type(command) ~= "string" then
    error("ctx:sh: expected a command string, got " .. type(command), 2)
  end
  return flow.sh(command)
end

function Context:add(...)
  checkself(self, "add")
  local added = self.__added or {}
  self.__added = added
  local function isstep(value) return type(value) == "table" and rawget(value, "kind") ~= nil end
  for i = 1, select("#", ...) do
    local value = select(i, ...)
    if isstep(value) then
      added[#added + 1] = value
    elseif type(value) == "table" then
      for j = 1, #value do
        if not isstep(value[j]) then
          error("ctx:add: argument " .. i .. "[" .. j .. "]: expected a step, got " .. type(value[j]), 2)
        end
        added[#added + 1] = value[j]
      end
    else
      error("ctx:add: argument " .. i .. ": expected a step (container \"name\" { ... }, code, notebook) "
        .. "or a list of steps, got " .. type(value), 2)
    end
  end
  return ...
end

Context.__close = function(ctx)
  if ctx.__log then ctx.__log:close() end
end

local M = {}

-- The metatable of every ctx (the console makes one of its own).
M.Context = Context

-- Calls `fn(ctx)`; returns the run variables after it, whether the step
-- wrote to its log, and the steps it added (nil for none). The fields come one by one: building the table here is
-- cheaper than building it in the host. (A view of ctx.vars that kept only
-- what a step sets cost more, in closures and tables per step, than the
-- host's diff of the whole table saved.)
function M.run_step(fn, params, vars, run_id, run_dir, step, attempt, logbase)
  local ctx <close> = setmetatable({
    params = params, vars = vars, run_id = run_id, run_dir = run_dir, step = step, attempt = attempt,
    __logbase = logbase,
  }, Context)
  fn(ctx)
  return ctx.vars, ctx.__log ~= nil, ctx.__added
end

return M
