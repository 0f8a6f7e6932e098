import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Synchronization
import Testing

/// The script's Lua state, passing on everything, that notes the chains the
/// driver hands it (the indices of their links).
private final class ChainLog: CodeExecutor {
    let host: ScriptHost
    private let chains = Mutex<[[Int]]>([])

    init(_ host: ScriptHost) { self.host = host }

    var all: [[Int]] { chains.withLock { $0 } }

    func run(_ step: CodeStep, context: StepContext, vars: [String: Value]) async -> StepOutcome {
        await host.run(step, context: context, vars: vars)
    }

    func run(_ chain: CodeChain, vars: [String: Value]) async {
        chains.withLock { $0.append(chain.links.map(\.index)) }
        await host.run(chain, vars: vars)
    }

    func call(_ callback: FunctionReference, event: CallbackEvent) async -> String? {
        await host.call(callback, event: event)
    }
}

@Suite("Code chains: code steps that follow one another run back to back on the Lua thread")
struct CodeChainTests {
    private func run(_ source: String, resume: Bool = false, cancelAfter: Double? = nil,
                     name: String = #function) async throws -> (RunReport, chains: [[Int]]) {
        let folder = try ScriptFolder(source, name: name)
        let log = ChainLog(try folder.load())
        let plan = try Plan(log.host.workflow, arguments: [:])
        let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: folder.url.appending(path: "runs"), jobs: 2,
                                                               killGrace: .seconds(2), resume: resume),
                               code: log, logger: .init(label: "test"))
        if let cancelAfter {
            Task {
                try await Task.sleep(for: .seconds(cancelAfter))
                driver.cancel()
            }
        }
        return (try await driver.run(), log.all)
    }

    /// A chain of `count` code steps `c1`..., each running `body` (with `i`
    /// its number) after `ctx.vars.seq` got `i` appended; `extra` is Lua
    /// for the fields of step `i` (a table constructor's entries).
    private func chain(_ count: Int, body: String = "", extra: String = "nil") -> String {
        """
        local steps = {}
        local function extra(i) return \(extra) end
        for i = 1, \(count) do
          local step = {
            after = i > 1 and { "c" .. (i - 1) } or nil,
            run = function(ctx)
              ctx.vars.seq = (ctx.vars.seq and ctx.vars.seq .. "," or "") .. i
              \(body)
            end,
          }
          for k, v in pairs(extra(i) or {}) do step[k] = v end
          steps[#steps + 1] = code("c" .. i)(step)
        end
        workflow { name = "chain", steps = steps }
        """
    }

    private func sequence(_ numbers: ClosedRange<Int>) -> Value {
        .string(numbers.map(String.init).joined(separator: ","))
    }

    @Test func aLongChainRunsInChainsOfAtMost256EachSeeingTheVarsOfTheStepsBefore() async throws {
        let (report, chains) = try await run(chain(300))
        #expect(report.status == .success)
        #expect(report.vars["seq"] == sequence(1...300))
        #expect(report.steps.allSatisfy { $0.state.status == .success && $0.attempts == 1 })
        #expect(chains.map(\.count) == [256, 44])
        #expect(chains.first?.first == 0 && chains.last?.last == 299)
        // Each step is recorded as starting once the one before it ended.
        for (before, after) in zip(report.steps, report.steps.dropFirst()) {
            let ended = try #require(before.state.finishedAt), started = try #require(after.state.startedAt)
            #expect(started >= ended, "\(after.name) started before \(before.name) ended")
        }
    }

    @Test func aRemovedVarIsGoneForTheNextLink() async throws {
        let (report, chains) = try await run("""
            workflow { name = "vars", steps = {
              code "set" { run = function(ctx) ctx.vars.a, ctx.vars.b = 1, 2 end },
              code "drop" { after = { "set" }, run = function(ctx) ctx.vars.a = nil end },
              code "look" { after = { "drop" }, run = function(ctx) ctx.vars.saw = tostring(ctx.vars.a) .. " " .. ctx.vars.b end },
            } }
            """)
        #expect(chains == [[0, 1, 2]])
        #expect(report.vars == ["b": .integer(2), "saw": .string("nil 2")])
    }

    @Test func aStepWithAnOnSuccessCallbackEndsTheChainAndItsCallbackRunsBeforeTheNextStep() async throws {
        let (report, chains) = try await run(chain(5, body: """
            local f = assert(io.open(ctx:path "order.txt", "a")); f:write(ctx.step, " "); f:close()
            """, extra: """
            i == 3 and { on_success = function(step)
              local f = assert(io.open(step.run_dir .. "/order.txt", "a")); f:write(step.name, ".on_success "); f:close()
            end } or nil
            """))
        #expect(report.status == .success)
        #expect(report.file("order.txt") == "c1 c2 c3 c3.on_success c4 c5 ")
        #expect(chains == [[0, 1], [3, 4]], "c3 runs on its own: its callback comes between it and c4")
    }

    @Test func aStepWithATimeoutOrAnOutputIsNotALink() async throws {
        let (report, chains) = try await run(chain(6, body: """
            if ctx.step == "c5" then io.open(ctx:path "five.txt", "w"):close() end
            """, extra: """
            i == 2 and { timeout = 30 } or i == 5 and { outputs = { "five.txt" } } or nil
            """))
        #expect(report.status == .success)
        #expect(chains == [[2, 3]], "c3 and c4 only: c2 has a timeout to watch, c5 an output to check")
        #expect(report.vars["seq"] == sequence(1...6))
    }

    @Test func onStartAndATemplatedEnvEndTheChainAndTheStepSeesItsEnv() async throws {
        let (report, chains) = try await run(chain(6, body: """
            if ctx.step == "c4" then ctx.vars.x = ctx:sh("printf %s \\"$X\\"").stdout end
            """, extra: """
            i == 2 and { on_start = function(step)
              local f = assert(io.open(step.run_dir .. "/start.txt", "w")); f:write(step.name); f:close()
            end } or i == 4 and { env = { X = "v${seq}" } } or nil
            """))
        #expect(report.status == .success)
        #expect(chains == [[1, 2], [4, 5]], "c2's on_start runs before it (it heads a chain); c4's env is filled in as it starts")
        #expect(report.file("start.txt") == "c2")
        #expect(report.vars["x"] == .string("v1,2,3"))
        #expect(report.vars["seq"] == sequence(1...6))
    }

    @Test func noChainUnderResume() async throws {
        let (report, chains) = try await run(chain(3), resume: true)
        #expect(report.status == .success)
        #expect(chains.isEmpty, "a step may come from the cache: the driver sees to each")
        #expect(report.vars["seq"] == sequence(1...3))
    }

    @Test func afterAFailureARetriedCodeStepStartsNoChain() async throws {
        // x fails, waits to retry; bad fails meanwhile, which stops the run;
        // x's retry runs alone and y, after it, must not start.
        let (report, chains) = try await run("""
            tries = 0
            workflow { name = "stop", steps = {
              container "bad" { commands = { "sleep 0.3; exit 1" } },
              code "x" { retries = 1, retry_delay = 1, run = function(ctx)
                tries = tries + 1; if tries == 1 then error("first attempt") end
              end },
              code "y" { after = { "x" }, run = function(ctx) io.open(ctx:path "y.ran", "w"):close() end },
            } }
            """)
        #expect(report.status == .error)
        #expect(report.step("x")?.attempts == 2)
        #expect(report.step("y")?.state.status == .notRun)
        #expect(report.file("y.ran") == nil, "nothing new starts after a failure")
        #expect(chains.isEmpty)
    }

    @Test func aFailingLinkEndsTheChainAndTheStepsAfterItDoNotRun() async throws {
        let (report, chains) = try await run(chain(4, body: """
            if i == 2 then error("broken") end
            io.open(ctx:path(ctx.step .. ".ran"), "w"):close()
            """, extra: """
            i == 2 and { on_failure = function(step, err)
              local f = assert(io.open(step.run_dir .. "/failed.txt", "w")); f:write(step.name, " ", step.status); f:close()
            end } or nil
            """))
        #expect(report.status == .error)
        #expect(chains == [[0, 1, 2, 3]], "on_failure does not end a chain: nothing follows a failure")
        #expect(report.file("failed.txt") == "c2 error", "the failed link's on_failure ran")
        #expect(report.steps.map(\.state.status) == [.success, .error, .notRun, .notRun])
        #expect(report.step("c2")?.result?.error?.hasSuffix(": broken") == true)
        #expect(report.file("c1.ran") != nil)
        #expect(report.file("c3.ran") == nil && report.file("c4.ran") == nil, "nothing after the failure ran")
        #expect(report.vars["seq"] == sequence(1...1), "the failed step changed no variable")
    }

    @Test func aLinkThatFailsOnceRunsAgainAndTheStepsAfterItStillRun() async throws {
        let (report, chains) = try await run("""
            tries = 0

            """ + chain(4, body: """
            if i == 2 then tries = tries + 1; if tries == 1 then error("first attempt") end end
            """, extra: """
            i == 2 and { retries = 1, retry_delay = 0 } or nil
            """))
        #expect(report.status == .success)
        #expect(report.step("c2")?.attempts == 2)
        #expect(report.vars["seq"] == sequence(1...4))
        #expect(chains == [[0, 1, 2, 3], [1, 2, 3]], "the retry starts a chain of its own")
    }

    // The link loops for ever unless the cancel interrupts it.
    @Test(.timeLimit(.minutes(1)))
    func aCancelStopsTheRunningLinkAndNoLaterLinkRuns() async throws {
        let (report, chains) = try await run(chain(3, body: """
            if i == 2 then while true do end end
            io.open(ctx:path(ctx.step .. ".ran"), "w"):close()
            """), cancelAfter: 0.5)
        #expect(report.status == .canceled)
        #expect(chains == [[0, 1, 2]])
        #expect(report.steps.map(\.state.status) == [.success, .canceled, .canceled])
        #expect(report.file("c1.ran") != nil)
        #expect(report.file("c3.ran") == nil)
    }

    @Test func nothingChainsWhileAnotherStepRuns() async throws {
        let (report, chains) = try await run("""
            workflow { name = "side", steps = {
              container "slow" { commands = { "sleep 0.3" } },
              code "a" { run = function(ctx) ctx.vars.a = 1 end },
              code "b" { after = { "a" }, run = function(ctx) ctx.vars.b = 2 end },
            } }
            """)
        #expect(report.status == .success)
        #expect(report.vars == ["a": .integer(1), "b": .integer(2)])
        #expect(chains.isEmpty, "a started beside a running step")
    }
}
