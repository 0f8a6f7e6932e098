import FlowModel

/// What the owner of a run is to do next, as `RunState` decided it in
/// answer to an event. Actions are performed in the order given; those
/// that ask for an answer name the event that carries it.
public enum RunAction: Sendable, Equatable {
    /// Resolve a step about to run, take its inputs' hashes and, under
    /// `--resume`, look for an earlier result of the same key; answer with
    /// `RunState.prepared(_:reusing:)`.
    case prepare(Int)
    /// Start an attempt of a step; answer with `submitted` (a cluster's
    /// job), `timedOut` (once its timeout has passed) and `ended`.
    case start(StepLaunch)
    /// The next link of a code chain has begun on the Lua thread: it counts
    /// as running from now on, and ends like any attempt.
    case follow(Int)
    /// Stop a running attempt: its processes, its Lua code, its job.
    case stop(Int)
    /// No link of a code chain that has not begun may begin.
    case revokeChains
    /// Wait `seconds`, then answer with `RunState.retryDue(_:)`.
    case waitToRetry(Int, seconds: Double)
    /// The attempt of a step with a timeout ended: its timer is not needed.
    case cancelTimer(Int)
    /// A step succeeded: keep its result, with the run variables it
    /// changed, for `--resume`. `resolveNow`: it was submitted before its
    /// inputs existed, so its key is to be taken now.
    case remember(Int, changes: [String: Value?], resolveNow: Bool)
    /// Call a step's `on_success`, `on_failure` or `on_cancel`.
    case callback(StepCallback)
    /// Report and record what happened.
    case observe(RunEvent)
    /// Every step has ended: the run is over (see `RunState.closePending()`).
    case finish
}

/// One attempt of a step, as the state machine starts it.
public struct StepLaunch: Sendable, Equatable {
    public var index: Int
    public var attempt: Int
    /// The code steps this attempt runs back to back on the Lua thread, this
    /// one first; empty unless it heads a `CodeChain`.
    public var chain: [Int] = []
    /// Cluster jobs the step's job waits for (`afterok`).
    public var after: [String] = []
    /// A job an earlier process submitted for this step, to follow again.
    public var adopted: String?
    /// Whether the step's `on_start` is called first.
    public var callsOnStart = false
    /// Seconds the attempt may run before it is stopped; nil: no limit here.
    public var timeout: Double?
}

/// A step callback to call, with what it is told.
public struct StepCallback: Sendable, Equatable {
    public var index: Int
    public var status: Status
    public var snapshot: StepSnapshot
    public var error: String?
}
