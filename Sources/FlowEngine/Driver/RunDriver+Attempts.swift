import FlowModel
import Foundation

/// One attempt of a step on its worker, and the callbacks around steps.
extension RunDriver {
    /// - Parameter resolution: the step as the attempt runs it, or the
    ///   field that cannot be resolved, which fails it before it starts.
    func attempt(_ index: Int, attempt: Int, step: Step, resolution: Result<ResolvedStep, FieldError>,
                 context: StepContext, onStart: FunctionReference?, event: CallbackEvent?, chain: CodeChain?) async {
        let resolved: ResolvedStep
        switch resolution {
        case .success(let step): resolved = step
        case .failure(let error):
            return attemptEnded(index, attempt: attempt, ExecResult(exitCode: nil, error: "\(error)"), changes: [:])
        }
        // Like every callback's, its error is reported and the step runs.
        if let onStart, let event, let code, let failure = await code.call(onStart, event: event) {
            observe(.callbackFailed(name: "\(step.name).on_start", error: failure))
        }
        var context = context
        context.resolved = resolved
        context.environment = resolved.environment
        if let chain, let code {
            // The chain goes on on the Lua thread; this task takes the ends
            // of its links as they come, each link started by the end of the
            // one before (`RunState.followChain`).
            Task { [vars = state.vars] in
                await code.run(chain, vars: vars)
                chain.end()
            }
            var (index, attempt) = (index, attempt)
            for position in chain.links.indices {
                if position > 0 {
                    index = chain.links[position].index
                    guard chain.hasBegun(position), state.running.contains(index) else { return }
                    attempt = state.attempts[index]
                }
                let outcome = await chain.outcome(position)
                attemptEnded(index, attempt: attempt, outcome.result, changes: outcome.changes, added: outcome.added)
            }
            return
        }
        let worker = plan.workers[index]
        guard let runner = workers.runner(for: worker.type) else {
            let error = "no runner for workers of type \(worker.type.rawValue) (\(step.kind) steps)"
            return attemptEnded(index, attempt: attempt, ExecResult(exitCode: nil, error: error), changes: [:])
        }
        if case .code = step { context.vars = state.vars }
        let declared = step.info.values
        if !declared.isEmpty {
            StepValues.prepare(context.logs.values)
            context.environment[StepValues.variable] = context.logs.values
        }
        var outcome = await runner.run(step, on: worker, context: context)
        if !declared.isEmpty, outcome.result.succeeded {
            switch StepValues.read(context.logs.values, declared: declared) {
            case .success(let values): outcome.changes.merge(values) { $1 }
            case .failure(let failure): outcome.result.error = failure.description
            }
        }
        attemptEnded(index, attempt: attempt, outcome.result, changes: outcome.changes, added: outcome.added)
    }

    func context(for index: Int, attempt: Int, folder: RunFolder) -> StepContext {
        Self.context(plan: plan, index: index, attempt: attempt, vars: state.vars, folder: folder,
                     killGrace: options.killGrace)
    }

    static func context(plan: Plan, index: Int, attempt: Int, vars: [String: Value], folder: RunFolder,
                        killGrace: Duration) -> StepContext {
        let step = plan.workflow.steps[index]
        return StepContext(runID: folder.id, folder: folder, stepName: step.name, attempt: attempt,
                           variables: plan.variables(for: index, vars: vars, folder: folder),
                           environment: plan.workers[index].env.merging(step.info.env) { $1 },
                           logs: folder.logs(for: step.name), killGrace: killGrace)
    }

    /// Separates attempts in a retried step's logs.
    func markAttempt(_ attempt: Int, of step: Step, in folder: RunFolder) {
        let line = "--- flowlua: attempt \(attempt) of \(step.info.retries + 1) ---\n"
        let logs = folder.logs(for: step.name)
        RunFolder.append(line, to: logs.stdout)
        RunFolder.append(line, to: logs.stderr)
    }

    // MARK: Callbacks

    /// Calls a step's `on_success`, `on_failure` or `on_cancel`, not waiting
    /// for it: the run waits for every callback before it ends.
    func call(_ callback: StepCallback) {
        let step = plan.workflow.steps[callback.index]
        let (function, name): (FunctionReference?, String) = switch callback.status {
        case .success: (step.info.callbacks.onSuccess, "on_success")
        case .canceled: (step.info.callbacks.onCancel, "on_cancel")
        default: (step.info.callbacks.onFailure, "on_failure")
        }
        guard let function, let code else { return }
        let event = callbackEvent(.step, status: callback.status, step: callback.snapshot, error: callback.error)
        let observe = self.observe
        callbacks.append(Task {
            if let failure = await code.call(function, event: event) {
                observe(.callbackFailed(name: "\(step.name).\(name)", error: failure))
            }
        })
    }

    func callbackEvent(_ scope: CallbackEvent.Scope, status: Status, step: StepSnapshot? = nil,
                       error: String? = nil) -> CallbackEvent {
        CallbackEvent(scope: scope, runID: folder?.id ?? "", workflow: plan.workflow.name, status: status,
                      runDirectory: folder?.path ?? "", vars: state.vars, parameters: plan.arguments, step: step,
                      error: error)
    }

    func callWorkflow(_ function: FunctionReference?, _ name: String, status: Status,
                      step: StepSnapshot? = nil, error: String? = nil) async {
        guard let function, let code else { return }
        if let failure = await code.call(function, event: callbackEvent(.workflow, status: status, step: step, error: error)) {
            observe(.callbackFailed(name: name, error: failure))
        }
    }
}
