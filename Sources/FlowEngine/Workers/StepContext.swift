import FlowModel
import Foundation

/// Everything a worker needs to run one step of a run.
public struct StepContext: Sendable {
    public var runID: String
    public var folder: RunFolder
    public var stepName: String
    /// The variables `${name}` resolves to, fixed when the step starts.
    public var variables: Variables
    /// The environment for the step's processes, over the inherited one:
    /// the worker's env, then the step's.
    public var environment: [String: String]
    public var logs: (stdout: URL, stderr: URL)
}

/// Runs code steps and callbacks: implemented by whoever owns the script's
/// Lua state, the engine's only view of Lua.
public protocol CodeExecutor: Sendable {
    /// Runs a code step; `vars` are the run variables, which the step may change.
    func run(_ step: CodeStep, context: StepContext, vars: [String: Value]) async -> CodeOutcome

    /// Calls a workflow callback; returns the error it raised, if any.
    func call(_ callback: FunctionReference, event: CallbackEvent) async -> String?
}

/// What a code step produced: its result and the run variables after it.
public struct CodeOutcome: Sendable {
    public var result: ExecResult
    public var vars: [String: Value]

    public init(result: ExecResult, vars: [String: Value]) {
        self.result = result
        self.vars = vars
    }
}

/// What a callback is told: the run, and for failures the step and error.
public struct CallbackEvent: Sendable {
    public var runID: String
    public var workflow: String
    public var status: Status
    public var runDirectory: String
    public var vars: [String: Value]
    public var parameters: [String: Value]
    public var step: String?
    public var error: String?
}
