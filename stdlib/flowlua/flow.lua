-- The `flow` table: what a workflow script can ask of the engine.
--
--   flow.sh(cmd)   runs `cmd` through /bin/sh -c and waits for it; returns
--                  { ok = bool, exit = n, stdout = "...", stderr = "..." }.
--                  In a code step it runs in the run folder with the step's
--                  environment, and stops (with its whole process tree) when
--                  the step is canceled or times out.
--   flow.runs()    the recorded runs, newest first: { id, workflow, status,
--                  started, duration, folder, vars }
--   flow.status(id) one run (an id or a unique prefix) with its `steps`:
--                  { name, status, attempts, exit, message, duration, cached }
--   flow.version   flowlua's version
--
-- The host fills in the functions; this module documents them and holds the
-- parts written in Lua.

local M = {}

M.version = "0.1.0"

return M
