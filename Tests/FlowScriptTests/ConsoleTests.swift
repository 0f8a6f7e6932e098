import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

@Suite("The console's Lua side")
struct ConsoleTests {
    let host: ScriptHost

    init() throws {
        host = try ScriptHost(searchPath: nil)
    }

    // MARK: lua.c's semantics

    @Test func anExpressionShowsItsValuesAndAStatementRuns() async {
        #expect(await host.evaluate("1 + 1") == .done(output: "2"))
        #expect(await host.evaluate("x = 20") == .done(output: nil))
        #expect(await host.evaluate("x, x / 2, 'a'") == .done(output: "20\t10.0\t\"a\""))
        #expect(await host.evaluate("local y = x + 1; return y") == .done(output: "21"))
        #expect(await host.evaluate("print") != .done(output: nil), "a function value is shown, not called")
    }

    @Test func anUnfinishedChunkAsksForMoreAndThenRunsWhole() async {
        #expect(await host.evaluate("function f(a)") == .incomplete)
        #expect(await host.evaluate("function f(a)\n  return a * 2") == .incomplete)
        #expect(await host.evaluate("function f(a)\n  return a * 2\nend") == .done(output: nil))
        #expect(await host.evaluate("f(21)") == .done(output: "42"))
        #expect(await host.evaluate("t = {") == .incomplete)
        #expect(await host.evaluate("'unclosed") == .incomplete, "a string open at the end of the line, as lua.c has it")
        #expect(await host.evaluate("'unclosed\nx") != .incomplete, "but a line break inside it is an error")
    }

    @Test func anErrorComesWithItsTracebackAndTheStateGoesOn() async throws {
        guard case .failed(let message) = await host.evaluate("local function g() error('boom') end\ng()") else {
            Issue.record("expected a failure")
            return
        }
        #expect(message.hasPrefix("stdin:1: boom"))
        #expect(message.contains("stack traceback:"))
        #expect(message.contains("in local 'g'") || message.contains("in function 'g'") || message.contains("in upvalue 'g'"))
        guard case .failed(let syntax) = await host.evaluate("1 +* 2") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(syntax.contains("unexpected symbol"))
        #expect(await host.evaluate("2 * 3") == .done(output: "6"))
    }

    @Test func tablesPrintNestedSortedAndCycleSafe() async {
        #expect(await host.evaluate("{ 1, 2, b = { c = 'x' }, a = true, [10] = 'ten' }")
            == .done(output: "{ 1, 2, [10] = \"ten\", a = true, b = { c = \"x\" } }"))
        #expect(await host.evaluate("{}") == .done(output: "{}"))
        #expect(await host.evaluate("{ ['not a name'] = 1, ['end'] = 2 }")
            == .done(output: "{ [\"end\"] = 2, [\"not a name\"] = 1 }"))
        guard case .done(let cyclic?) = await host.evaluate("local t = { name = 't' }; t.me = t; return t") else {
            Issue.record("expected a value")
            return
        }
        #expect(cyclic.hasPrefix("{ me = <cycle: table: 0x"))
        #expect(cyclic.hasSuffix(">, name = \"t\" }"))
        guard case .done(let long?) = await host.evaluate("local t = {} for i = 1, 30 do t['key' .. i] = i end return t")
        else {
            Issue.record("expected a value")
            return
        }
        let lines = long.split(separator: "\n")
        #expect(lines.first == "{" && lines.last == "}", "a long table takes a line per field")
        #expect(lines[1] == "  key1 = 1,")
        #expect(lines[2] == "  key10 = 10,", "keys in sorted order")
        #expect(await host.evaluate("'a\\nb'") == .done(output: "\"a\\nb\""))
    }

    @Test func anInterruptStopsALoopAndTheSessionGoesOn() async throws {
        let stop = StopHandle()
        Task {
            try await Task.sleep(for: .milliseconds(200))
            stop.stop()
        }
        let started = ContinuousClock.now
        let reply = await host.evaluate("while true do end", stop: stop)
        #expect(reply == .failed("interrupted"))
        #expect(ContinuousClock.now - started < .seconds(60), "the loop ends, not runs on")
        #expect(await host.evaluate("'still here'") == .done(output: "\"still here\""))
    }

    // MARK: Console functions

    @Test func aConsoleFunctionHandsItsWorkToTheConsoleAndReturnsTheAnswer() async {
        let reply = await host.evaluate("local r = flow.run_step('greet'); return r.exit, r.stdout")
        #expect(reply == .request(ConsoleRequest(operation: "run_step", arguments: [.string("greet")])))
        let answered = await host.answer(.success(.table(["exit": .integer(0), "stdout": .string("hi\n")])))
        #expect(answered == .done(output: "0\t\"hi\\n\""))
        // A failure is raised where the function was called, catchable there.
        _ = await host.evaluate("ok, err = pcall(flow.show, 'nope')")
        #expect(await host.answer(.failure(ConsoleFailure("no step 'nope'"))) == .done(output: nil))
        #expect(await host.evaluate("ok, err") == .done(output: "false\t\"no step 'nope'\""))
        // Called in a statement, the error names the line that called it.
        #expect(await host.evaluate("local shown = flow.show('nope')") == .request(ConsoleRequest(operation: "show", arguments: [.string("nope")])))
        guard case .failed(let message) = await host.answer(.failure(ConsoleFailure("no step 'nope'"))) else {
            Issue.record("expected a failure")
            return
        }
        #expect(message.hasPrefix("stdin:1: no step 'nope'"))
    }

    @Test func consoleFunctionsWorkOnlyFromTheConsolesOwnChunk() async {
        let reply = await host.evaluate("return coroutine.wrap(function() return flow.steps() end)()")
        guard case .failed(let message) = reply else {
            Issue.record("expected a failure, got \(reply)")
            return
        }
        #expect(message.contains("flow.steps: only code typed at the console can call this"))
    }

    // MARK: Completion

    @Test func completionOffersGlobalsKeywordsAndFields() async {
        _ = await host.evaluate("greeting_text = 'hi'")
        #expect(await host.completions(of: "greeting_") == ["greeting_text"])
        #expect(await host.completions(of: "whi") == ["while"])
        let flow = await host.completions(of: "flow.")
        for name in ["flow.sh", "flow.runs", "flow.status", "flow.run_step", "flow.load", "flow.version"] {
            #expect(flow.contains(name), "\(name)")
        }
        #expect(await host.completions(of: "flow.run_") == ["flow.run_all", "flow.run_step"])
        #expect(await host.completions(of: "string.up") == ["string.upper"])
        #expect(await host.completions(of: "nosuch.x").isEmpty)
    }

    @Test func completionAfterAColonOffersMethodsThroughTheMetatable() async {
        await host.setContext(parameters: ["n": .integer(3)], vars: [:], runID: "r1", folder: "/tmp/scratch")
        #expect(await host.completions(of: "ctx:pa") == ["ctx:path"])
        let fields = await host.completions(of: "ctx.")
        #expect(fields.contains("ctx.params") && fields.contains("ctx.vars") && fields.contains("ctx.run_dir"))
        #expect(await host.evaluate("ctx:path('a.txt'), ctx.params.n") == .done(output: "\"/tmp/scratch/a.txt\"\t3"))
    }

    @Test func runVariablesSetAtThePromptAreReadBack() async throws {
        await host.setContext(parameters: [:], vars: ["a": .integer(1)], runID: "r1", folder: "/tmp/scratch")
        _ = await host.evaluate("ctx.vars.b = 'two'")
        #expect(try await host.contextVars().get() == ["a": .integer(1), "b": .string("two")])
        _ = await host.evaluate("ctx.vars.c = { key = 'a record' }")
        #expect(try await host.contextVars().get()["c"] == .record(["key": .string("a record")]))
        _ = await host.evaluate("ctx.vars.d = { key = print }")
        let bad = await host.contextVars()
        #expect(throws: ConsoleFailure.self) { try bad.get() }
    }

    // MARK: Loading

    @Test func scriptsLoadIntoTheSameStateAndTheirStepsRunThere() async throws {
        let first = try ScriptFolder("""
            helper = function() return 'from first' end
            workflow { name = "one", steps = { code "a" (function(ctx) ctx.vars.a = helper() end) } }
            """)
        let second = try ScriptFolder("""
            workflow { name = "two", steps = { code "b" (function(ctx) ctx.vars.b = helper() .. ' and second' end) } }
            """)
        let one = try await host.load(script: first.script)
        let two = try await host.load(script: second.script)
        #expect(one.name == "one" && two.name == "two")
        guard case .code(let a) = one.steps[0], case .code(let b) = two.steps[0] else {
            Issue.record("expected code steps")
            return
        }
        #expect(a.function.id != b.function.id, "each function keeps its own id")
        #expect(await host.evaluate("helper()") == .done(output: "\"from first\""), "a script's globals stay")
        for (step, workflow) in [(a, one), (b, two)] {
            let plan = try Plan(workflow, arguments: [:])
            let report = try await RunDriver(plan: plan, options: RunOptions(runsDirectory: first.url.appending(path: "runs")),
                                             code: host, logger: .init(label: "test")).run()
            #expect(report.status == .success, "\(step.info.name)")
            #expect(report.vars[step.info.name] != nil)
        }
    }

    @Test func aScriptThatFailsToLoadLeavesNoHalfDeclaredWorkflow() async throws {
        let broken = try ScriptFolder("workflow { name = 'x', steps = {} }\nerror('late')")
        await #expect(throws: ScriptError.self) { try await host.load(script: broken.script) }
        let good = try ScriptFolder("workflow { name = 'good', steps = {} }")
        #expect(try await host.load(script: good.script).name == "good",
                "the failed script's declaration does not make this one a second workflow")
    }
}

