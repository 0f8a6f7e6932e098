import FlowModel
import Foundation

/// A run as the database holds it.
public struct StoredRun: Sendable, Codable, Hashable {
    public var id: String
    public var workflow: String
    /// The script's absolute path.
    public var script: String
    /// The folder flowlua was started in.
    public var workingDirectory: String
    public var folder: String
    public var status: Status
    public var message: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var pid: Int32?
    public var heartbeatAt: Date?
    public var arguments: RunArguments
    public var settings: RunSettings
    public var vars: [String: Value]
    public var stepCount: Int

    public init(id: String, workflow: String, script: String, workingDirectory: String, folder: String,
                status: Status = .pending, createdAt: Date = Date(), pid: Int32? = nil,
                arguments: RunArguments = .init(), settings: RunSettings = .init(), stepCount: Int = 0) {
        self.id = id
        self.workflow = workflow
        self.script = script
        self.workingDirectory = workingDirectory
        self.folder = folder
        self.status = status
        self.createdAt = createdAt
        self.pid = pid
        self.arguments = arguments
        self.settings = settings
        self.vars = [:]
        self.stepCount = stepCount
    }

    /// From start to finish, or to now while it runs.
    public var duration: TimeInterval? {
        startedAt.map { (finishedAt ?? Date()).timeIntervalSince($0) }
    }
}

/// What a run was given: `-p` assignments and a `--params` file, as typed,
/// so that a restart binds them again exactly.
public struct RunArguments: Sendable, Codable, Hashable {
    public var assignments: [String]
    public var file: String?

    public init(assignments: [String] = [], file: String? = nil) {
        self.assignments = assignments
        self.file = file
    }
}

/// How a run was asked to run, for a restart to do the same.
public struct RunSettings: Sendable, Codable, Hashable {
    public var jobs: Int?
    public var keepGoing: Bool
    public var cpus: Double?
    public var memory: String?
    public var grace: Double
    public var resume: Bool

    public init(jobs: Int? = nil, keepGoing: Bool = false, cpus: Double? = nil, memory: String? = nil,
                grace: Double = 5, resume: Bool = false) {
        self.jobs = jobs
        self.keepGoing = keepGoing
        self.cpus = cpus
        self.memory = memory
        self.grace = grace
        self.resume = resume
    }
}

/// A step of a run as the database holds it.
public struct StoredStep: Sendable, Codable, Hashable {
    public var position: Int
    public var name: String
    public var kind: String
    public var status: Status
    public var attempts: Int
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int32?
    public var message: String?
    /// Its result came from the cache (`--resume`), not from running it.
    public var fromCache: Bool
    /// The job a cluster ran (or runs) for it: a Slurm job id.
    public var remoteID: String? = nil

    public var duration: TimeInterval? {
        startedAt.map { (finishedAt ?? Date()).timeIntervalSince($0) }
    }
}

/// One change of state of a run (`position` nil) or of one of its steps.
public struct StoredTransition: Sendable, Codable, Hashable {
    public var position: Int?
    public var status: String
    public var at: Date
    public var message: String?
}

/// The result of a successful step, reusable by a later run with the same key.
public struct CacheEntry: Sendable, Codable, Hashable {
    public var key: String
    public var runID: String
    public var step: String
    /// The run folder holding the outputs.
    public var folder: String
    public var outputs: [CachedFile]
    /// The run variables the step set (nil: removed).
    public var changes: [String: Value?]

    public init(key: String, runID: String, step: String, folder: String, outputs: [CachedFile],
                changes: [String: Value?]) {
        self.key = key
        self.runID = runID
        self.step = step
        self.folder = folder
        self.outputs = outputs
        self.changes = changes
    }
}

/// An output file of a cached step, with the content hash it had.
public struct CachedFile: Sendable, Codable, Hashable {
    /// Relative to the run folder.
    public var path: String
    public var hash: String

    public init(path: String, hash: String) {
        self.path = path
        self.hash = hash
    }
}

// MARK: Rows to values

extension RunRow {
    init(_ run: StoredRun) {
        self.init(id: run.id, workflow: run.workflow, script: run.script, workingDirectory: run.workingDirectory,
                  arguments: json(run.arguments), options: json(run.settings), folder: run.folder,
                  status: run.status.rawValue, message: run.message, createdAt: run.createdAt.timeIntervalSince1970,
                  startedAt: run.startedAt?.timeIntervalSince1970, finishedAt: run.finishedAt?.timeIntervalSince1970,
                  pid: run.pid, heartbeatAt: run.heartbeatAt?.timeIntervalSince1970, vars: json(run.vars),
                  stepCount: run.stepCount)
    }
}

extension StoredRun {
    init(_ row: RunRow) {
        self.init(id: row.id, workflow: row.workflow, script: row.script, workingDirectory: row.workingDirectory,
                  folder: row.folder, status: Status(rawValue: row.status) ?? .error,
                  createdAt: Date(timeIntervalSince1970: row.createdAt), pid: row.pid,
                  arguments: decodeJSON(RunArguments.self, row.arguments) ?? .init(),
                  settings: decodeJSON(RunSettings.self, row.options) ?? .init(), stepCount: row.stepCount)
        message = row.message
        startedAt = row.startedAt.map(Date.init(timeIntervalSince1970:))
        finishedAt = row.finishedAt.map(Date.init(timeIntervalSince1970:))
        heartbeatAt = row.heartbeatAt.map(Date.init(timeIntervalSince1970:))
        vars = decodeJSON([String: Value].self, row.vars) ?? [:]
    }
}

extension StoredStep {
    init(_ row: StepRow) {
        self.init(position: row.position, name: row.name, kind: row.kind, status: Status(rawValue: row.status) ?? .error,
                  attempts: row.attempts, startedAt: row.startedAt.map(Date.init(timeIntervalSince1970:)),
                  finishedAt: row.finishedAt.map(Date.init(timeIntervalSince1970:)), exitCode: row.exitCode,
                  message: row.message, fromCache: row.fromCache, remoteID: row.remoteId)
    }
}

extension StoredTransition {
    init(_ row: TransitionRow) {
        self.init(position: row.position, status: row.status, at: Date(timeIntervalSince1970: row.at), message: row.message)
    }
}

extension CacheEntry {
    init(_ row: CacheRow) {
        self.init(key: CacheKey.hex(row.key), runID: row.runId, step: row.step, folder: row.folder,
                  outputs: decodeJSON([CachedFile].self, row.outputs) ?? [],
                  changes: decodeJSON([String: Value?].self, row.changes) ?? [:])
    }
}
