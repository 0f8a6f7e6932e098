import FlowEngine
import FlowModel
import Foundation
import Testing

/// A runner that runs nothing: it records what it was given and ends each
/// step as told.
final class RecordingRunner: StepRunner, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String] = []
    let failing: Set<String>
    /// Steps each step adds as it runs, by name.
    let adds: [String: [Step]]

    init(failing: Set<String> = [], adds: [String: [Step]] = [:]) {
        self.failing = failing
        self.adds = adds
    }

    var steps: [String] { lock.withLock { seen } }

    nonisolated(nonsending) func run(_ step: Step, on worker: WorkerSpec, context: StepContext) async -> StepOutcome {
        lock.withLock { seen.append("\(step.name)@\(worker.name)#\(context.attempt)") }
        return StepOutcome(result: ExecResult(exitCode: failing.contains(step.name) ? 3 : 0),
                           changes: ["last": .string(step.name)], added: adds[step.name] ?? [])
    }
}

/// A cluster engine that is never reached; stopping records the jobs.
final class RecordingEngine: RemoteEngine, @unchecked Sendable {
    private let lock = NSLock()
    private var stoppedJobs: [String] = []
    var stopped: [String] { lock.withLock { stoppedJobs } }

    func submit(_ job: RemoteJob) async throws(RemoteError) -> String { "1" }
    func poll(_ ids: [String]) async throws(RemoteError) -> [String: RemoteState] { [:] }
    func stop(_ ids: [String]) async { lock.withLock { stoppedJobs += ids } }
    func stopNow(_ ids: [String]) { lock.withLock { stoppedJobs += ids } }
    func fetch(_ handle: RemoteHandle, logs: StepLogPaths, from offsets: (stdout: off_t, stderr: off_t),
               keep: Int) async -> RemoteResult { RemoteResult() }
}

@Suite("Workers come from a registry the run is given")
struct WorkerRegistryTests {
    @Test func theDriverRunsEachStepWithTheRunnerRegisteredForItsWorkersType() async throws {
        let runner = RecordingRunner(failing: ["b"])
        var registry = WorkerRegistry(remote: RecordingEngine())
        registry.register(runner, for: .subprocess)
        let workflow = Workflow(name: "w", workers: ["box": WorkerSpec(name: "box", type: .subprocess)], steps: [
            container("a", ["exit 99"], worker: "box"),
            container("b", ["true"], after: ["a"], retries: 1, retryDelay: 0.01),
        ])
        let plan = try Plan(workflow, arguments: [:])
        let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: try temporaryFolder(), workers: registry),
                               code: nil, logger: .init(label: "test"))
        let report = try await driver.run()
        #expect(runner.steps == ["a@box#1", "b@subprocess#1", "b@subprocess#2"], "no process ran: 'a' would exit 99")
        #expect(report.step("a")?.state.status == .success)
        #expect(report.step("b")?.state.status == .error)
        #expect(report.vars == ["last": .string("a")], "a step's values are kept only when it succeeds")
    }

    @Test func aWorkerTypeWithoutARunnerFailsItsStepsWithAMessage() async throws {
        let registry = WorkerRegistry(remote: RecordingEngine())
        let plan = try Plan(Workflow(name: "w", steps: [container("a", ["true"])]), arguments: [:])
        let report = try await RunDriver(plan: plan, options: RunOptions(runsDirectory: try temporaryFolder(), workers: registry),
                                         code: nil, logger: .init(label: "test")).run()
        #expect(report.step("a")?.result?.error == "no runner for workers of type subprocess (container steps)")
    }

    @Test func jobsARestartDidNotFollowAgainAreStoppedThroughTheRegisteredEngine() async throws {
        let engine = RecordingEngine()
        var registry = WorkerRegistry(remote: engine)
        registry.register(RecordingRunner(failing: ["first"]), for: .subprocess)
        registry.register(RecordingRunner(), for: .slurm)
        let workflow = Workflow(name: "w", workers: ["hpc": WorkerSpec(name: "hpc", type: .slurm, cluster: ClusterOptions())],
                                steps: [container("first", ["true"]), container("job", ["true"], after: ["first"], worker: "hpc")])
        let plan = try Plan(workflow, arguments: [:])
        // The restarted run fails before 'job' starts: its earlier job is followed by no one.
        let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: try temporaryFolder(), workers: registry),
                               code: nil, logger: .init(label: "test"), carryover: Carryover(remote: [1: "42"]))
        let report = try await driver.run()
        #expect(report.step("job")?.state.status == .notRun)
        #expect(engine.stopped == ["42"])
    }
}
