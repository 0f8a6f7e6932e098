import FlowModel
import Foundation

/// What happens during a run, in order, for whoever displays or records it.
public enum RunEvent: Sendable, Equatable {
    case runStarted(id: String, folder: String, steps: Int)
    case stepStarted(step: String, index: Int, attempt: Int)
    /// A remote step's job was handed to its cluster as `remoteID`.
    case stepSubmitted(step: String, index: Int, remoteID: String)
    /// An attempt failed and the step will run again after `delay` seconds.
    case stepRetrying(step: String, index: Int, attempt: Int, delay: Double, result: ExecResult)
    case stepFinished(step: String, index: Int, status: Status, duration: TimeInterval, result: ExecResult)
    /// A step did not run: an earlier run's result with the same key was
    /// reused (`--resume`).
    case stepCached(step: String, index: Int, from: String)
    /// A step that never started: after a failure upstream, or a cancel.
    case stepNotRun(step: String, index: Int, status: Status, reason: String)
    /// Step `index` succeeded having added `steps`, which take the next
    /// indices in order.
    case stepsAdded(by: String, index: Int, steps: [StepEntry])
    /// A callback raised an error or ran out of time; the run goes on.
    case callbackFailed(name: String, error: String)
    /// A code step changed the run variables; these are all of them now.
    case varsChanged([String: Value])
    /// The run was asked to stop; running steps are being stopped.
    case runCanceling
    /// `message` says why a run did not succeed.
    case runFinished(status: Status, duration: TimeInterval, message: String?)
}

/// A step as the run's record lists it.
public struct StepEntry: Sendable, Hashable {
    public var name: String
    public var kind: String

    public init(name: String, kind: String) {
        self.name = name
        self.kind = kind
    }

    public init(_ step: Step) { self.init(name: step.name, kind: step.kind) }
}

/// The end of a run: its state and every step's.
public struct RunReport: Sendable {
    public var id: String
    public var folder: String
    public var status: Status
    public var run: StateRecord
    public var steps: [StepReport]
    public var vars: [String: Value]

    /// The first step that failed, if any.
    public var failedStep: StepReport? { steps.first { $0.state.status == .error } }
}

public struct StepReport: Sendable {
    public var name: String
    public var state: StateRecord
    public var result: ExecResult?
    /// How many times it ran (0 if it never started).
    public var attempts: Int
    /// The run whose cached result stood in for running it (`--resume`).
    public var cachedFrom: String?
}
