import ArgumentParser
import FlowEngine
import FlowModel
import FlowScript
import FlowStore
import Foundation
import Logging

/// Runs a workflow in this process and records it: a new run, a run created
/// by `run --detach` in another process, or a restart of an earlier run in
/// its own folder.
struct RunSession {
    var arguments: RunArguments
    var settings: RunSettings
    var runsDirectory: URL
    var store: RunStore
    var quiet: Bool

    /// Loads the script and checks the arguments and the plan: every error
    /// here comes before anything runs (exit 2).
    static func prepare(script: String, arguments: RunArguments,
                        workingDirectory: String = FileManager.default.currentDirectoryPath,
                        database: String? = nil) throws -> (ScriptHost, Plan) {
        guard FileManager.default.fileExists(atPath: script) else {
            throw ScriptError("cannot open \(script): no such file")
        }
        var catalog: (@Sendable () throws -> any RunCatalog)?
        if let database {
            catalog = { @Sendable () throws -> any RunCatalog in try RunStore(path: database) }
        }
        let host = try ScriptHost(script: script, catalog: catalog)
        let bound = try Arguments.bind(host.workflow.parameters, assignments: arguments.assignments, file: arguments.file)
        let plan = try Plan(host.workflow, arguments: bound, currentDirectory: workingDirectory)
        return (host, plan)
    }

    /// The run record of a new run, pending.
    func record(_ id: String, plan: Plan, script: String) throws -> StoredRun {
        let run = StoredRun(id: id, workflow: plan.workflow.name, script: Self.absolute(script),
                            workingDirectory: FileManager.default.currentDirectoryPath,
                            folder: runsDirectory.appending(path: id).path, pid: getpid(),
                            arguments: arguments, settings: settings, stepCount: plan.workflow.steps.count)
        try store.create(run, steps: Self.steps(of: plan))
        return run
    }

    /// Runs `plan` as run `id`, recording every event; returns the report,
    /// and the signal that canceled it if one did.
    func execute(_ host: ScriptHost, _ plan: Plan, id: String,
                 carryover: Carryover = Carryover()) async throws -> (report: RunReport, signal: Int32?, unrecorded: String?) {
        store.reserveSpace()
        var capacity = Resources.machine
        if let cpus = settings.cpus { capacity.cpus = cpus }
        if let memory = settings.memory, let bytes = ByteCount.parse(memory) { capacity.memory = bytes }
        let workflow = plan.workflow
        let progress = Progress(quiet: quiet)
        let recorder = store.recorder(for: id, steps: Self.steps(of: plan))
        let driver = RunDriver(
            plan: plan,
            options: RunOptions(runsDirectory: runsDirectory, jobs: settings.jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                                capacity: capacity, policy: settings.keepGoing ? .keepGoing : .stopOnFailure,
                                killGrace: .milliseconds(Int(settings.grace * 1000)),
                                cache: RunCache(store: store, recorder: recorder), resume: settings.resume),
            code: host, logger: Logger(label: "flowlua.run"), carryover: carryover,
            observe: { event in
                progress.show(event, workflow: workflow)
                recorder.record(event)
            })
        let interrupts = Interrupts(deadline: .milliseconds(Int(settings.grace * 1000)) + Interrupts.margin) { driver.cancel() }
        defer { interrupts.remove() }
        let report: RunReport
        do {
            report = try await driver.run(id: id)
        } catch {
            let message = error is PlanError ? "\(error)" : "cannot start the run: \(error)"
            recorder.record(.runFinished(status: .error, duration: 0, message: message))
            recorder.finish()
            if error is PlanError { throw error }
            throw ScriptError(message)
        }
        // A canceled run ends now: it does not wait for outputs to be hashed for the cache.
        let unrecorded = recorder.finish(waitingForOutputs: report.status != .canceled)
        progress.summarize(report)
        if let unrecorded {
            FileHandle.standardError.write(Data(("flowlua: error: the run database could not record all of run \(id) "
                + "(\(unrecorded)): what it shows of this run may differ from the above\n").utf8))
        }
        return (report, interrupts.cancelSignal, unrecorded)
    }

    /// The exit status for a finished run: 0, 1, or 130/143 after a cancel;
    /// 3 when its record in the run database is incomplete.
    static func exitCode(_ report: RunReport, signal: Int32?, unrecorded: String? = nil) -> Int32 {
        if unrecorded != nil { return 3 }
        return switch report.status {
        case .success: 0
        case .canceled: Interrupts.exitCode(for: signal ?? SIGINT)
        default: 1
        }
    }

    /// The run's steps as the run database lists them.
    static func steps(of plan: Plan) -> [(name: String, kind: String)] {
        plan.workflow.steps.map { ($0.name, $0.kind) }
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
