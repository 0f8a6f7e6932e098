import Foundation
import Testing

/// Hashing a step's inputs (its cache key) happens before it starts, and
/// hashing its outputs after it ended; either may take long for a large
/// file: meanwhile the run goes on, and so does its record.
@Suite("Preparing a step does not hold up the run")
struct PreparationTests {
    @Test(.timeLimit(.minutes(2)))
    func aTimeoutAndACancelComeWhileALargeInputIsHashed() async throws {
        // 16 GiB of holes: nothing on disk, and seconds to hash however fast.
        let folder = try workflowFolder("""
            workflow { name = "big", steps = {
              container "make" { commands = { "truncate -s 16G big.bin" }, outputs = { "big.bin" } },
              container "hash" { inputs = { "big.bin" }, commands = { "touch hashed" } },
              container "tick" { timeout = 0.3, commands = { "sleep 60" } },
            } }
            """)
        let began = Date()
        let outcome = try await interrupt(["run", "workflow.lua", "--runs-dir", "runs", "--keep-going", "-j", "3"],
                                          in: folder) {
            guard let id = try? onlyRun(in: folder).lastPathComponent else { return false }
            return (try? await AddedStepsTests.states(folder, id))?["tick"] == "error"
        }
        let took = Date().timeIntervalSince(began)
        #expect(outcome.status == 130, "\(outcome.stderr)")
        // Hashing 16 GiB takes 8 s at 2 GB/s (27 s in a debug build here):
        // the record shows the timeout, and the run ends, while big.bin is
        // hashed (as make's output for the cache, and as hash's input for
        // its key).
        #expect(took < 15, "\(took) s")
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        let timedOut = try #require(lines.first { $0.contains("FAILED tick") }, "\(outcome.stderr)")
        #expect(timedOut.contains("timed out after 0.3s"))
        // "(327ms)", or on a loaded machine "(1.22s)".
        let shown = timedOut.split(separator: "(")[1].prefix { $0 != ")" }
        let seconds = shown.hasSuffix("ms") ? Double(shown.dropLast(2)).map { $0 / 1000 } : Double(shown.dropLast())
        #expect((seconds ?? .infinity) < 5, "\(timedOut)")
        let states = try await AddedStepsTests.states(folder, try onlyRun(in: folder).lastPathComponent)
        #expect(states == ["make": "success", "hash": "canceled", "tick": "error"], "\(states)")
        #expect(!FileManager.default.fileExists(atPath: try onlyRun(in: folder).appending(path: "hashed").path))
    }
}
