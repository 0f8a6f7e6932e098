-- os.execute and io.popen, run through flow.sh: a command a script, a code
-- step or a callback starts this way is a tracked process like a step's, so
-- it is stopped with the step (its timeout, Ctrl-C, `flowlua stop`) and
-- nothing it starts outlives it. They keep Lua's results; what differs:
-- the command's output comes once it has ended (os.execute copies it to
-- flowlua's stdout and stderr; io.popen's "r" file reads it), and what an
-- io.popen "w" file is given reaches the command as it closes.

local M = {}

local flow = require("flowlua.flow")

local function results(run)
  if run.ok then return true, "exit", run.exit end
  return nil, "exit", run.exit
end

local function quote(text) return "'" .. text:gsub("'", "'\\''") .. "'" end

function M.execute(command)
  if command == nil then return true end
  if type(command) ~= "string" then
    error("bad argument #1 to 'execute' (string expected, got " .. type(command) .. ")", 2)
  end
  local run = flow.sh(command)
  io.stdout:write(run.stdout)
  io.stderr:write(run.stderr)
  return results(run)
end

-- A file-like object over `file`; `finish` runs as it closes and gives
-- close's results.
local function handle(file, finish)
  local closed = false
  local proxy = {}
  local function close()
    if closed then return nil, "attempt to use a closed file" end
    closed = true
    return finish()
  end
  function proxy:read(...) return file:read(...) end
  function proxy:lines(...) return file:lines(...) end
  function proxy:write(...)
    local ok, err = file:write(...)
    if not ok then return nil, err end
    return proxy
  end
  function proxy:seek(...) return file:seek(...) end
  function proxy:setvbuf(...) return file:setvbuf(...) end
  function proxy:flush() return file:flush() end
  function proxy:close() return close() end
  return setmetatable(proxy, {
    __name = "FILE*", __close = close, __gc = function() if not closed then close() end end,
    __tostring = function() return closed and "file (closed)" or "file (popen)" end,
  })
end

function M.popen(command, mode)
  if type(command) ~= "string" then
    error("bad argument #1 to 'popen' (string expected, got " .. type(command) .. ")", 2)
  end
  mode = mode or "r"
  if mode ~= "r" and mode ~= "w" then error("bad argument #2 to 'popen' (invalid mode)", 2) end
  local path = os.tmpname()
  if mode == "r" then
    local run = flow.sh(command)
    io.stderr:write(run.stderr)
    local file = assert(io.open(path, "w+b"))
    os.remove(path)
    file:write(run.stdout)
    file:seek("set")
    return handle(file, function() file:close() return results(run) end)
  end
  local file = assert(io.open(path, "wb"))
  return handle(file, function()
    file:close()
    local run = flow.sh("(" .. command .. ") < " .. quote(path))
    os.remove(path)
    io.stdout:write(run.stdout)
    io.stderr:write(run.stderr)
    return results(run)
  end)
end

function M.install()
  os.execute, io.popen = M.execute, M.popen
end

return M
