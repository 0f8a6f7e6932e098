import ArgumentParser
import FlowEngine
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua logs RUN [STEP]`: what steps printed.
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a run's steps wrote to stdout and stderr.",
            discussion: """
                Without STEP, every step's output in order, each under a header; a
                detached run's own progress is in its folder's .logs/flowlua.log.
                """)

        @OptionGroup var store: StoreOptions

        @Argument(help: "The run (an id or a unique prefix).")
        var runID: String

        @Argument(help: "Only this step.")
        var step: String?

        @Flag(name: [.short, .long], help: "Keep printing what is written until the run ends.")
        var follow = false

        @Flag(help: "Only stdout.")
        var stdout = false

        @Flag(help: "Only stderr.")
        var stderr = false

        func run() async throws {
            let store = try store.openExisting()
            let run = try store.run(runID)
            let steps = try store.steps(of: run.id)
            if let step, !steps.contains(where: { $0.name == step }) {
                let names = steps.map(\.name)
                throw CommandFailure("run \(run.id) has no step '\(step)' (its steps: \(names.joined(separator: ", ")))")
            }
            let folder = RunFolder(id: run.id, path: run.folder)
            var streams: [(label: String, path: String)] = []
            for candidate in steps where step == nil || candidate.name == step {
                let logs = folder.logs(for: candidate.name)
                if !stderr { streams.append(("\(candidate.name) (stdout)", logs.stdout)) }
                if !stdout { streams.append(("\(candidate.name) (stderr)", logs.stderr)) }
            }
            let headers = streams.count > 1
            var offsets = Array(repeating: UInt64(0), count: streams.count)
            var lastShown: Int?
            while true {
                for (i, stream) in streams.enumerated() {
                    let text = Self.read(stream.path, from: &offsets[i])
                    guard !text.isEmpty else { continue }
                    if headers && lastShown != i { Self.write("==> \(stream.label) <==\n") }
                    lastShown = i
                    Self.write(text)
                }
                guard follow, !(try store.run(run.id).status.isFinished) else { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            if follow {
                for (i, stream) in streams.enumerated() {  // what came in the last moment
                    let text = Self.read(stream.path, from: &offsets[i])
                    if !text.isEmpty {
                        if headers && lastShown != i { Self.write("==> \(stream.label) <==\n") }
                        lastShown = i
                        Self.write(text)
                    }
                }
            }
        }

        /// Writes straight to stdout, unbuffered, so headers and logs keep their order.
        static func write(_ text: String) {
            FileHandle.standardOutput.write(Data(text.utf8))
        }

        /// What a file holds past `offset` (advanced), as text.
        static func read(_ path: String, from offset: inout UInt64) -> String {
            guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
            defer { try? handle.close() }
            try? handle.seek(toOffset: offset)
            let data = (try? handle.readToEnd()) ?? Data()
            offset += UInt64(data.count)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
