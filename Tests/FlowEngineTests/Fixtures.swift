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
               outputs: [String] = [], env: [String: String] = [:], worker: String? = nil) -> Step {
    .container(ContainerStep(info: StepInfo(name: name, after: after, inputs: inputs, outputs: outputs,
                                            worker: worker, env: env), commands: commands))
}

/// Runs `workflow` in a new runs folder; returns the report and the events seen.
func run(_ workflow: Workflow, arguments: [String: Value] = [:], jobs: Int = 1,
         policy: Schedule.Policy = .stopOnFailure) async throws -> (RunReport, [RunEvent]) {
    let runs = try temporaryFolder("runs")
    let plan = try Plan(workflow, arguments: arguments)
    let events = EventLog()
    let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: runs, jobs: jobs, policy: policy),
                           code: nil, logger: .init(label: "test"), observe: { events.append($0) })
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
}
