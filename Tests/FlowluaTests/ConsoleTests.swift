import Foundation
import Testing

/// The console end to end: the built binary, fed through a pipe or typed at
/// in a real terminal (tmux).
@Suite("The console", .serialized)
struct ConsoleTests {
    /// A folder with a workflow of a quick step, a long one and a code step.
    private func workflow(_ name: String = #function) throws -> URL {
        let folder = try scratch(name)
        try """
            workflow {
              name = "tryout",
              parameters = { param.string "who" { default = "world" }, param.int "times" { default = 1, min = 1 } },
              steps = {
                container "greet" { outputs = { "greeting.txt" },
                                    commands = { "echo hello ${who} | tee greeting.txt" } },
                code "count" { inputs = { "greeting.txt" }, run = function(ctx)
                  local n = 0
                  for _ in io.lines(ctx:path "greeting.txt") do n = n + 1 end
                  ctx.vars.lines = n
                end },
                container "nap" { commands = { "sleep 30; : console-nap-${run_id}" } },
              },
            }
            """.write(to: folder.appending(path: "flow.lua"), atomically: true, encoding: .utf8)
        return folder
    }

    private func console(_ input: String, arguments: [String] = [], in folder: URL) async throws -> Outcome {
        try await offPool { try executeBlocking(flowluaBinary, arguments, in: folder, input: input) }
    }

    // MARK: Piped

    @Test func pipedInputRunsWithoutPrompts() async throws {
        let folder = try scratch()
        let outcome = try await console("print(1+1)\n", in: folder)
        #expect(outcome.stdout == "2\n")
        #expect(outcome.status == 0)
        #expect(outcome.stderr.isEmpty)
    }

    @Test func pipedChunksSpanLinesAndAFailureIsReportedThenTheRestRuns() async throws {
        let folder = try scratch()
        let outcome = try await console("""
            function twice(x)
              return x * 2
            end
            twice(21)
            error("boom")
            { b = 1, a = { 2, 3 } }
            """ + "\n", in: folder)
        #expect(outcome.stdout == "42\n{ a = { 2, 3 }, b = 1 }\n")
        #expect(outcome.stderr.hasPrefix("stdin:1: boom\nstack traceback:\n"))
        #expect(outcome.status == 1, "piped input that failed exits 1")
    }

    @Test func pipedCommandsRunStepsAndShowThemResolved() async throws {
        let folder = try workflow()
        let outcome = try await console("""
            :steps
            :show greet
            :set who=Ada
            :show greet
            :run count
            :run greet
            last.stdout, last.exit, last.status
            :run count
            ctx.vars.lines
            :set times=0
            flow.show("greet").commands[1]
            r = flow.run_step("greet")
            r.stdout
            :quit
            print("not reached")
            """ + "\n", arguments: ["-i", "flow.lua"], in: folder)
        let out = outcome.stdout
        #expect(out.contains("greet  container not run"))
        #expect(out.contains("count  code      not run   after greet"))
        #expect(out.contains("    echo hello world | tee greeting.txt"), "commands after substitution")
        #expect(out.contains("who = Ada"))
        #expect(out.contains("    echo hello Ada | tee greeting.txt"))
        #expect(out.contains("\"hello Ada\\n\"\t0\t\"success\""), "last is the step's result")
        #expect(out.contains("\n1\n"), "the code step's run variable is in ctx.vars")
        #expect(out.contains("\"echo hello Ada | tee greeting.txt\""))
        #expect(!out.contains("not reached"))
        #expect(outcome.stderr.contains("'count' needs greeting.txt, which 'greet' makes: run that first (:run greet)"))
        #expect(outcome.stderr.contains("times") && outcome.stderr.contains("below the minimum 1"), Comment(rawValue: outcome.stderr))
        #expect(outcome.stderr.contains("flowlua: done   greet"))
        #expect(outcome.status == 1, "a command failed")
        #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "greeting.txt").path),
                "steps run in the scratch folder, not here")
    }

    @Test func runallRunsTheWholeWorkflowAndGraphPrintsDot() async throws {
        let folder = try scratch()
        try """
            workflow { name = "pair", steps = {
              container "a" { outputs = { "a.txt" }, commands = { "echo a > a.txt" } },
              container "b" { inputs = { "a.txt" }, commands = { "cat a.txt" } },
            } }
            """.write(to: folder.appending(path: "pair.lua"), atomically: true, encoding: .utf8)
        let outcome = try await console("""
            :load pair.lua
            :runall
            last.status, last.steps.b.stdout
            :graph
            """ + "\n", in: folder)
        #expect(outcome.status == 0, Comment(rawValue: outcome.stderr))
        #expect(outcome.stdout.contains("workflow 'pair': 2 steps"))
        #expect(outcome.stdout.contains("\"success\"\t\"a\\n\""))
        #expect(outcome.stdout.contains("\"a\" -> \"b\";"))
        #expect(outcome.stderr.contains("run ") && outcome.stderr.contains("success in"))
    }

    @Test func theScratchFolderGoesWithTheSessionUnlessKept() async throws {
        let folder = try workflow()
        let gone = try await console(":run greet\nprint(ctx.run_dir)\n", arguments: ["-i", "flow.lua"], in: folder)
        let used = gone.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(used.hasPrefix("/") && !FileManager.default.fileExists(atPath: used), Comment(rawValue: gone.stdout))
        let kept = try await console(":run greet\nprint(ctx.run_dir)\n", arguments: ["-i", "flow.lua", "--keep"], in: folder)
        let path = kept.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(kept.stderr.contains("the scratch run folder stays: \(path)"))
        #expect(FileManager.default.fileExists(atPath: path + "/greeting.txt"))
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    @Test func pipedInputEndingInsideAChunkIsAnError() async throws {
        let outcome = try await console("print('before')\nfunction unfinished(\n", in: try scratch())
        #expect(outcome.stdout == "before\n")
        #expect(outcome.stderr.contains("the input ended inside an unfinished chunk"))
        #expect(outcome.status == 1)
    }

    @Test func aBrokenScriptGivenWithDashIIsAnError() async throws {
        let folder = try scratch()
        try "workflow { name = 'x', steps = { container 'a' { commands = { 1 } } } }"
            .write(to: folder.appending(path: "bad.lua"), atomically: true, encoding: .utf8)
        let outcome = try await console("print('no')\n", arguments: ["-i", "bad.lua"], in: folder)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("bad.lua:1: steps[1].commands[1]: expected string, got number")
            || outcome.stderr.contains("steps[1].commands[1]"), Comment(rawValue: outcome.stderr))
        #expect(!outcome.stdout.contains("no"))
    }

    // MARK: In a terminal

    @Test func typingCompletionAMultiLineFunctionAndAnErrorThenRecovery() async throws {
        let folder = try workflow()
        let history = folder.appending(path: "history").path
        let terminal = try Terminal([flowluaBinary, "-i", "flow.lua"], in: folder, environment: ["FLOWLUA_HISTORY": history])
        defer { terminal.close() }
        try await terminal.wait(for: "workflow 'tryout' loaded")
        try await terminal.waitForPrompt()

        // Completion: a field of flow, then a step name after :run.
        try await terminal.type("flow.run_s")
        try await terminal.press("Tab")
        try await terminal.wait(for: "> flow.run_step")
        try await terminal.press("C-c")  // clears the line
        try await terminal.waitForPrompt(count: 2)
        try await terminal.type(":show gr")
        try await terminal.press("Tab")
        try await terminal.wait(for: ":show greet")
        try await terminal.press("Enter")
        try await terminal.wait(for: "echo hello world | tee greeting.txt")

        // A function over three lines, on the continuation prompt.
        try await terminal.enter("function area(w, h)")
        try await terminal.wait(for: ">>")
        try await terminal.enter("  return w * h")
        try await terminal.enter("end")
        try await terminal.enter("area(6, 7)")
        try await terminal.wait(for: "\n42\n")

        // An error, then the session goes on.
        try await terminal.enter("undefined_function()")
        try await terminal.wait(for: "attempt to call a nil value (global 'undefined_function')")
        try await terminal.wait(for: "stack traceback:")
        try await terminal.enter("area(2, 3) + 1")
        try await terminal.wait(for: "\n7\n")

        // Ctrl-D leaves; the history holds the chunks, the function as one.
        try await terminal.press("C-d")
        try await terminal.wait(for: "[exited 0]")
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        #expect(saved.contains("area(6,\\0407)"), Comment(rawValue: saved))
        #expect(saved.contains("function\\040area(w,\\040h)"))
    }

    @Test func runningAStepAndInspectingItsResult() async throws {
        let folder = try workflow()
        let terminal = try Terminal([flowluaBinary, "-i", "flow.lua", "-p", "who=Grace"], in: folder,
                                    environment: ["FLOWLUA_HISTORY": folder.appending(path: "h").path])
        defer { terminal.close() }
        try await terminal.waitForPrompt()
        try await terminal.enter(":run greet")
        try await terminal.wait(for: "flowlua: done   greet")
        try await terminal.enter("last.exit == 0 and last.stdout")
        try await terminal.wait(for: "\"hello Grace\\n\"")
        try await terminal.enter(":run count")
        try await terminal.wait(for: "flowlua: done   count")
        try await terminal.enter("ctx.vars.lines")
        try await terminal.wait(for: "\n1\n")
        try await terminal.enter(":steps")
        try await terminal.wait("both steps listed as succeeded") {
            $0.contains("greet  container success") && $0.contains("count  code      success")
        }
    }

    @Test func ctrlCDuringALongStepCancelsItAndReturnsToThePrompt() async throws {
        let folder = try workflow()
        let terminal = try Terminal([flowluaBinary, "-i", "flow.lua"], in: folder,
                                    environment: ["FLOWLUA_HISTORY": folder.appending(path: "h").path])
        defer { terminal.close() }
        try await terminal.waitForPrompt()
        try await terminal.enter(":run nap")
        try await terminal.wait(for: "flowlua: start  nap")
        // The step's shell leads its process group; its sleep is in it.
        let deadline = Date().addingTimeInterval(10)
        var leaders: [String] = []
        while leaders.isEmpty && Date() < deadline {
            leaders = living { $0.contains("console-nap-") && $0.contains("sleep 30") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let group = try #require(leaders.first.flatMap { Int32($0) }, "the step runs before Ctrl-C")
        let sleeping = { groupMembers(group) }
        #expect(sleeping().count >= 2, "the shell and its sleep 30")

        let pressed = ContinuousClock.now
        try await terminal.press("C-c")
        try await terminal.wait("the prompt after the cancel", timeout: .seconds(5)) { screen in
            guard let cancel = screen.range(of: "flowlua: cancel nap") else { return false }
            return Terminal.prompts(in: screen[cancel.upperBound...]) > 0
        }
        let back = ContinuousClock.now - pressed
        #expect(back < .seconds(1), "back at the prompt \(back) after Ctrl-C")
        #expect(sleeping().isEmpty, "no process of the step is left")

        try await terminal.enter("last.status")
        try await terminal.wait(for: "\"canceled\"")
        try await terminal.enter("1 + 1")
        try await terminal.wait(for: "\n2\n")
    }

    @Test func ctrlCInterruptsARunawayLoopTypedAtThePrompt() async throws {
        let folder = try scratch()
        let terminal = try Terminal([flowluaBinary], in: folder,
                                    environment: ["FLOWLUA_HISTORY": folder.appending(path: "h").path])
        defer { terminal.close() }
        try await terminal.waitForPrompt()
        try await terminal.enter("while true do end")
        try await Task.sleep(for: .milliseconds(300))
        try await terminal.press("C-c")
        try await terminal.wait(for: "interrupted", timeout: .seconds(5))
        try await terminal.enter("'alive'")
        try await terminal.wait(for: "\"alive\"")
        // A script that never ends while it loads is interrupted too.
        try "while true do end".write(to: folder.appending(path: "loop.lua"), atomically: true, encoding: .utf8)
        try await terminal.enter(":load loop.lua")
        try await Task.sleep(for: .milliseconds(300))
        try await terminal.press("C-c")
        try await terminal.wait(for: "loop.lua: interrupted", timeout: .seconds(5))
        try await terminal.enter("'still alive'")
        try await terminal.wait(for: "\"still alive\"")
    }
}


/// The living processes of process group `group`, from /proc.
private func groupMembers(_ group: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        // After "(comm)": state, ppid, pgrp.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
    }
}
