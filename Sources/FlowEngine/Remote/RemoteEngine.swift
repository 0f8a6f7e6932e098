import FlowModel
import Foundation

/// A system that runs steps somewhere else, which flowlua hands jobs to and
/// asks about (seed 002's remote client): a cluster's batch scheduler.
///
/// Its jobs' files live on a file system the cluster shares with flowlua,
/// as on real clusters: a job works in the run folder, and its logs, exit
/// status and outputs are read from there.
public protocol RemoteEngine: Sendable {
    /// Hands `job` over and returns its remote id. It may not run yet: it is
    /// at least queued, and waits for the jobs in `job.after`.
    func submit(_ job: RemoteJob) async throws(RemoteError) -> String

    /// The states of the jobs `ids`, found in one call for all of them; a
    /// job the engine no longer knows is missing from the result.
    func poll(_ ids: [String]) async throws(RemoteError) -> [String: RemoteState]

    /// Stops the jobs `ids`, in one call.
    func stop(_ ids: [String]) async

    /// Stops the jobs `ids` before the process exits, blocking the caller.
    func stopNow(_ ids: [String])

    /// What an ended job left: its logs from `offsets` on (at most `keep`
    /// bytes of each), its exit status, and which of the handle's output
    /// files are missing.
    func fetch(_ handle: RemoteHandle, logs: StepLogPaths, from offsets: (stdout: off_t, stderr: off_t),
               keep: Int) async -> RemoteResult
}

/// What a remote job left behind, fetched once it ended.
public struct RemoteResult: Sendable, Hashable {
    public var stdout: String
    public var stderr: String
    /// The 1-based command that failed (0: none) and its exit status, as the
    /// job recorded them; nil when it recorded nothing (it never got to).
    public var exit: ExitRecord?
    /// Output files of the handle that are not there.
    public var missingOutputs: [String]

    public struct ExitRecord: Sendable, Hashable {
        public var command: Int
        public var status: Int32
        public init(command: Int, status: Int32) {
            self.command = command
            self.status = status
        }
    }

    public init(stdout: String = "", stderr: String = "", exit: ExitRecord? = nil, missingOutputs: [String] = []) {
        self.stdout = stdout
        self.stderr = stderr
        self.exit = exit
        self.missingOutputs = missingOutputs
    }
}

/// A step as a job for a remote engine.
public struct RemoteJob: Sendable, Hashable {
    /// Shown in the engine's queue (`flowlua-<run>-<step>`).
    public var name: String
    /// The batch script the job runs, in `workingDirectory`.
    public var script: String
    public var workingDirectory: String
    /// Where the job's output goes, in the shared run folder.
    public var stdout: String
    public var stderr: String
    public var cpus: Int?
    /// Bytes.
    public var memory: UInt64?
    /// Seconds.
    public var timeLimit: Double?
    /// Remote ids of jobs that must succeed before this one starts.
    public var after: [String]
    public var cluster: ClusterOptions

    public init(name: String, script: String, workingDirectory: String, stdout: String, stderr: String,
                cpus: Int? = nil, memory: UInt64? = nil, timeLimit: Double? = nil, after: [String] = [],
                cluster: ClusterOptions = ClusterOptions()) {
        self.name = name
        self.script = script
        self.workingDirectory = workingDirectory
        self.stdout = stdout
        self.stderr = stderr
        self.cpus = cpus
        self.memory = memory
        self.timeLimit = timeLimit
        self.after = after
        self.cluster = cluster
    }
}

/// A remote job's state as its engine reports it.
public enum RemoteState: Sendable, Hashable {
    /// Queued; `reason` says for what (`Dependency`, `Resources`).
    case pending(reason: String)
    case running
    /// Ended well.
    case completed
    /// Ended with a non-zero exit status, or could not start.
    case failed(reason: String)
    /// Ran past its time limit.
    case timedOut
    /// Stopped: by flowlua, a user, or the engine (`reason`).
    case canceled(reason: String)
    case outOfMemory
    /// The machine running it failed.
    case nodeFailed
    /// Another end state, by the engine's own name.
    case other(state: String, reason: String)
    /// The engine no longer knows the job.
    case vanished
    /// Queued for a reason that can never go away (more than the partition
    /// has, an account it does not know): it would wait for ever.
    case unrunnable(reason: String)

    /// Whether the job may still run.
    public var isActive: Bool {
        switch self {
        case .pending, .running: true
        default: false
        }
    }
}

/// A remote job flowlua follows: its remote id, the state last seen, and
/// the files it is to leave in the run folder (seed 002's
/// `RemoteWorkflowHandle`).
public struct RemoteHandle: Sendable, Hashable {
    public var runID: String
    public var remoteID: String
    public var state: RemoteState
    /// The run folder, as the cluster's nodes see it too.
    public var folder: String
    /// Relative to the run folder.
    public var outputFiles: [String]

    public init(runID: String, remoteID: String, folder: String, state: RemoteState = .pending(reason: ""),
                outputFiles: [String] = []) {
        self.runID = runID
        self.remoteID = remoteID
        self.folder = folder
        self.state = state
        self.outputFiles = outputFiles
    }

}

/// A remote engine could not be reached or refused a job.
public struct RemoteError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
