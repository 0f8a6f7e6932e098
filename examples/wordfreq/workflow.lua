-- Word frequencies of a few short texts, with standard POSIX tools only.
--
--   flowlua examples/wordfreq/workflow.lua                 -- top 10 words
--   flowlua examples/wordfreq/workflow.lua -p top=5 -p min_length=4
--   flowlua check examples/wordfreq/workflow.lua           -- validate only
--
-- normalise (container) splits every data/texts/*.txt into one lowercase word
-- per line under work/words/; count (container) turns those into
-- results/frequencies.tsv (count<TAB>word, by count descending then word);
-- summarise (a Lua code step) totals them into results/summary.txt and sets
-- the run variables ${total} and ${distinct}; report (container) writes the
-- top ${top} words with their share of ${total} to results/top.txt.
--
-- The first three steps are ordered by their files (an input that is another
-- step's output); report also waits for summarise, whose run variables it uses.

workflow {
  name = "wordfreq",
  description = "Count the words of a few texts and report the most frequent.",
  parameters = {
    param.int "top"        { default = 10, min = 1, help = "how many words to report" },
    param.int "min_length" { default = 3, min = 1, help = "ignore words shorter than this" },
  },
  workers = {
    -- The C locale makes tr, sort and uniq behave the same on every machine.
    posix = worker.subprocess { env = { LC_ALL = "C" } },
  },
  steps = {
    container "normalise" {
      worker   = "posix",
      inputs   = { "data/texts/" },
      outputs  = { "work/words/" },
      commands = {
        "mkdir -p work/words",
        -- lowercase, drop apostrophes (don't -> dont), anything else that is
        -- not a letter separates words; one word per line, no empty lines.
        [[for f in data/texts/*.txt; do
            tr 'A-Z' 'a-z' < "$f" | tr -d "'" | tr -cs 'a-z' '\n' | sed '/^$/d' \
              > "work/words/$(basename "$f")"
          done]],
      },
    },
    container "count" {
      worker   = "posix",
      inputs   = { "work/words/" },
      outputs  = { "results/frequencies.tsv" },
      commands = {
        "mkdir -p results",
        [[cat work/words/*.txt | awk -v min=${min_length} 'length($0) >= min' \
            | sort | uniq -c | awk '{ printf "%d\t%s\n", $1, $2 }' \
            | sort -k1,1nr -k2,2 > results/frequencies.tsv]],
      },
    },
    code "summarise" {
      inputs  = { "results/frequencies.tsv" },
      outputs = { "results/summary.txt" },
      run = function(ctx)
        local total, distinct, first = 0, 0, nil
        for line in io.lines(ctx:path "results/frequencies.tsv") do
          local n, word = line:match("^(%d+)\t(.+)$")
          assert(n, "malformed line in frequencies.tsv: " .. line)
          total, distinct = total + tonumber(n), distinct + 1
          first = first or { word = word, count = tonumber(n) }
        end
        local out = assert(io.open(ctx:path "results/summary.txt", "w"))
        out:write(("min_length\t%d\ntotal\t%d\ndistinct\t%d\n"):format(ctx.params.min_length, total, distinct))
        if first then out:write(("most_frequent\t%s\t%d\n"):format(first.word, first.count)) end
        out:close()
        ctx.vars.total, ctx.vars.distinct = total, distinct   -- ${total}, ${distinct} below
        ctx:log("total", total, "distinct", distinct)
      end,
    },
    container "report" {
      worker   = "posix",
      after    = { "summarise" },   -- run variables are not files: say so
      inputs   = { "results/frequencies.tsv" },
      outputs  = { "results/top.txt" },
      commands = {
        "echo 'top ${top} of ${total} words (${distinct} distinct, at least ${min_length} letters)' > results/top.txt",
        [[head -n ${top} results/frequencies.tsv \
            | awk -v total=${total} '{ printf "%3d. %-12s %4d %5.1f%%\n", NR, $2, $1, 100 * $1 / total }' \
            >> results/top.txt]],
        "cat results/top.txt",
      },
    },
  },
  on_success = function(run)
    print(("wordfreq: %d words, %d distinct"):format(run.vars.total, run.vars.distinct))
  end,
}
