-- A notebook step: flowlua examples/notebook/workflow.lua -p limit=1000
--
-- papermill runs notebooks/collatz.ipynb in the run folder. The step's params
-- replace the defaults in the notebook's cell tagged `parameters`; a param
-- that is exactly one ${name} keeps that value's type, so ${limit} arrives as
-- a Python int. The executed notebook, with every output, is kept as the
-- step's output (results/collatz.ipynb); a failing cell fails the step with
-- that cell's error.
--
-- Needs papermill and a python3 Jupyter kernel (scripts/setup.sh installs both).

workflow {
  name = "notebook",
  description = "Which start value below a limit takes the most Collatz steps?",
  parameters = {
    param.int "limit" { default = 100, min = 1, help = "largest start value" },
  },
  steps = {
    notebook "collatz" {
      notebook = "notebooks/collatz.ipynb",
      output   = "results/collatz.ipynb",
      outputs  = { "results/collatz.txt" },
      params   = { limit = "${limit}", title = "Collatz steps", out = "results/collatz.txt" },
    },
    code "show" {
      inputs = { "results/collatz.txt" },
      run = function(ctx)
        for line in io.lines(ctx:path "results/collatz.txt") do print(line) end
      end,
    },
  },
}
