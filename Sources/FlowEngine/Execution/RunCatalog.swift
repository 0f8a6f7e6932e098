import FlowModel
import Foundation

/// Recorded runs as scripts and the REPL see them (`flow.runs()`,
/// `flow.status(id)`): the run database, reached through the engine so that
/// the script layer does not depend on it.
public protocol RunCatalog: Sendable {
    /// Every run, newest first.
    func runSummaries() throws -> [RunSummary]
    /// One run (an id or a unique prefix) and its steps.
    func runStatus(_ id: String) throws -> (run: RunSummary, steps: [StepSummary])
}

public struct RunSummary: Sendable {
    public var id: String
    public var workflow: String
    public var status: Status
    public var message: String?
    public var folder: String
    public var startedAt: Date?
    public var finishedAt: Date?
    public var duration: TimeInterval?
    public var vars: [String: Value]

    public init(id: String, workflow: String, status: Status, message: String?, folder: String, startedAt: Date?,
                finishedAt: Date?, duration: TimeInterval?, vars: [String: Value]) {
        self.id = id
        self.workflow = workflow
        self.status = status
        self.message = message
        self.folder = folder
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.duration = duration
        self.vars = vars
    }
}

public struct StepSummary: Sendable {
    public var name: String
    public var status: Status
    public var attempts: Int
    public var exitCode: Int32?
    public var message: String?
    public var duration: TimeInterval?
    public var fromCache: Bool

    public init(name: String, status: Status, attempts: Int, exitCode: Int32?, message: String?,
                duration: TimeInterval?, fromCache: Bool) {
        self.name = name
        self.status = status
        self.attempts = attempts
        self.exitCode = exitCode
        self.message = message
        self.duration = duration
        self.fromCache = fromCache
    }
}
