import FlowModel
import Foundation
import Logging

/// Settings of one run.
public struct RunOptions: Sendable {
    /// Where run folders are created.
    public var runsDirectory: URL
    /// Steps running at once.
    public var jobs: Int
    public var policy: Schedule.Policy

    public init(runsDirectory: URL = RunFolder.runsDirectory(nil),
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                policy: Schedule.Policy = .stopOnFailure) {
        self.runsDirectory = runsDirectory
        self.jobs = max(1, jobs)
        self.policy = policy
    }
}

/// Runs one plan: owns the run's mutable state (its schedule, step states and
/// run variables) while workers execute steps concurrently.
public actor RunDriver {
    private let plan: Plan
    private let options: RunOptions
    private let code: (any CodeExecutor)?
    private let observe: @Sendable (RunEvent) -> Void
    private let logger: Logger
    private var schedule: Schedule
    private var run = StateRecord()
    private var steps: [StateRecord]
    private var results: [ExecResult?]
    private var vars: [String: Value] = [:]
    private var folder: RunFolder?

    public init(plan: Plan, options: RunOptions, code: (any CodeExecutor)?, logger: Logger,
                observe: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.plan = plan
        self.options = options
        self.code = code
        self.logger = logger
        self.observe = observe
        schedule = Schedule(dependencies: plan.dependencies, policy: options.policy)
        steps = Array(repeating: StateRecord(), count: plan.workflow.steps.count)
        results = Array(repeating: nil, count: plan.workflow.steps.count)
    }

    /// Creates the run folder, stages the inputs, runs every step that can
    /// run, and reports how each ended. Throws only when the run cannot
    /// start (the run folder cannot be made or an input cannot be copied).
    public func run(id: String = RunFolder.newID()) async throws -> RunReport {
        let folder = try RunFolder.create(in: options.runsDirectory, id: id)
        self.folder = folder
        try folder.stage(plan.staged)
        try? run.move(to: .running)
        logger.info("run started", metadata: ["run": "\(id)", "folder": "\(folder.path)"])
        observe(.runStarted(id: id, folder: folder.path, steps: plan.workflow.steps.count))
        await callback(plan.workflow.callbacks.onStart, "on_start", status: .running, step: nil, error: nil)

        await withTaskGroup(of: (Int, ExecResult, [String: Value]?).self) { group in
            launchReady(into: &group, folder: folder)
            while let (index, result, newVars) = await group.next() {
                if let newVars { vars = newVars }
                finish(index, result, folder: folder)
                launchReady(into: &group, folder: folder)
            }
        }

        let failed = schedule.status.firstIndex(of: .error)
        let reason = failed.map { "not started: step '\(plan.workflow.steps[$0].name)' failed" } ?? "not started"
        for index in schedule.closePending(reason: reason) { markNotRun(index, reason: reason) }
        let final: Status = failed != nil ? .error : .success
        try? run.move(to: final, message: failed.flatMap { results[$0]?.error })
        let failedStep = failed.map { plan.workflow.steps[$0].name }
        let error = failed.flatMap { results[$0]?.error }
        if final == .success {
            await callback(plan.workflow.callbacks.onSuccess, "on_success", status: final, step: nil, error: nil)
        } else {
            await callback(plan.workflow.callbacks.onFailure, "on_failure", status: final, step: failedStep, error: error)
        }
        observe(.runFinished(status: final, duration: run.duration() ?? 0))
        logger.info("run finished", metadata: ["run": "\(id)", "status": "\(final.rawValue)"])
        return RunReport(id: id, folder: folder.path, status: final, run: run,
                         steps: plan.workflow.steps.indices.map {
                             StepReport(name: plan.workflow.steps[$0].name, state: steps[$0], result: results[$0])
                         }, vars: vars)
    }

    private func launchReady(into group: inout TaskGroup<(Int, ExecResult, [String: Value]?)>, folder: RunFolder) {
        while schedule.runningCount < options.jobs, let index = schedule.next() {
            try? steps[index].move(to: .running)
            let step = plan.workflow.steps[index]
            observe(.stepStarted(step: step.name, index: index))
            let context = context(for: index, folder: folder)
            let code = self.code
            let vars = self.vars
            group.addTask {
                let (result, newVars) = await Self.execute(step, context: context, code: code, vars: vars)
                return (index, result, newVars)
            }
        }
    }

    /// Runs one step on its worker, off the actor.
    private static func execute(_ step: Step, context: StepContext, code: (any CodeExecutor)?,
                                vars: [String: Value]) async -> (ExecResult, [String: Value]?) {
        switch step {
        case .container(let container):
            return (await SubprocessWorker().run(container, context: context), nil)
        case .code(let codeStep):
            guard let code else { return (ExecResult(exitCode: nil, error: "no Lua state to run code steps"), nil) }
            let outcome = await code.run(codeStep, context: context, vars: vars)
            return (outcome.result, outcome.vars)
        case .notebook:
            return (ExecResult(exitCode: nil, error: "notebook steps need the notebook worker, which this build does not have yet"), nil)
        }
    }

    private func context(for index: Int, folder: RunFolder) -> StepContext {
        let step = plan.workflow.steps[index]
        let worker = plan.workers[index]
        let variables = Variables(
            runVars: vars, parameters: plan.arguments, workerVars: worker.vars,
            builtins: ["run_id": folder.id, "run_dir": folder.path, "step": step.name, "workflow": plan.workflow.name])
        return StepContext(runID: folder.id, folder: folder, stepName: step.name, variables: variables,
                           environment: worker.env.merging(step.info.env) { $1 }, logs: folder.logs(for: step.name))
    }

    private func finish(_ index: Int, _ result: ExecResult, folder: RunFolder) {
        var result = result
        let step = plan.workflow.steps[index]
        if result.succeeded {
            let variables = context(for: index, folder: folder).variables
            for output in plan.outputs[index] {
                let path = (try? variables.substitute(output)) ?? output
                if !folder.exists(path) {
                    result.error = "declared output '\(path)' was not produced"
                    break
                }
            }
        }
        let status: Status = result.succeeded ? .success : .error
        try? steps[index].move(to: status, message: result.error)
        results[index] = result
        let blocked = schedule.finish(index, as: status)
        observe(.stepFinished(step: step.name, index: index, status: status,
                              duration: steps[index].duration() ?? 0, result: result))
        for dependent in blocked {
            markNotRun(dependent, reason: "not run: depends on '\(step.name)', which failed")
        }
    }

    private func markNotRun(_ index: Int, reason: String) {
        try? steps[index].move(to: .notRun, message: reason)
        observe(.stepNotRun(step: plan.workflow.steps[index].name, index: index, reason: reason))
    }

    private func callback(_ function: FunctionReference?, _ name: String, status: Status,
                          step: String?, error: String?) async {
        guard let function, let code, let folder else { return }
        let event = CallbackEvent(runID: folder.id, workflow: plan.workflow.name, status: status,
                                  runDirectory: folder.path, vars: vars, parameters: plan.arguments,
                                  step: step, error: error)
        if let failure = await code.call(function, event: event) {
            observe(.callbackFailed(name: name, error: failure))
        }
    }
}
