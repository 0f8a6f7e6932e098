import Foundation
import Testing

/// flowlua under a small `ulimit -n`: one message and exit 2 when it cannot
/// even start, step errors naming the limit when steps run out of files;
/// never a hang or a trap.
@Suite("The open-file limit")
struct OpenFileLimitTests {
    /// `flowlua arguments...` with `ulimit` applied first, stopped after 60 s
    /// (status 124) if it hangs.
    func flowlua(ulimit: String, _ arguments: [String], in space: Workspace) async throws -> Outcome {
        try await execute("/usr/bin/timeout", ["60", "/bin/sh", "-c", "ulimit \(ulimit); exec \"$0\" \"$@\"", flowluaBinary] + arguments,
                          in: space.folder)
    }

    static let twoSteps = """
        workflow { name = "two", steps = {
          container "a" { commands = { "echo a" } },
          container "b" { after = { "a" }, commands = { "ulimit -n > limit" } },
        } }
        """

    @Test("Too few open files is one message and exit 2", arguments: [4, 6, 13, 24, 63])
    func tooFewOpenFilesIsOneMessage(limit: Int) async throws {
        let space = try Workspace(Self.twoSteps, name: "tooFew\(limit)")
        let outcome = try await flowlua(ulimit: "-n \(limit)", ["run", "flow.lua"], in: space)
        #expect(outcome.status == 2, "status \(outcome.status): \(outcome.stderr)")
        #expect(outcome.stderr == "flowlua: error: ulimit -n is \(limit); flowlua needs at least 64 open files\n")
        #expect(!FileManager.default.fileExists(atPath: space.folder.appending(path: ".flowlua").path), "nothing was recorded")
    }

    @Test func aSoftLimitBelowWhatFlowluaNeedsIsRaisedAsFarAsThat() async throws {
        let space = try Workspace(Self.twoSteps)
        let outcome = try await flowlua(ulimit: "-Sn 10", ["run", "flow.lua"], in: space)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let runs = try #require(FileManager.default.contentsOfDirectory(atPath: space.folder.appending(path: ".flowlua/runs").path).first)
        #expect(space.file(".flowlua/runs/\(runs)/limit") == "64\n", "the steps get the raised limit, no more")
    }

    @Test func stepsThatRunOutOfOpenFilesFailNamingTheLimitAndTheRecordSaysSo() async throws {
        let space = try Workspace("""
            local steps = {}
            for i = 1, 60 do steps[i] = container ("s" .. i) { commands = { "sleep 0.3" } } end
            workflow { name = "wide", steps = steps }
            """)
        let outcome = try await flowlua(ulimit: "-n 64", ["run", "--jobs", "60", "flow.lua"], in: space)
        #expect(outcome.status == 1, "status \(outcome.status): \(outcome.stderr)")
        let failures = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("flowlua: FAILED") }
        #expect(!failures.isEmpty, "60 steps at once cannot all have their pipes and logs under 64 files: \(outcome.stderr)")
        for line in failures {
            #expect(line.hasSuffix("Too many open files (ulimit -n is 64)"), "\(line)")
        }
        let id = try #require(try await space.runIDs().first)
        let states = try await space.stepStates(id)
        #expect(states.count == 60)
        #expect(states.filter { $0 == "error" }.count == failures.count, "the record has each printed failure")
        #expect(states.allSatisfy { $0 == "error" || $0 == "success" }, "\(states)")
        #expect(try space.store.integrityCheck() == "ok")
    }
}
