import FlowEngine
import FlowModel
import Foundation

/// Prints a run's progress to standard error: a line as each step starts and
/// ends, the tail of a failed step's stderr, and a closing summary.
struct Progress: Sendable {
    var quiet: Bool
    /// How many stderr lines of a failed step to show.
    var tailLines = 10

    /// Above this many steps the summary lists only those that did not succeed.
    var summaryLimit = 50

    func show(_ event: RunEvent, workflow: Workflow) {
        if quiet, !event.shownWhenQuiet { return }
        switch event {
        case .runStarted(let id, let folder, let steps):
            say("run \(id): workflow '\(workflow.name)', \(steps) step\(steps == 1 ? "" : "s"), folder \(Self.relative(folder))")
        case .stepStarted(let step, _, let attempt):
            say(attempt == 1 ? "start  \(step)" : "start  \(step) (attempt \(attempt))")
        case .stepSubmitted(let step, _, let id):
            say("submit \(step) (job \(id))")
        case .stepRetrying(let step, _, let attempt, let delay, let result):
            say("retry  \(step): attempt \(attempt) failed (\(result.error ?? "exit code \(result.exitCode ?? -1)")); "
                + "again in \(Self.format(delay))")
        case .stepFinished(let step, _, let status, let duration, let result):
            switch status {
            case .success:
                say("done   \(step) (\(Self.format(duration)))")
            case .canceled:
                say("cancel \(step) (\(Self.format(duration)))")
            default:
                var text = "FAILED \(step) (\(Self.format(duration))): \(result.error ?? "exit code \(result.exitCode ?? -1)")"
                let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
                    .reversed().drop { $0.isEmpty }.reversed().suffix(tailLines)
                for line in lines { text += "\n       | \(line)" }
                say(text, always: true)
            }
        case .stepNotRun(let step, _, _, let reason):
            say("skip   \(step): \(reason)")
        case .stepsAdded(let step, _, let added):
            let names = added.prefix(5).map(\.name).joined(separator: ", ") + (added.count > 5 ? ", ..." : "")
            say("add    \(added.count) step\(added.count == 1 ? "" : "s") from \(step): \(names)")
        case .callbackFailed(let name, let error):
            say("callback \(name) failed: \(error)", always: true)
        case .stepCached(let step, _, let from):
            say("cached \(step) (from run \(from))")
        case .varsChanged:
            break
        case .runCanceling:
            say("canceling: stopping running steps", always: true)
        case .runFinished:
            break
        }
    }

    func summarize(_ report: RunReport) {
        var counts: [Status: Int] = [:]
        for step in report.steps { counts[step.state.status, default: 0] += 1 }
        let listed = report.steps.count <= summaryLimit ? report.steps : report.steps.filter { $0.state.status != .success }
        let width = listed.map(\.name.count).max() ?? 0
        var lines: [String] = []
        for step in listed {
            let duration = step.state.duration().map(Self.format) ?? "-"
            let retried = step.cachedFrom.map { "  (cached, from run \($0))" }
                ?? (step.attempts > 1 ? "  (\(step.attempts) attempts)" : "")
            lines.append("  \(step.name.padding(toLength: width, withPad: " ", startingAt: 0))  "
                + "\(step.state.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(duration)\(retried)")
        }
        if listed.count < report.steps.count, !listed.isEmpty {
            lines.append("  (and \(report.steps.count - listed.count) that succeeded)")
        }
        let order: [Status] = [.success, .error, .canceled, .notRun]
        var tally = order.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }.joined(separator: ", ")
        let cached = report.steps.filter { $0.cachedFrom != nil }
        if !cached.isEmpty { tally += "; \(cached.count) from the cache" }
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

extension RunEvent {
    /// Errors and a cancel are shown even with `--quiet`.
    var shownWhenQuiet: Bool {
        switch self {
        case .stepFinished(_, _, let status, _, _): status != .success && status != .canceled
        case .callbackFailed, .runCanceling: true
        default: false
        }
    }
}
