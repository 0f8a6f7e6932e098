import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

/// A folder holding a script `flow.lua` (and any other files given).
struct ScriptFolder {
    let url: URL
    var script: String { url.appending(path: "flow.lua").path }

    init(_ source: String, files: [String: String] = [:], name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        url = FileManager.default.temporaryDirectory.appending(path: "flowlua-script-\(safe)-\(UUID().uuidString.prefix(8))")
        for (path, text) in files.merging(["flow.lua": source], uniquingKeysWith: { $1 }) {
            let file = url.appending(path: path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    func load(searchPath: String? = nil, callbackTimeout: Duration = .seconds(60)) throws -> ScriptHost {
        try ScriptHost(script: script, searchPath: searchPath, callbackTimeout: callbackTimeout)
    }

    /// The message of the error loading the script raises.
    func error(searchPath: String? = nil) -> String {
        do {
            _ = try load(searchPath: searchPath)
            return "no error"
        } catch { return String(describing: error) }
    }
}

/// Loads `source` as a workflow script and runs it; `cancelAfter` cancels
/// the run that many seconds after it starts.
func runScript(_ source: String, arguments: [String] = [], jobs: Int = 2, policy: Schedule.Policy = .stopOnFailure,
               callbackTimeout: Duration = .seconds(60), cancelAfter: Double? = nil,
               name: String = #function) async throws -> (RunReport, [RunEvent]) {
    let folder = try ScriptFolder(source, name: name)
    let host = try folder.load(callbackTimeout: callbackTimeout)
    let plan = try Plan(host.workflow, arguments: try Arguments.bind(host.workflow.parameters, assignments: arguments))
    let events = Events()
    let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: folder.url.appending(path: "runs"), jobs: jobs,
                                                           policy: policy, killGrace: .seconds(2)),
                           code: host, logger: .init(label: "test"), observe: { events.add($0) })
    if let cancelAfter {
        Task {
            try await Task.sleep(for: .seconds(cancelAfter))
            driver.cancel()
        }
    }
    return (try await driver.run(), events.all)
}

final class Events: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RunEvent] = []
    func add(_ event: RunEvent) { lock.withLock { events.append(event) } }
    var all: [RunEvent] { lock.withLock { events } }

    /// "name: error" for each callback that failed.
    var callbackFailures: [String] {
        all.compactMap { if case .callbackFailed(let name, let error) = $0 { "\(name): \(error)" } else { nil } }
    }
}

extension Array where Element == RunEvent {
    var callbackFailures: [String] {
        compactMap { if case .callbackFailed(let name, let error) = $0 { "\(name): \(error)" } else { nil } }
    }
}

extension RunReport {
    func step(_ name: String) -> StepReport? { steps.first { $0.name == name } }
    func file(_ relative: String) -> String? { try? String(contentsOfFile: folder + "/" + relative, encoding: .utf8) }
}

/// Living (not zombie) processes whose command line starts with `prefix`.
func livingProcesses(matching prefix: String) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
              String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").hasPrefix(prefix),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] != "Z"
        else { return nil }
        return pid
    }
}
