import Foundation
import Testing

/// `ctx:add`: steps a code step adds as it runs, from data the run made.
@Suite("Steps added at run time, end to end")
struct AddedStepsTests {
    /// One step per line of a file an earlier step writes, and a summary
    /// over all of them; every step appends its name to `ran.log` (outside
    /// the run folder) when it runs.
    static func fanOut(sleep: String = "0", quick: String = "", failing: String = "") -> String {
        """
        workflow { name = "fanout", steps = {
          container "fetch" { commands = { "printf 'ada\\\\nbob\\\\ncy\\\\n' > samples.txt; echo fetch >> ../../ran.log" },
                              outputs = { "samples.txt" } },
          code "split" { after = { "fetch" }, run = function(ctx)
            for name in io.lines(ctx:path("samples.txt")) do
              ctx:add(container("greet-" .. name) {
                commands = { "echo greet-" .. name .. " >> ../../ran.log; sleep " .. (name == "\(quick)" and "0" or "\(sleep)") .. "; "
                  .. (name == "\(failing)" and "exit 4" or "mkdir -p out && echo hello " .. name .. " > out/" .. name) },
                outputs = { "out/" .. name },
              })
            end
          end },
          container "summary" { after = { "split" },
                                commands = { "cat out/* > summary.txt; echo summary >> ../../ran.log" } },
        } }
        """
    }

    static func ran(_ folder: URL) -> [String] {
        ((try? contents(folder.appending(path: "ran.log"))) ?? "").split(separator: "\n").map(String.init)
    }

    static func states(_ folder: URL, _ id: String) async throws -> [String: String] {
        let status = try await flowlua(["status", id, "--runs-dir", "runs", "--json"], in: folder)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let steps = json?["steps"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: steps.compactMap { step in
            (step["name"] as? String).map { ($0, step["status"] as? String ?? "?") }
        })
    }

    @Test func aStepPerLineOfAFileAnEarlierStepWroteAndASummaryOverAll() async throws {
        let folder = try workflowFolder(Self.fanOut())
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("add    3 steps from split: greet-ada, greet-bob, greet-cy"))
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "summary.txt")) == "hello ada\nhello bob\nhello cy\n")
        let ran = Self.ran(folder)
        #expect(ran.first == "fetch" && ran.last == "summary" && Set(ran[1..<4]) == ["greet-ada", "greet-bob", "greet-cy"],
                "\(ran)")
        let states = try await Self.states(folder, run.lastPathComponent)
        #expect(states == ["fetch": "success", "split": "success", "summary": "success", "greet-ada": "success",
                           "greet-bob": "success", "greet-cy": "success"])
        let list = try await flowlua(["list", "--runs-dir", "runs", "--json"], in: folder)
        let runs = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(runs?.first?["stepCount"] as? Int == 6, "\(list.stdout)")
    }

    @Test func aFailedAddedStepFailsTheRunAndTheSummaryDoesNotRun() async throws {
        let folder = try workflowFolder(Self.fanOut(failing: "bob"))
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("FAILED greet-bob"), "\(outcome.stderr)")
        let states = try await Self.states(folder, try onlyRun(in: folder).lastPathComponent)
        #expect(states["greet-bob"] == "error" && states["summary"] == "not run", "\(states)")
    }

    @Test func whatAStepAddsIsCheckedWithTheLineThatMadeIt() async throws {
        for (body, message) in [
            ("ctx:add(container \"summary\" { commands = { \"true\" } })",
             "FAILED split (0ms): the steps it added: workflow.lua:3: added[1] (container 'summary'): duplicate step name 'summary'"),
            ("ctx:add(container \"x\" { commands = { 42 } })",
             "ctx:add: workflow.lua:3: added[1].commands[1]: expected string, got number"),
            ("ctx:add(container \"x\" { after = { \"summary\" }, commands = { \"true\" } })",
             "the steps form a cycle: 'summary' -> 'x' -> 'summary'"),
            ("ctx:add(42)", "workflow.lua:3: ctx:add: argument 1: expected a step"),
        ] {
            let folder = try workflowFolder("""
                workflow { name = "bad", steps = {
                  code "split" { run = function(ctx)
                    \(body)
                  end },
                  container "summary" { after = { "split" }, commands = { "true" } },
                } }
                """)
            let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
            #expect(outcome.status == 1)
            let line = message.hasPrefix("FAILED") ? String(message.dropFirst("FAILED split (0ms): ".count)) : message
            #expect(outcome.stderr.contains(line), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("summary  success"))
        }
    }

    @Test func anAddedCodeStepMayAddStepsAndALinkOfAChainWaitsForWhatTheOneBeforeAdded() async throws {
        let folder = try workflowFolder("""
            workflow { name = "nested", steps = {
              code "a" { run = function(ctx)
                ctx:add(code "inner" { run = function(ctx)
                  ctx:add(container "leaf" { commands = { "echo leaf >> ../../ran.log" } })
                end })
              end },
              code "b" { after = { "a" }, run = function(ctx)
                local f = io.open(ctx:path("../../ran.log"), "a"); f:write("b\\n"); f:close()
              end },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(Self.ran(folder) == ["leaf", "b"])
    }

    @Test func resumeReusesAddedStepsAndRunsTheirGeneratorAgain() async throws {
        let folder = try workflowFolder(Self.fanOut())
        _ = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        let again = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "--resume"], in: folder)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("6 success; 5 from the cache"), "\(again.stderr)")
        #expect(again.stderr.contains("cached greet-bob"))
        #expect(Self.ran(folder).count == 5, "nothing ran twice: \(Self.ran(folder))")
    }

    @Test func aRunKilledAmidAddedStepsIsFinishedByRestart() async throws {
        let folder = try workflowFolder(Self.fanOut(sleep: "120", quick: "ada"))
        // Killed once the three added steps run and the record shows greet-ada, the quick one, succeeded.
        let outcome = try await interrupt(["run", "workflow.lua", "--runs-dir", "runs", "--jobs", "4"], in: folder,
                                          signal: SIGKILL) {
            guard Self.ran(folder).count == 4, let id = try? onlyRun(in: folder).lastPathComponent else { return false }
            return (try? await Self.states(folder, id))?["greet-ada"] == "success"
        }
        #expect(outcome.status != 0)
        let id = try onlyRun(in: folder).lastPathComponent
        // Restart stops what the killed run left running; the steps it runs again end at once.
        let script = try contents(folder.appending(path: "workflow.lua")).replacingOccurrences(of: "sleep 120", with: "sleep 0")
        try script.write(to: folder.appending(path: "workflow.lua"), atomically: true, encoding: .utf8)
        let restart = try await flowlua(["restart", id, "--runs-dir", "runs"], in: folder)
        #expect(restart.status == 0, "\(restart.stderr)")
        let states = try await Self.states(folder, id)
        #expect(states.values.allSatisfy { $0 == "success" } && states.count == 6, "\(states)")
        #expect(Self.ran(folder).filter { $0 == "summary" }.count == 1)
        #expect(Self.ran(folder).filter { $0 == "fetch" }.count == 1, "what succeeded before the kill does not run again")
        #expect(Self.ran(folder).filter { $0 == "greet-ada" }.count == 1, "nor an added step that did: \(Self.ran(folder))")
        #expect(Self.ran(folder).filter { $0 == "greet-bob" }.count == 2, "what was running runs again")
        #expect(restart.stderr.contains("skip   greet-ada: succeeded before the restart"), "\(restart.stderr)")
    }

    @Test func foreachRunsOverALinesFileARunVariableOrAFunction() async throws {
        let folder = try workflowFolder("""
            local function touch(prefix) return function(item) return container(prefix .. item) { commands = { "touch " .. prefix .. item } } end end
            workflow { name = "forms", steps = {
              code "make" { run = function(ctx)
                ctx.vars.letters = { "a", "b" }
                local f = io.open(ctx:path("lines.txt"), "w"); f:write("x\\n\\n  y  \\n"); f:close()
              end },
              foreach "lines" { after = { "make" }, over = { lines = "lines.txt" }, step = touch("l-") },
              foreach "vars" { after = { "make" }, over = { var = "letters" }, step = touch("v-") },
              foreach "fn" { over = function(ctx) return { 1, 2, 3 } end, step = touch("f-") },
              container "all" { after = { "lines", "vars", "fn" }, commands = { "ls l-* v-* f-* | tr '\\n' ' ' > all.txt" } },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try contents(try onlyRun(in: folder).appending(path: "all.txt")) == "f-1 f-2 f-3 l-x l-y v-a v-b ")
    }

    @Test func foreachOverTheFilesMatchingAPatternReadsWhatAnEarlierStepWrote() async throws {
        let folder = try workflowFolder("""
            workflow { name = "chunks", steps = {
              container "split" { commands = { "mkdir -p chunks/sub && for i in 1 2 3; do echo $i$i > chunks/part$i.txt; done && touch chunks/.hidden.txt chunks/x.log" } },
              foreach "count" { after = { "split" }, over = { files = "chunks/*.txt" }, step = function(path, i)
                return container("count-" .. i) { inputs = { path }, outputs = { path .. ".n" },
                                                  commands = { "wc -c < " .. path .. " | tr -d ' ' > " .. path .. ".n" } }
              end },
              code "listed" { after = { "split" }, run = function(ctx)
                local f = io.open(ctx:path("listed.txt"), "w")
                f:write(table.concat(ctx:glob("*/"), ","), " ", table.concat(ctx:glob("chunks/{part1,x}.*"), ","), " ",
                        #ctx:glob("nothing/*"), "\\n")
                f:close()
              end },
              code "outside" { after = { "split" }, run = function(ctx) ctx:glob("../*") end },
              container "total" { after = { "count" }, commands = { "cat chunks/*.n | tr '\\n' ' ' > total.txt" } },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q", "--keep-going"], in: folder)
        #expect(outcome.status == 1, "outside fails: \(outcome.stderr)")
        #expect(outcome.stderr.contains("ctx:glob: '../*' leaves the run folder"), "\(outcome.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "total.txt")) == "3 3 3 ", "one step per file, in order, no hidden file")
        #expect(try contents(run.appending(path: "listed.txt")) == "chunks/ chunks/part1.txt,chunks/x.log 0\n")
        let states = try await Self.states(folder, run.lastPathComponent)
        #expect(states["count-3"] == "success" && states["total"] == "success", "\(states)")
    }

    @Test func checkSaysWhichStepsAddStepsAndTheGraphDrawsWhatTheyAdd() async throws {
        let folder = try workflowFolder("""
            local function touch(item) return container("t-" .. item) { commands = { "touch " .. item } } end
            workflow { name = "expands", steps = {
              foreach "lines" { over = { lines = "list.txt" }, step = touch },
              foreach "files" { over = { files = "in/*.fq" }, step = touch },
              foreach "var" { over = { var = "names" }, step = touch },
              foreach "fn" { over = function(ctx) return { 1 } end, step = touch },
              code "manual" { run = function(ctx) ctx:add(touch("m")) end },
              code "plain" { run = function(ctx) end },
              container "gather" { after = { "lines" }, commands = { "true" } },
            } }
            """)
        let check = try await flowlua(["check", "workflow.lua"], in: folder)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasSuffix("""
              5 steps add steps as the run goes on:
                lines: one step per line of list.txt
                files: one step per file matching in/*.fq
                var: one step per item of the run variable names
                fn: one step per item its over function returns
                manual: the steps its function adds (ctx:add)

            """), "\(check.stdout)")
        let graph = try await flowlua(["check", "--graph", "workflow.lua"], in: folder)
        #expect(graph.stdout.contains("\"lines\" [shape=ellipse, peripheries=2];"), "\(graph.stdout)")
        #expect(graph.stdout.contains("\"lines +\" [shape=box, style=dashed, label=\"one step per line of list.txt\"];"))
        #expect(graph.stdout.contains("\"lines\" -> \"lines +\" [style=dashed];"))
        #expect(graph.stdout.contains("\"lines +\" -> \"gather\" [style=dashed];"), "the gather waits for what is added")
        #expect(graph.stdout.contains("\"plain\" [shape=ellipse];"))
        #expect(!graph.stdout.contains("\"plain +\""))
    }

    @Test func aForeachWithoutAListFailsNamingWhatIsMissing() async throws {
        let folder = try workflowFolder("""
            workflow { name = "bad", steps = {
              foreach "g" { over = { var = "nothing" }, step = function(i) return container("s" .. i) { commands = { "true" } } end },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("foreach 'g': over.var: run variable 'nothing' is nil, not a list"), "\(outcome.stderr)")
        let check = try await flowlua(["check", "workflow.lua"], in: try workflowFolder("""
            workflow { name = "bad", steps = {
              foreach "g" { over = 42, step = function(i) end },
            } }
            """))
        #expect(check.status == 2)
        #expect(check.stderr.contains("workflow.lua:2: foreach 'g': over: expected a function(ctx) returning a list"),
                "\(check.stderr)")
    }

    @Test func ctrlCStopsAddedStepsAndTheRunEndsCanceled() async throws {
        let folder = try workflowFolder(Self.fanOut(sleep: "120"))
        let outcome = try await interrupt(["run", "workflow.lua", "--runs-dir", "runs", "--jobs", "4", "--grace", "1"],
                                          in: folder) { Self.ran(folder).count == 4 }
        #expect(outcome.status == 130, "\(outcome.stderr)")
        let states = try await Self.states(folder, try onlyRun(in: folder).lastPathComponent)
        #expect(states["greet-ada"] == "canceled" && states["summary"] == "canceled", "\(states)")
    }
}
