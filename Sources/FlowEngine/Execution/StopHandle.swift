import Synchronization

/// How the driver stops an attempt that is running (a timeout, a cancel):
/// the worker registers what stops its current work (a process tree, a Lua
/// call), and a stop that comes before the registration is remembered.
///
/// An explicit handle rather than task cancellation because the standard
/// library's `withTaskCancellationHandler` runs its operation on the shared
/// pool: a hop away from the driver (or the Lua thread) and back on every
/// process a step runs.
public final class StopHandle: Sendable {
    private struct State {
        var stopped = false
        var action: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the attempt was asked to stop.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Asks the attempt to stop: runs what is registered, once.
    public func stop() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.stopped else { return nil }
            state.stopped = true
            return state.action
        }
        action?()
    }

    /// Registers what stops the current work, replacing any earlier action;
    /// runs it at once if a stop was already asked for.
    public func onStop(_ action: @escaping @Sendable () -> Void) {
        let stopNow = state.withLock { state -> Bool in
            state.action = action
            return state.stopped
        }
        if stopNow { action() }
    }

    /// The current work is over: nothing to stop until the next `onStop`.
    public func clear() {
        state.withLock { $0.action = nil }
    }
}
