import FlowModel
import Foundation

/// Settings of one run.
public struct RunOptions: Sendable {
    /// Where run folders are created.
    public var runsDirectory: URL
    /// Steps running at once.
    public var jobs: Int
    /// What running steps may reserve together (their declared cpus and memory).
    public var capacity: Resources
    public var policy: Schedule.Policy
    /// How long a stopped step's processes get between SIGTERM and SIGKILL.
    public var killGrace: Duration
    /// How long a callback may run before it is interrupted.
    public var callbackTimeout: Duration
    /// Where step results are kept and found; nil keeps none.
    public var cache: (any StepCache)?
    /// Reuse cached results instead of running steps (`--resume`).
    public var resume: Bool
    /// How each type of worker runs a step (code steps are the run's).
    public var workers: WorkerRegistry

    public init(runsDirectory: URL = RunFolder.runsDirectory(nil),
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                capacity: Resources = .machine,
                policy: Schedule.Policy = .stopOnFailure,
                killGrace: Duration = .seconds(5),
                callbackTimeout: Duration = .seconds(60),
                cache: (any StepCache)? = nil, resume: Bool = false, workers: WorkerRegistry = .standard) {
        self.runsDirectory = runsDirectory
        self.jobs = max(1, jobs)
        self.capacity = capacity
        self.policy = policy
        self.killGrace = killGrace
        self.callbackTimeout = callbackTimeout
        self.cache = cache
        self.resume = resume
        self.workers = workers
    }
}

extension Resources {
    /// This machine's cores and physical memory.
    public static var machine: Resources {
        Resources(cpus: Double(ProcessInfo.processInfo.activeProcessorCount),
                  memory: ProcessInfo.processInfo.physicalMemory)
    }
}
