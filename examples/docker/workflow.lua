-- Steps in Docker containers: flowlua examples/docker/workflow.lua
--
-- Needs a Docker daemon and the local image local/busybox:1 (scripts/docker.sh
-- starts the one and builds the other; no registry is needed).
--
-- Each command runs in a fresh container with the run folder mounted at its
-- own path as the working directory, so relative paths mean the same inside
-- and out, and what the container writes belongs to you. Containers get no
-- network unless a step says `network = true`; `cpus` and `memory` become
-- the container's limits.

workflow {
  name = "docker",
  description = "Average temperatures per station, computed in containers.",
  parameters = {
    param.file  "data"  { default = "data/measurements.csv", help = "station,day,temperature rows" },
    param.float "above" { default = 14.0, help = "report stations warmer than this on average" },
  },
  workers = {
    box = worker.docker { image = "local/busybox:1", env = { LC_ALL = "C" } },
  },
  steps = {
    container "averages" {
      worker   = "box",
      memory   = "64MiB",
      inputs   = { "${data}" },
      outputs  = { "results/averages.tsv" },
      commands = {
        "mkdir -p results",
        [[awk -F, 'NR > 1 { sum[$1] += $3; n[$1]++ }
                   END { for (s in sum) printf "%s\t%.2f\n", s, sum[s] / n[s] }' ${data} \
            | sort > results/averages.tsv]],
      },
    },
    container "warm" {
      worker   = "box",
      env      = { ABOVE = "${above}" },
      inputs   = { "results/averages.tsv" },
      outputs  = { "results/warm.txt" },
      commands = { [[awk -v above="$ABOVE" '$2 > above { print $1 }' results/averages.tsv > results/warm.txt]] },
    },
    code "report" {
      inputs = { "results/warm.txt" },
      run = function(ctx)
        local warm = {}
        for station in io.lines(ctx:path "results/warm.txt") do warm[#warm + 1] = station end
        ctx.vars.warm = #warm > 0 and table.concat(warm, ", ") or "none"
      end,
    },
  },
  on_success = function(run) print("warmer than " .. run.params.above .. ": " .. run.vars.warm) end,
}
