import FlowEngine
import FlowModel

extension RunStore: RunCatalog {
    public func runSummaries() throws -> [RunSummary] {
        try runs().map(RunSummary.init)
    }

    public func runStatus(_ id: String) throws -> (run: RunSummary, steps: [StepSummary]) {
        let run = try run(id)
        let steps = try steps(of: run.id).map {
            StepSummary(name: $0.name, status: $0.status, attempts: $0.attempts, exitCode: $0.exitCode,
                        message: $0.message, duration: $0.duration, fromCache: $0.fromCache)
        }
        return (RunSummary(run), steps)
    }
}

extension RunSummary {
    init(_ run: StoredRun) {
        self.init(id: run.id, workflow: run.workflow, status: run.status, message: run.message, folder: run.folder,
                  startedAt: run.startedAt, finishedAt: run.finishedAt, duration: run.duration, vars: run.vars)
    }
}
