import FlowStore
import Foundation
import Testing

/// A workflow of container and code steps on a random graph, killed with
/// SIGKILL at a random moment and then restarted: what the record said had
/// succeeded does not run again, the rest runs in order with the run
/// variables kept, and the database stays intact.
@Suite("kill -9 at random points, then restart")
struct RandomKillTests {
    /// A small random number generator, seeded, so that a failure can be
    /// replayed from the seed in its message.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Step {
        var name: String
        var isCode: Bool
        var after: [Int]
    }

    /// Ten steps, each after up to two earlier ones. A step fails unless
    /// those it follows left their mark; it appends its name to `trace`
    /// (a container step with the run variable of a code step it follows).
    static func workflow(_ random: inout SplitMix) -> ([Step], String) {
        var steps: [Step] = []
        for i in 0..<10 {
            let after = i == 0 ? [] : Array(Set((0..<Int.random(in: 0...2, using: &random)).map { _ in
                Int.random(in: 0..<i, using: &random)
            })).sorted()
            steps.append(Step(name: "s\(i)", isCode: i % 3 == 1, after: after))
        }
        let declared = steps.enumerated().map { i, step in
            let after = step.after.map { "\"s\($0)\"" }.joined(separator: ", ")
            if step.isCode {
                let checks = step.after.map { "assert(io.open(ctx:path \"s\($0).done\"), \"s\($0) not done\")" }
                return """
                      code "\(step.name)" { after = { \(after) }, run = function(ctx)
                        \(checks.joined(separator: " "))
                        ctx:sh "sleep 0.1"
                        ctx.vars.v\(i) = "\(i * 7)"
                        local trace = io.open(ctx.run_dir .. "/../../../trace", "a"); trace:write("\(step.name)\\n"); trace:close()
                        io.open(ctx:path "\(step.name).done", "w"):close()
                      end },
                    """
            }
            let checks = step.after.map { "test -e s\($0).done" }
            let value = step.after.first { steps[$0].isCode }.map { " ${v\($0)}" } ?? ""
            return """
                  container "\(step.name)" { after = { \(after) }, commands = {
                    \((checks + ["sleep 0.15", "echo \(step.name)\(value) >> ../../../trace", "touch \(step.name).done"])
                        .map { "\"\($0)\"" }.joined(separator: ", ")) } },
                """
        }
        return (steps, "workflow { name = \"random\", steps = {\n\(declared.joined(separator: "\n"))\n} }\n")
    }

    /// How many steps the run database shows as succeeded (0 before it exists).
    static func succeeded(in space: Workspace) -> Int {
        let path = space.folder.appending(path: ".flowlua/flowlua.db").path
        guard FileManager.default.fileExists(atPath: path), let store = try? RunStore.reading(at: path),
              let run = try? store.runs().first, let steps = try? store.steps(of: run.id) else { return 0 }
        return steps.filter { $0.status == .success }.count
    }

    @Test func whatSucceededBeforeTheKillDoesNotRunAgain() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SplitMix(state: seed)
        // Half the kill points are a time from start-up to about a run's
        // length; the other half come a moment after a random number of
        // steps are recorded as succeeded, so that some fall mid-run however
        // slow the machine (or a sanitized build) is.
        var span = 1_500
        var killedMidRun = 0
        var outcomes: [String] = []
        for trial in 0..<6 {
            let (steps, script) = Self.workflow(&random)
            let space = try Workspace(script, name: "randomKill\(trial)")
            let replay = "seed \(seed), trial \(trial)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: flowluaBinary)
            process.arguments = ["flow.lua", "-q", "--jobs", "3"]
            process.currentDirectoryURL = space.folder
            process.standardError = FileHandle.nullDevice
            let started = ContinuousClock.now
            try process.run()
            let point: String
            if trial % 2 == 0 {
                let delay = Int.random(in: 0...span, using: &random)
                try await Task.sleep(for: .milliseconds(delay))
                point = "at \(delay) ms"
            } else {
                let succeeded = Int.random(in: 1...(steps.count - 2), using: &random)
                let deadline = ContinuousClock.now + .seconds(60)
                while process.isRunning, ContinuousClock.now < deadline, Self.succeeded(in: space) < succeeded {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let delay = Int.random(in: 0...100, using: &random)
                try await Task.sleep(for: .milliseconds(delay))
                point = "\(delay) ms after \(succeeded) succeeded"
            }
            kill(process.processIdentifier, SIGKILL)
            try await offPool { process.waitWithoutSpinning() }
            if process.terminationReason == .exit {
                // It finished first: later time points come sooner.
                span = min(span, Int((ContinuousClock.now - started) / .milliseconds(1)))
            }

            // Killed before the database or the run was recorded: nothing ran.
            let list = try await space.run(["list", "--json"])
            if list.status == 2 {
                #expect(list.stderr.contains("flowlua.db does not exist"), "\(replay): \(list.stderr)")
            }
            guard list.status == 0, let id = try await space.runIDs().first else {
                outcomes.append("\(point): not recorded")
                #expect(space.file("trace") == nil, "a step ran before its run was recorded (\(replay))")
                continue
            }
            let before = try await space.stepStates(id)
            try #require(before.count == steps.count, "\(replay)")
            if before.contains(where: { $0 != "success" }) { killedMidRun += 1 }
            outcomes.append("\(point): \(before.filter { $0 == "success" }.count) of \(steps.count) succeeded")
            // What a killed step left running is stopped by the restart.
            let restart = try await space.run(["restart", id, "-q"])
            #expect(restart.status == 0, "\(replay): \(restart.stderr)\n\(script)")
            #expect(try await space.stepStates(id) == Array(repeating: "success", count: steps.count), "\(replay)")
            #expect((try await space.status(id)["run"] as? [String: Any])?["status"] as? String == "success", "\(replay)")
            #expect(try space.store.integrityCheck() == "ok", "\(replay)")

            let lines = (space.file("trace") ?? "").split(separator: "\n").map(String.init)
            for (i, step) in steps.enumerated() {
                let ran = lines.filter { $0.split(separator: " ").first.map(String.init) == step.name }
                if before[i] == "success" {
                    #expect(ran.count == 1, "\(step.name) had succeeded before the kill and ran again (\(replay))")
                } else {
                    #expect(!ran.isEmpty, "\(step.name) never ran (\(replay))")
                }
                if !step.isCode, let code = step.after.first(where: { steps[$0].isCode }) {
                    #expect(ran.allSatisfy { $0 == "\(step.name) \(code * 7)" }, "\(step.name) saw \(ran) (\(replay))")
                }
            }
        }
        // Most kill points fall while steps run; a trial killed before or
        // after tests less, but the kill points are drawn at random.
        #expect(killedMidRun >= 1, "no trial was killed while its steps ran (seed \(seed)): \(outcomes)")
    }
}
