-- The first workflow to run: flowlua examples/hello/workflow.lua
--
-- A container step greets every name in a file with a small Python script;
-- a code step (a plain Lua function) counts the greetings and sets a run
-- variable that the last step uses as ${count}.

workflow {
  name = "hello",
  description = "Greet a list of names, then count the greetings.",
  parameters = {
    param.file   "names"    { default = "data/names.txt", help = "one name per line" },
    param.string "greeting" { default = "Hello" },
    param.int    "sleep"    { default = 0, min = 0, max = 10, help = "seconds to pause per name" },
  },
  workers = {
    py = worker.subprocess { vars = { python = "python3" } },
  },
  steps = {
    container "greet" {
      worker   = "py",
      inputs   = { "code/greet.py", "${names}" },
      outputs  = { "results/greetings.txt" },
      commands = {
        "mkdir -p results",
        "${python} code/greet.py ${names} ${greeting:q} ${sleep} > results/greetings.txt",
      },
    },
    code "count" {
      inputs = { "results/greetings.txt" },  -- a cached result is reused only while this is unchanged
      run = function(ctx)
        local n = 0
        for _ in io.lines(ctx:path "results/greetings.txt") do n = n + 1 end
        ctx.vars.count = n              -- later steps see it as ${count}
        ctx:log("counted", n, "greetings")
      end,
    },
    container "report" {
      after    = { "count" },
      outputs  = { "results/report.txt" },
      commands = { "echo \"${count} greetings, for $(id -un) in $HOME\" | tee results/report.txt" },
    },
  },
  on_success = function(run) print("greeted " .. run.vars.count .. " names") end,
  on_failure = function(run, step, err) io.stderr:write(step.name, ": ", err, "\n") end,
}
