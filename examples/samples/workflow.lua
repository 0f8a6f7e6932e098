-- One step per sample, decided by data: a first step writes the list of
-- samples, a foreach adds a step for each, a summary runs over all of them.
--
--   flowlua examples/samples/workflow.lua                    -- four samples
--   flowlua examples/samples/workflow.lua -p samples=7       -- seven
--   flowlua examples/samples/workflow.lua --resume           -- reuse them
--
-- list (container) writes samples.txt, one name a line, as a download
-- would. measure (foreach) reads it as it runs and adds one container step
-- per line, measure-<name>, each writing results/<name>.tsv. summary waits
-- for measure, and so for every step measure added, and totals them into
-- results/summary.tsv. `flowlua status` lists the added steps like the others.

workflow {
  name = "samples",
  description = "A step per sample listed by an earlier step, and a summary over all.",
  parameters = {
    param.int "samples" { default = 4, min = 1, max = 1000, help = "how many samples the first step lists" },
  },
  steps = {
    container "list" {
      commands = { "i=1; while [ $i -le ${samples} ]; do echo sample$i; i=$((i + 1)); done > samples.txt" },
      outputs = { "samples.txt" },
    },
    foreach "measure" {
      after = { "list" },
      over = { lines = "samples.txt" },
      step = function(name)
        return container("measure-" .. name) {
          -- A stand-in for real work: the length of the sample's name.
          commands = { "mkdir -p results && printf '%s\\t%s\\n' " .. name .. " " .. #name .. " > results/" .. name .. ".tsv" },
          outputs = { "results/" .. name .. ".tsv" },
        }
      end,
    },
    container "summary" {
      after = { "measure" },
      commands = { "cat results/sample*.tsv | sort > results/summary.tsv" },
      outputs = { "results/summary.tsv" },
    },
  },
}
