import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

@Suite("Code steps can be stopped: timeouts, cancel, flow.sh")
struct InterruptTests {
    @Test func aLuaLoopIsInterruptedByItsTimeoutAndTheRunGoesOn() async throws {
        let started = ContinuousClock.now
        let (report, _) = try await runScript("""
            workflow { name = "loop", steps = {
              code "spin" { timeout = 0.3, run = function(ctx) local i = 0; while true do i = i + 1 end end },
              code "next" { run = function(ctx) ctx.vars.after = "ran" end },
            } }
            """, jobs: 1, policy: .keepGoing)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.step("spin")?.state.status == .error)
        #expect(report.step("spin")?.result?.error == "timed out after 0.3s")
        #expect(report.vars["after"] == .string("ran"), "the Lua state is usable after an interrupt")
    }

    @Test func pcallCannotSwallowAnInterrupt() async throws {
        let (report, _) = try await runScript("""
            workflow { name = "stubborn", steps = {
              code "spin" { timeout = 0.3, run = function(ctx)
                while true do pcall(function() while true do end end) end
              end },
            } }
            """)
        #expect(report.step("spin")?.result?.error == "timed out after 0.3s")
    }

    @Test func aLoopInsideACoroutineIsInterrupted() async throws {
        let (report, _) = try await runScript("""
            workflow { name = "co", steps = {
              code "resume" { timeout = 0.3, run = function(ctx)
                local co = coroutine.create(function() while true do end end)
                coroutine.resume(co)
              end },
              code "wrap" { timeout = 0.3, run = function(ctx)
                coroutine.wrap(function() coroutine.yield(1); while true do end end)()
                coroutine.wrap(function() while true do end end)()
              end },
            } }
            """, jobs: 2, policy: .keepGoing)
        #expect(report.step("resume")?.result?.error == "timed out after 0.3s")
        #expect(report.step("wrap")?.result?.error == "timed out after 0.3s")
    }

    @Test func coroutinesStillWorkAsLuasDo() async throws {
        let (report, _) = try await runScript("""
            workflow { name = "co", steps = {
              code "gen" { run = function(ctx)
                local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
                ctx.vars.sum = gen() + gen() + gen()
                local ok, err = coroutine.resume(coroutine.create(function() error("inner") end))
                ctx.vars.resume = tostring(ok) .. " " .. err:gsub("^.-:%d+: ", "")
                local ok2, err2 = pcall(coroutine.wrap(function() error("wrapped") end))
                ctx.vars.wrap = tostring(ok2) .. " " .. err2:gsub("^.-:%d+: ", "")
                ctx.vars.dead = select(2, coroutine.resume(coroutine.create(function() end))) == nil
                  and select(2, pcall(coroutine.resume, 42)):match("coroutine expected") ~= nil
              end },
            } }
            """)
        #expect(report.status == .success, "\(report.step("gen")?.result?.error ?? "")")
        #expect(report.vars["sum"] == .integer(6))
        #expect(report.vars["resume"] == .string("false inner"))
        #expect(report.vars["wrap"] == .string("false wrapped"))
        #expect(report.vars["dead"] == .boolean(true))
    }

    @Test func cancelInterruptsACodeStepAndCallsOnCancel() async throws {
        let (report, events) = try await runScript("""
            workflow { name = "cancel", steps = {
              code "spin" {
                run = function(ctx) while true do end end,
                on_cancel = function(step, err)
                  local f = assert(io.open(step.run_dir .. "/step-cancel.txt", "w")); f:write(step.name, " ", step.status, " ", err); f:close()
                end,
              },
            },
            on_cancel = function(run)
              local f = assert(io.open(run.run_dir .. "/run-cancel.txt", "w")); f:write(run.status); f:close()
            end }
            """, cancelAfter: 0.3)
        #expect(report.status == .canceled)
        #expect(report.file("step-cancel.txt") == "spin canceled canceled")
        #expect(report.file("run-cancel.txt") == "canceled")
        #expect(events.callbackFailures.isEmpty)
    }

    @Test func flowShRunsInTheRunFolderWithTheStepEnvironment() async throws {
        let (report, _) = try await runScript("""
            workflow { name = "sh",
              workers = { lua = worker.code { env = { FROM_WORKER = "w" } } },
              steps = {
                code "run" { worker = "lua", env = { FROM_STEP = "s" }, run = function(ctx)
                  local r = flow.sh("pwd; echo $FROM_STEP $FROM_WORKER; echo oops >&2; exit 3")
                  ctx.vars.exit, ctx.vars.ok, ctx.vars.err = r.exit, r.ok, r.stderr
                  ctx.vars.out = r.stdout
                  ctx.vars.method = ctx:sh("echo $HOME").stdout
                end },
              } }
            """)
        #expect(report.status == .success, "\(report.step("run")?.result?.error ?? "")")
        let folder = URL(fileURLWithPath: report.folder).resolvingSymlinksInPath().path
        #expect(report.vars["out"] == .string("\(folder)\ns w\n"))
        #expect(report.vars["exit"] == .integer(3))
        #expect(report.vars["ok"] == .boolean(false))
        #expect(report.vars["err"] == .string("oops\n"))
        #expect(report.vars["method"] == .string((ProcessInfo.processInfo.environment["HOME"] ?? "") + "\n"))
    }

    @Test func aTimeoutStopsACommandRunByFlowSh() async throws {
        let marker = "120.\(Int.random(in: 100_000...999_999))"
        let started = ContinuousClock.now
        let (report, _) = try await runScript("""
            workflow { name = "sh", steps = {
              code "wait" { timeout = 0.3, run = function(ctx) flow.sh("sleep \(marker) & sleep \(marker)") end },
            } }
            """)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.step("wait")?.result?.error == "timed out after 0.3s")
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func aCallbackThatNeverReturnsIsInterruptedAndReported() async throws {
        let started = ContinuousClock.now
        let (report, events) = try await runScript("""
            workflow { name = "cb",
              steps = { code "a" { run = function(ctx) ctx.vars.n = 1 end,
                                   on_success = function(step) while true do end end } },
              on_success = function(run)
                local f = assert(io.open(run.run_dir .. "/done.txt", "w")); f:write("done"); f:close()
              end,
            }
            """, callbackTimeout: .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.status == .success)
        #expect(report.file("done.txt") == "done")
        #expect(events.callbackFailures.count == 1)
        #expect(events.callbackFailures.first?.hasPrefix("a.on_success: timed out after") == true)
    }

    @Test func stepCallbacksSeeTheStep() async throws {
        let (report, events) = try await runScript("""
            local seen = {}
            local function note(step, err)
              seen[#seen + 1] = step.name .. ":" .. step.status .. ":" .. tostring(step.exit) .. ":" .. tostring(err)
            end
            workflow { name = "cb",
              steps = {
                container "ok" { commands = { "echo hi" }, on_start = note, on_success = note },
                container "bad" { after = { "ok" }, commands = { "exit 7" }, on_failure = note },
                code "broken" { after = { "ok" }, run = function() end, on_success = function() error("boom") end },
              },
              on_failure = function(run, step, err)
                local f = assert(io.open(run.run_dir .. "/seen.txt", "w"))
                f:write(table.concat(seen, "\\n"), "\\n", step.name, "|", err); f:close()
              end,
            }
            """, jobs: 1, policy: .keepGoing)
        #expect(report.status == .error)
        #expect(report.file("seen.txt") == """
            ok:running:nil:nil
            ok:success:0:nil
            bad:error:7:command 1 exited with code 7: exit 7
            bad|command 1 exited with code 7: exit 7
            """)
        #expect(events.callbackFailures.count == 1)
        #expect(events.callbackFailures.first?.contains("broken.on_success: ") == true)
        #expect(events.callbackFailures.first?.contains("boom") == true)
    }

    @Test func parallelCodeStepsKeepEachOthersVariables() async throws {
        let (report, _) = try await runScript("""
            workflow { name = "vars", steps = {
              code "a" { run = function(ctx) ctx.vars.a = 1 end },
              code "b" { run = function(ctx) ctx.vars.b = 2 end },
              code "c" { run = function(ctx) ctx.vars.c = 3 end },
              code "gone" { after = { "a", "b", "c" }, run = function(ctx) ctx.vars.b = nil end },
            } }
            """, jobs: 3)
        #expect(report.status == .success)
        #expect(report.vars == ["a": .integer(1), "c": .integer(3)])
    }
}
