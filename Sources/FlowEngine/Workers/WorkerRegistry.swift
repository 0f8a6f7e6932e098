import FlowModel

/// The workers a run can use: how each type of worker runs a step, and the
/// cluster engine remote workers hand their jobs to. A run takes it from
/// `RunOptions.workers`; `stop` and `restart` ask its engine to stop jobs.
/// Tests register their own runners and engines.
public struct WorkerRegistry: Sendable {
    private var runners: [WorkerType: any StepRunner] = [:]
    /// Where jobs of remote workers go: stopped through it when a run that
    /// no longer follows them ends, is stopped or is restarted.
    public var remote: any RemoteEngine

    /// A registry of no runners.
    public init(remote: any RemoteEngine) {
        self.remote = remote
    }

    /// Runs steps on workers of `type` with `runner`, in place of any before.
    public mutating func register(_ runner: any StepRunner, for type: WorkerType) {
        runners[type] = runner
    }

    public func runner(for type: WorkerType) -> (any StepRunner)? { runners[type] }

    /// flowlua's own workers: processes on this machine, Docker, papermill
    /// on this machine or in Docker, and Slurm. Code steps are added by the
    /// run, which has the Lua state.
    public static var standard: WorkerRegistry {
        let slurm = SlurmEngine()
        var registry = WorkerRegistry(remote: slurm)
        registry.register(SubprocessWorker(), for: .subprocess)
        registry.register(DockerWorker(), for: .docker)
        registry.register(SlurmWorker(engine: slurm), for: .slurm)
        registry.register(NotebookWorker(), for: .notebook)
        registry.register(NotebookDockerWorker(), for: .nbdocker)
        return registry
    }
}
