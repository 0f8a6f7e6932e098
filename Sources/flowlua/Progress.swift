import FlowEngine
import FlowModel
import Foundation

/// Prints a run's progress to standard error: a line as each step starts and
/// ends, the tail of a failed step's stderr, and a closing summary.
struct Progress: Sendable {
    var quiet: Bool
    /// How many stderr lines of a failed step to show.
    var tailLines = 10

    func show(_ event: RunEvent, workflow: Workflow) {
        switch event {
        case .runStarted(let id, let folder, let steps):
            say("run \(id): workflow '\(workflow.name)', \(steps) step\(steps == 1 ? "" : "s"), folder \(Self.relative(folder))")
        case .stepStarted(let step, _):
            say("start  \(step)")
        case .stepFinished(let step, _, let status, let duration, let result):
            if status == .success {
                say("done   \(step) (\(Self.format(duration)))")
            } else {
                var text = "FAILED \(step) (\(Self.format(duration))): \(result.error ?? "exit code \(result.exitCode ?? -1)")"
                let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
                    .reversed().drop { $0.isEmpty }.reversed().suffix(tailLines)
                for line in lines { text += "\n       | \(line)" }
                say(text, always: true)
            }
        case .stepNotRun(let step, _, let reason):
            say("skip   \(step): \(reason)")
        case .callbackFailed(let name, let error):
            say("callback \(name) failed: \(error)", always: true)
        case .runFinished:
            break
        }
    }

    func summarize(_ report: RunReport) {
        let width = report.steps.map(\.name.count).max() ?? 0
        var counts: [Status: Int] = [:]
        var lines: [String] = []
        for step in report.steps {
            counts[step.state.status, default: 0] += 1
            let duration = step.state.duration().map(Self.format) ?? "-"
            lines.append("  \(step.name.padding(toLength: width, withPad: " ", startingAt: 0))  "
                + "\(step.state.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(duration)")
        }
        let order: [Status] = [.success, .error, .canceled, .notRun]
        let tally = order.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }.joined(separator: ", ")
        let head = "run \(report.id) \(report.status.rawValue) in \(Self.format(report.run.duration() ?? 0)) (\(tally))"
        say(([head] + lines).joined(separator: "\n"), always: report.status != .success)
    }

    private func say(_ text: String, always: Bool = false) {
        guard !quiet || always else { return }
        FileHandle.standardError.write(Data(("flowlua: " + text + "\n").utf8))
    }

    static func format(_ seconds: TimeInterval) -> String {
        seconds < 1 ? String(format: "%.0fms", seconds * 1000)
            : seconds < 60 ? String(format: "%.2fs", seconds)
            : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }

    static func relative(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }
}
