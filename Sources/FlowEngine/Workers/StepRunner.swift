import FlowModel

/// Runs attempts of steps on one type of worker. Each type has one,
/// registered in `WorkerRegistry`; the driver knows workers only through
/// this protocol.
public protocol StepRunner: Sendable {
    /// Runs one attempt of `step` on `worker`. It ends when the step ends or
    /// after `context.stop` was triggered, never leaving a process behind.
    nonisolated(nonsending) func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome
}

extension StepOutcome {
    /// The outcome of a step handed to a worker that cannot run its kind
    /// (the plan refuses such pairs: this is a bug if seen).
    static func unsupported(_ step: Step, on worker: WorkerSpec) -> StepOutcome {
        StepOutcome(result: ExecResult(exitCode: nil,
                                       error: "worker '\(worker.name)' (\(worker.type.rawValue)) cannot run \(step.kind) steps"))
    }
}

extension SubprocessWorker: StepRunner {
    nonisolated(nonsending) public func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .container(let container) = step else { return .unsupported(step, on: worker) }
        return StepOutcome(result: await run(container, context: context))
    }
}

extension DockerWorker: StepRunner {
    nonisolated(nonsending) public func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .container(let container) = step else { return .unsupported(step, on: worker) }
        return StepOutcome(result: await run(container, worker: worker, context: context))
    }
}

extension SlurmWorker: StepRunner {
    nonisolated(nonsending) public func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .container(let container) = step else { return .unsupported(step, on: worker) }
        return StepOutcome(result: await run(container, worker: worker, context: context))
    }
}

extension NotebookWorker: StepRunner {
    nonisolated(nonsending) public func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .notebook(let notebook) = step else { return .unsupported(step, on: worker) }
        return StepOutcome(result: await run(notebook, context: context))
    }
}

extension NotebookDockerWorker: StepRunner {
    nonisolated(nonsending) public func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .notebook(let notebook) = step else { return .unsupported(step, on: worker) }
        return StepOutcome(result: await run(notebook, worker: worker, context: context))
    }
}

/// Code steps, run by whoever owns the script's Lua state.
struct CodeRunner: StepRunner {
    let code: any CodeExecutor

    nonisolated(nonsending) func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        guard case .code(let codeStep) = step else { return .unsupported(step, on: worker) }
        return await code.run(codeStep, context: context, vars: context.vars)
    }
}
