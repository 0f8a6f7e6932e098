import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

@Suite("Code steps and callbacks run in the script's Lua state")
struct CodeStepTests {
    func run(_ source: String, arguments: [String] = [], policy: Schedule.Policy = .stopOnFailure,
             name: String = #function) async throws -> (RunReport, [RunEvent]) {
        try await runScript(source, arguments: arguments, policy: policy, name: name)
    }

    @Test func codeStepsSeeParamsAndSetVarsForLaterSteps() async throws {
        let (report, _) = try await run("""
            workflow {
              name = "vars",
              parameters = { param.int "n" { default = 20 } },
              steps = {
                code "double" { run = function(ctx)
                  ctx.vars.twice = ctx.params.n * 2
                  ctx.vars.label = "x" .. ctx.params.n
                  local f = assert(io.open(ctx:path "note.txt", "w")); f:write(ctx.step, " ", ctx.run_id); f:close()
                  ctx:log("logged", 1, true)
                end },
                container "use" { after = { "double" }, commands = { "echo ${twice} ${label} > out.txt" }, outputs = { "out.txt" } },
                code "read" { after = { "use" }, run = function(ctx) ctx.vars.seen = io.open(ctx:path "out.txt"):read("l") end },
              },
            }
            """, arguments: ["n=21"])
        #expect(report.status == .success)
        #expect(report.file("out.txt") == "42 x21\n")
        #expect(report.file("note.txt") == "double \(report.id)")
        #expect(report.vars["seen"] == .string("42 x21"))
        #expect(report.vars["twice"] == .integer(42))
        #expect(report.step("double")?.result?.stdout == "logged\t1\ttrue\n")
    }

    @Test func ctxVarsTracksSetsRemovalsInPlaceChangesAndReplacement() async throws {
        let (report, _) = try await run("""
            workflow { name = "vars", steps = {
              code "seed" { run = function(ctx)
                ctx.vars.keep, ctx.vars.gone, ctx.vars.list = "k", "g", { 1, 2 }
              end },
              code "edit" { after = { "seed" }, run = function(ctx)
                ctx.vars.gone = nil                      -- removed
                table.insert(ctx.vars.list, 3)           -- changed in place
                ctx.vars.tmp = 1; ctx.vars.tmp = nil     -- set, then removed: no change
                local names = {}
                for name, value in pairs(ctx.vars) do names[#names + 1] = name .. "=" .. tostring(value ~= nil) end
                table.sort(names)
                ctx.vars.seen = table.concat(names, " ")
                ctx.vars.missing = tostring(ctx.vars.gone)
              end },
              code "failing" { after = { "edit" }, retries = 0, run = function(ctx)
                ctx.vars.keep = "lost"                   -- a failed step changes nothing
                error("no")
              end },
            } }
            """, policy: .keepGoing)
        #expect(report.step("failing")?.state.status == .error)
        #expect(report.vars["keep"] == .string("k"))
        #expect(report.vars["gone"] == nil)
        #expect(report.vars["tmp"] == nil)
        #expect(report.vars["list"] == .list([.integer(1), .integer(2), .integer(3)]))
        #expect(report.vars["seen"] == .string("keep=true list=true"))
        #expect(report.vars["missing"] == .string("nil"))

        let (replaced, _) = try await run("""
            workflow { name = "vars", steps = {
              code "seed" { run = function(ctx) ctx.vars.a, ctx.vars.b = 1, 2 end },
              code "swap" { after = { "seed" }, run = function(ctx) ctx.vars = { b = 3, c = 4 } end },
              code "bad" { after = { "swap" }, run = function(ctx) ctx.vars[1] = "no name" end },
            } }
            """, policy: .keepGoing)
        #expect(replaced.vars == ["b": .integer(3), "c": .integer(4)], "a table put in place of ctx.vars is the new set")
        #expect(replaced.step("bad")?.result?.error == "ctx.vars[1]: run variables need names")
    }

    @Test func runVariablesThatAreNotNamedValuesFailTheStepWithTheirPath() async throws {
        let cases: [(body: String, error: String)] = [
            ("ctx.vars = 5", "ctx.vars: expected table, got number"),
            ("ctx.vars = nil", "ctx.vars: expected table, got nil"),
            ("ctx.vars[1] = 'x'", "ctx.vars[1]: run variables need names"),
            ("ctx.vars[true] = 1", "ctx.vars: run variable names must be strings, got true"),
            ("ctx.vars.ok = 1; ctx.vars[2.5] = 1", "ctx.vars: run variable names must be strings, got 2.5"),
            ("ctx.vars.f = print", "ctx.vars.f: expected a string, number, boolean, list or record, got function"),
            ("ctx.vars.t = { a = { print } }", "ctx.vars.t.a[1]: expected a string, number, boolean, list or record, got function"),
            ("ctx.vars.t = { 1, a = 1 }", "ctx.vars.t: expected a list or a record, got a table with both items and named fields"),
            ("ctx.vars.t = { [1.5] = 1 }", "ctx.vars.t: a record's fields need string names, got key 1.5"),
        ]
        var steps = ""
        for (i, c) in cases.enumerated() { steps += "code \"s\(i)\" { run = function(ctx) \(c.body) end },\n" }
        let (report, _) = try await run("workflow { name = \"bad\", steps = {\n\(steps)} }", policy: .keepGoing)
        for (i, c) in cases.enumerated() {
            #expect(report.step("s\(i)")?.result?.error == c.error, "\(c.body)")
        }
        // Scalars and lists of every kind read back as they were set.
        let (good, _) = try await run("""
            workflow { name = "good", steps = { code "s" { run = function(ctx)
              ctx.vars.s, ctx.vars.i, ctx.vars.f, ctx.vars.b, ctx.vars.l = "x", 3, 2.5, false, { 1, "two" }
            end } } }
            """)
        #expect(good.vars == ["s": .string("x"), "i": .integer(3), "f": .float(2.5), "b": .boolean(false),
                              "l": .list([.integer(1), .string("two")])])
    }

    @Test func aLuaErrorFailsTheStepWithFileLineAndTraceback() async throws {
        let (report, _) = try await run("""
            local function helper(x)
              return x.field
            end
            workflow { name = "err", steps = {
              code "boom" { run = function(ctx) helper(nil) end },
              container "after" { after = { "boom" }, commands = { "true" } },
            } }
            """)
        #expect(report.status == .error)
        let result = try #require(report.step("boom")?.result)
        #expect(result.error?.hasSuffix("flow.lua:2: attempt to index a nil value (local 'x')") == true)
        #expect(result.stderr.contains("stack traceback:"))
        #expect(result.stderr.contains("flow.lua:5:"))
        #expect(!result.stderr.contains("stdlib/flowlua/") && !result.stderr.contains("[flowlua bootstrap]"),
                "flowlua's own frames are left out: \(result.stderr)")
        #expect(report.file(".logs/boom.stderr")?.contains("attempt to index a nil value") == true)
        #expect(report.step("after")?.state.status == .notRun)
    }

    @Test func callbacksRunAndTheirErrorsAreReportedNotFatal() async throws {
        let (report, events) = try await run("""
            workflow { name = "cb",
              steps = { code "a" { run = function(ctx) ctx.vars.n = 3 end } },
              on_start = function(run) error("start went wrong") end,
              on_success = function(run)
                local f = assert(io.open(run.run_dir .. "/done.txt", "w")); f:write(run.status, " ", run.vars.n); f:close()
              end,
            }
            """)
        #expect(report.status == .success)
        #expect(report.file("done.txt") == "success 3")
        let failures = events.compactMap { if case .callbackFailed(let name, let error) = $0 { "\(name): \(error)" } else { nil } }
        #expect(failures.count == 1)
        #expect(failures.first?.hasPrefix("on_start: ") == true)
        #expect(failures.first?.contains("flow.lua:3: start went wrong") == true)
    }

    @Test func aStepsFailingOnStartIsReportedAndTheStepRuns() async throws {
        let (report, events) = try await run("""
            workflow { name = "cb", steps = {
              container "a" { commands = { "echo ran > a.txt" }, on_start = function(step) error("guard went wrong") end },
              code "b" { after = { "a" }, on_start = function(step) error({}) end, run = function(ctx) ctx.vars.b = 1 end },
            } }
            """)
        #expect(report.status == .success)
        #expect(report.file("a.txt") == "ran\n")
        #expect(report.step("b")?.state.status == .success)
        let failures = events.compactMap { if case .callbackFailed(let name, let error) = $0 { "\(name): \(error)" } else { nil } }
        #expect(failures.count == 2, "\(failures)")
        #expect(failures.first?.hasPrefix("a.on_start: ") == true, "\(failures)")
        #expect(failures.first?.contains("flow.lua:2: guard went wrong") == true, "\(failures)")
        #expect(failures.last?.hasPrefix("b.on_start: (error object is a table value)") == true, "\(failures)")
    }

    @Test func onFailureGetsTheStepAndError() async throws {
        let (report, _) = try await run("""
            workflow { name = "f",
              steps = { container "bad" { commands = { "exit 4" } } },
              on_failure = function(run, step, err)
                local f = assert(io.open(run.run_dir .. "/failure.txt", "w")); f:write(run.status, "|", step.name, "|", err); f:close()
              end,
            }
            """)
        #expect(report.status == .error)
        #expect(report.file("failure.txt") == "error|bad|command 1 exited with code 4: exit 4")
    }
}

