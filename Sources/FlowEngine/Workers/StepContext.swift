import FlowModel
import Foundation

/// Everything a worker needs to run one attempt of a step.
public struct StepContext: Sendable {
    public var runID: String
    public var folder: RunFolder
    public var stepName: String
    /// 1 for the first run of the step, 2 for its first retry, ...
    public var attempt: Int
    /// The variables `${name}` resolves to, fixed when the attempt starts.
    public var variables: Variables
    /// The environment for the step's processes, over the inherited one:
    /// the worker's env, then the step's.
    public var environment: [String: String]
    public var logs: StepLogPaths
    /// How long a stopped process gets between SIGTERM and SIGKILL.
    public var killGrace: Duration
    /// Where the worker registers what stops this attempt.
    public var stop: StopHandle
    /// Reaps the processes the attempt starts: that of the thread that
    /// awaits them, so an exit resumes the step without a thread hop.
    public var monitor: ProcessMonitor
    /// For a step handed to a cluster: the remote ids of the jobs it must
    /// wait for (it was submitted before they ended), a job an earlier
    /// flowlua submitted for it to follow instead of submitting again (a
    /// restart), and who is told the remote id once it is submitted.
    public var after: [String] = []
    public var adopted: String?
    public var submitted: (@Sendable (String) -> Void)?
    /// The run variables as the attempt starts (what a code step sees as
    /// `ctx.vars`).
    public var vars: [String: Value] = [:]
    /// The step as this attempt runs it (commands, environment and image
    /// after substitution), resolved once by the driver: what the worker
    /// runs and the cache key covers alike.
    public var resolved: ResolvedStep?

    public init(runID: String, folder: RunFolder, stepName: String, attempt: Int = 1, variables: Variables,
                environment: [String: String], logs: StepLogPaths, killGrace: Duration = .seconds(5),
                stop: StopHandle = StopHandle(), monitor: ProcessMonitor = .shared) {
        self.runID = runID
        self.folder = folder
        self.stepName = stepName
        self.attempt = attempt
        self.variables = variables
        self.environment = environment
        self.logs = logs
        self.killGrace = killGrace
        self.stop = stop
        self.monitor = monitor
    }
}

/// Runs code steps and callbacks: implemented by whoever owns the script's
/// Lua state, the engine's only view of Lua.
///
/// A code step stops (its Lua code is interrupted) when its context's
/// `stop` handle is triggered.
public protocol CodeExecutor: Sendable {
    /// Runs a code step; `vars` are the run variables as the step starts.
    func run(_ step: CodeStep, context: StepContext, vars: [String: Value]) async -> StepOutcome

    /// Runs the links of `chain` one after another, each with the run
    /// variables the ones before it left, handing each outcome to the chain
    /// as it ends, until one fails or the chain is revoked. `vars` are the
    /// run variables as the first link starts.
    func run(_ chain: CodeChain, vars: [String: Value]) async

    /// Calls a callback; returns the error it raised, if any.
    func call(_ callback: FunctionReference, event: CallbackEvent) async -> String?
}

/// What an attempt of a step produced: its result and the run variables
/// it changed.
public struct StepOutcome: Sendable {
    public var result: ExecResult
    /// Variables set (a value) or removed (nil); applied only on success.
    public var changes: [String: Value?]
    /// Steps the attempt added to the run (a code step's `ctx:add`); they
    /// join the run only on success.
    public var added: [Step]

    public init(result: ExecResult, changes: [String: Value?] = [:], added: [Step] = []) {
        self.result = result
        self.changes = changes
        self.added = added
    }
}

/// What a callback is told.
///
/// Workflow callbacks are called as `f(run, step, err)`, with the failed
/// step for `on_failure`; step callbacks as `f(step, err)`.
public struct CallbackEvent: Sendable {
    public enum Scope: Sendable { case workflow, step }

    public var scope: Scope
    public var runID: String
    public var workflow: String
    /// The run's state for workflow callbacks, the step's for step callbacks.
    public var status: Status
    public var runDirectory: String
    public var vars: [String: Value]
    public var parameters: [String: Value]
    /// The step the callback is about, if any.
    public var step: StepSnapshot?
    public var error: String?

    public init(scope: Scope, runID: String, workflow: String, status: Status, runDirectory: String,
                vars: [String: Value], parameters: [String: Value], step: StepSnapshot? = nil, error: String? = nil) {
        self.scope = scope
        self.runID = runID
        self.workflow = workflow
        self.status = status
        self.runDirectory = runDirectory
        self.vars = vars
        self.parameters = parameters
        self.step = step
        self.error = error
    }
}

/// A step as callbacks see it.
public struct StepSnapshot: Sendable, Equatable {
    public var name: String
    public var status: Status
    public var attempt: Int
    public var exitCode: Int32?
    public var duration: TimeInterval?
    public var stdout: String
    public var stderr: String

    public init(name: String, status: Status, attempt: Int, exitCode: Int32? = nil, duration: TimeInterval? = nil,
                stdout: String = "", stderr: String = "") {
        self.name = name
        self.status = status
        self.attempt = attempt
        self.exitCode = exitCode
        self.duration = duration
        self.stdout = stdout
        self.stderr = stderr
    }
}

extension StepContext {
    /// The commands the attempt runs: as resolved, else (a worker called on
    /// its own) substituted now.
    func commands(of step: ContainerStep) throws(FieldError) -> [String] {
        if let resolved { return resolved.commands }
        var commands: [String] = []
        for (i, command) in step.commands.enumerated() {
            commands.append(try variables.substitute(command, field: "commands[\(i + 1)]"))
        }
        return commands
    }

    /// The image the attempt runs in: as resolved, else worked out now.
    func image(of step: ContainerStep, on worker: WorkerSpec) throws(FieldError) -> String? {
        if let resolved { return resolved.image }
        return try variables.image(of: step, on: worker)
    }
}
