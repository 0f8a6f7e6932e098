-- Steps on a Slurm cluster: flowlua examples/slurm/workflow.lua
--
-- Needs Slurm's commands and a cluster that sees this folder at the same
-- path (a shared file system, as on real clusters); scripts/slurm.sh starts
-- a single-node one on loopback.
--
-- Each `hpc` step is a batch job. "square" goes to the cluster as soon as
-- "numbers" is submitted, with --dependency=afterok, so Slurm starts it the
-- moment "numbers" succeeds; "total" runs here, as usual.

workflow {
  name = "slurm",
  description = "Squares of 1..n on a cluster, summed locally.",
  parameters = {
    param.int "n" { default = 10, min = 1, max = 1000 },
  },
  workers = {
    hpc = worker.slurm { poll_interval = 0.5 },
  },
  steps = {
    container "numbers" {
      worker   = "hpc",
      cpus     = 1,
      memory   = "64M",
      outputs  = { "numbers.txt" },
      commands = { "seq ${n} > numbers.txt", "echo made ${n} numbers in Slurm job $SLURM_JOB_ID" },
    },
    container "square" {
      worker   = "hpc",
      timeout  = 60,
      inputs   = { "numbers.txt" },
      outputs  = { "squares.txt" },
      commands = { "awk '{ print $1 * $1 }' numbers.txt > squares.txt" },
    },
    code "total" {
      inputs = { "squares.txt" },
      run = function(ctx)
        local sum = 0
        for line in io.lines(ctx:path "squares.txt") do sum = sum + tonumber(line) end
        ctx.vars.total = sum
      end,
    },
  },
  on_success = function(run) print("sum of squares: " .. run.vars.total) end,
}
