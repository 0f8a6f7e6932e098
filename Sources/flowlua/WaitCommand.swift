import ArgumentParser
import FlowModel
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua wait RUN`: returns when the run ends, with its outcome as exit status.
    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a run to end; the exit status says how it ended.",
            discussion: """
                Exit status: 0 when the run succeeded, 1 when it failed or was
                interrupted, 130 when it was canceled, 124 when --timeout passed first.
                """)

        @OptionGroup var store: StoreOptions

        @Argument(help: "The run (an id or a unique prefix).")
        var runID: String

        @Option(help: ArgumentHelp("Give up after this many seconds.", valueName: "seconds"))
        var timeout: Double?

        func validate() throws {
            if let timeout, timeout < 0 { throw ValidationError("--timeout must be 0 or more") }
        }

        func run() async throws {
            let store = try store.openExisting()
            let id = try store.run(runID).id
            let deadline = timeout.map { Date().addingTimeInterval($0) }
            var pause = 0.05
            while true {
                let run = try store.run(id)
                if run.status.isFinished {
                    let summary = "run \(run.id) \(run.status.rawValue)" + (run.message.map { ": \($0)" } ?? "")
                    FileHandle.standardError.write(Data("flowlua: \(summary)\n".utf8))
                    switch run.status {
                    case .success: return
                    case .canceled: throw ExitCode(130)
                    default: throw ExitCode(1)
                    }
                }
                if let deadline, Date() >= deadline {
                    FileHandle.standardError.write(Data("flowlua: run \(run.id) is still \(run.status.rawValue) after \(timeout ?? 0)s\n".utf8))
                    throw ExitCode(124)
                }
                try await Task.sleep(for: .seconds(pause))
                pause = min(pause * 1.5, 0.5)
            }
        }
    }
}
