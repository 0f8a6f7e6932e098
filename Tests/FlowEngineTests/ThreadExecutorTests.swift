import FlowEngine
import Foundation
import Testing

@Suite("The executors' own threads")
struct ThreadExecutorTests {
    /// The names of this process's threads, as ps and perf show them.
    func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").map {
            try String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)
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
}
