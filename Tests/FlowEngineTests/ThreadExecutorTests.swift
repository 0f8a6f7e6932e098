import FlowEngine
import Foundation
import Testing

@Suite("The executors' own threads")
struct ThreadExecutorTests {
    /// The names of this process's threads, as ps and perf show them (a
    /// thread of another test may end between the listing and the read).
    func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func anExecutorsThreadCarriesItsName() async throws {
        let executor = ThreadExecutor(name: "flowlua.test-ex")
        defer { executor.shutdown() }
        // A job run there: by then the thread has named itself.
        let name = await Task(executorPreference: executor) {
            (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        }.value
        #expect(name.trimmingCharacters(in: .whitespacesAndNewlines) == "flowlua.test-ex")
        #expect(try threadNames().contains("flowlua.test-ex"))
    }

    @Test func anExecutorsThreadLetsSIGCHLDThrough() async throws {
        let executor = ThreadExecutor(name: "flowlua.test-sig")
        defer { executor.shutdown() }
        // The blocked set of the thread a job runs on, from /proc (hex, bit n-1 for signal n).
        let blocked = await Task(executorPreference: executor) { () -> UInt64? in
            let status = (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? ""
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }) else { return nil }
            return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }.value
        let mask = try #require(blocked)
        #expect(mask & (1 << UInt64(SIGCHLD - 1)) == 0,
                "a child's exit must not be handed to the main thread for want of a thread taking it")
    }
}
