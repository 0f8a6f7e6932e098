import FlowEngine
import FlowModel
import Foundation

/// A fresh folder under the system's temporary directory.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appending(path: "flowlua-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func container(_ name: String, _ commands: [String], after: [String] = [], inputs: [String] = [],
               outputs: [String] = [], env: [String: String] = [:], worker: String? = nil,
               cpus: Double? = nil, memory: UInt64? = nil, retries: Int = 0, retryDelay: Double = 0.05,
               timeout: Double? = nil) -> Step {
    .container(ContainerStep(info: StepInfo(name: name, after: after, inputs: inputs, outputs: outputs,
                                            worker: worker, env: env, cpus: cpus, memory: memory, retries: retries,
                                            retryDelay: retryDelay, timeout: timeout),
                             commands: commands))
}

/// Runs `workflow` in a new runs folder; returns the report and the events seen.
/// `cancelAfter` cancels the run that many seconds after it starts.
func run(_ workflow: Workflow, arguments: [String: Value] = [:], jobs: Int = 1,
         policy: Schedule.Policy = .stopOnFailure, capacity: Resources = .machine,
         killGrace: Duration = .seconds(5), cancelAfter: Double? = nil) async throws -> (RunReport, [RunEvent]) {
    let runs = try temporaryFolder("runs")
    let plan = try Plan(workflow, arguments: arguments)
    let events = EventLog()
    let driver = RunDriver(plan: plan,
                           options: RunOptions(runsDirectory: runs, jobs: jobs, capacity: capacity, policy: policy,
                                               killGrace: killGrace),
                           code: nil, logger: .init(label: "test"), observe: { events.append($0) })
    if let cancelAfter {
        Task {
            try await Task.sleep(for: .seconds(cancelAfter))
            driver.cancel()
        }
    }
    let report = try await driver.run()
    return (report, events.events)
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [RunEvent] = []
    func append(_ event: RunEvent) { lock.withLock { storage.append(event) } }
    var events: [RunEvent] { lock.withLock { storage } }
}

extension RunReport {
    func step(_ name: String) -> StepReport? { steps.first { $0.name == name } }
    func file(_ relative: String) -> String? {
        try? String(contentsOfFile: folder + "/" + relative, encoding: .utf8)
    }

    /// Intervals the steps recorded with `traced(...)`, by step name.
    func intervals() -> [String: (start: Int, end: Int)] {
        var starts: [String: Int] = [:], result: [String: (Int, Int)] = [:]
        for line in (file("trace.log") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let time = Int(parts[2]) else { continue }
            let name = String(parts[1])
            if parts[0] == "start" { starts[name] = time } else if let start = starts[name] { result[name] = (start, time) }
        }
        return result
    }

    /// The most steps that were running at the same moment.
    func maxConcurrency() -> Int {
        var edges: [(time: Int, delta: Int)] = []
        for span in intervals().values {
            edges.append((span.start, 1))
            edges.append((span.end, -1))
        }
        edges.sort { $0.time != $1.time ? $0.time < $1.time : $0.delta < $1.delta }
        var running = 0, most = 0
        for (_, delta) in edges {
            running += delta
            most = max(most, running)
        }
        return most
    }
}

/// A command that records its start and end in the run folder's trace.log
/// around `body`.
func traced(_ name: String, _ body: String) -> String {
    "echo start \(name) $(date +%s%N) >> trace.log; \(body); echo end \(name) $(date +%s%N) >> trace.log"
}

/// Living (not zombie) processes whose command line starts with `marker`.
func livingProcesses(matching marker: String) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var found: [Int32] = []
    for entry in entries {
        guard let pid = Int32(entry), pid != getpid(),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
              String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").hasPrefix(marker),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { continue }
        let state = stat[stat.index(close, offsetBy: 2)]
        if state != "Z" && state != "X" { found.append(pid) }
    }
    return found
}

/// A number unlikely to appear in any other command line, for `sleep`: two
/// minutes by default, so that bounds of a minute tell "stopped" from "waited
/// it out" even on a loaded machine.
func uniqueSleep(_ seconds: Int = 120) -> String {
    "\(seconds).\(Int.random(in: 100_000 ... 999_999))"
}
