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

    @Test func whatSucceededBeforeTheKillDoesNotRunAgain() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SplitMix(state: seed)
        var killedMidRun = 0
        for trial in 0..<6 {
            let (steps, script) = Self.workflow(&random)
            let space = try Workspace(script, name: "randomKill\(trial)")
            let replay = "seed \(seed), trial \(trial)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: flowluaBinary)
            process.arguments = ["flow.lua", "-q", "--jobs", "3"]
            process.currentDirectoryURL = space.folder
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Anywhere from start-up to the last step.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1_200, using: &random)))
            kill(process.processIdentifier, SIGKILL)
            try await offPool { process.waitWithoutSpinning() }

            // Killed before the database or the run was recorded: nothing ran.
            let list = try await space.run(["list", "--json"])
            if list.status == 2 {
                #expect(list.stderr.contains("flowlua.db does not exist"), "\(replay): \(list.stderr)")
            }
            guard list.status == 0, let id = try await space.runIDs().first else {
                #expect(space.file("trace") == nil, "a step ran before its run was recorded (\(replay))")
                continue
            }
            let before = try await space.stepStates(id)
            try #require(before.count == steps.count, "\(replay)")
            if before.contains(where: { $0 != "success" }) { killedMidRun += 1 }
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
        #expect(killedMidRun >= 1, "no trial was killed while its steps ran (seed \(seed))")
    }
}
