import FlowModel
import Synchronization

/// Code steps that each wait only for the one before, run back to back on
/// the Lua state's thread: the next starts as soon as the one before
/// succeeded there, without a round trip through the driver, which records
/// each outcome as it comes.
///
/// The driver hands out a chain only when nothing else is running or ready
/// and no link has anything for it to see to in between (an `on_start` or
/// `on_success` callback, a timeout, declared inputs or outputs, a templated
/// environment), so it starts exactly the steps, in the order, that it would
/// have started itself. A failed link ends the chain; a cancel revokes what
/// has not begun and stops what has.
public final class CodeChain: Sendable {
    /// One step of the chain.
    public struct Link: Sendable {
        /// The step's index in the plan.
        public var index: Int
        public var step: CodeStep
        /// Stops the step's attempt: the driver's handle for it.
        public var stop: StopHandle

        public init(index: Int, step: CodeStep, stop: StopHandle) {
            self.index = index
            self.step = step
            self.stop = stop
        }
    }

    public let links: [Link]
    /// A link's context for the run variables as it begins.
    private let makeContext: @Sendable (_ position: Int, _ vars: [String: Value]) -> StepContext

    private struct State {
        /// Links begun on the Lua thread: `begun` of them, from the first.
        var begun = 1
        /// Links whose outcome was handed over: `delivered` of them, from the first.
        var delivered = 0
        var revoked = false
        var outcomes: [Int: StepOutcome] = [:]
        var waiters: [Int: CheckedContinuation<StepOutcome, Never>] = [:]
    }

    private let state = Mutex(State())

    public init(links: [Link], context: @escaping @Sendable (_ position: Int, _ vars: [String: Value]) -> StepContext) {
        self.links = links
        makeContext = context
    }

    /// The context link `position` runs in, given the run variables the
    /// links before it left.
    public func context(_ position: Int, vars: [String: Value]) -> StepContext {
        var context = makeContext(position, vars)
        context.stop = links[position].stop
        return context
    }

    /// Whether link `position` has begun: its outcome will come.
    public func hasBegun(_ position: Int) -> Bool {
        state.withLock { position < $0.begun }
    }

    /// Hands over link `position`'s outcome and decides at once, so that
    /// whoever reads the outcome also knows, whether the next link begins:
    /// it does if this one succeeded and the chain was not revoked.
    public func deliver(_ position: Int, _ outcome: StepOutcome) -> Bool {
        let (waiter, goesOn) = state.withLock { state in
            // Steps a link added come before the next link (which waits for them).
            let goesOn = outcome.result.succeeded && outcome.added.isEmpty && !state.revoked && position + 1 < links.count
            if goesOn { state.begun = position + 2 }
            state.delivered = position + 1
            guard let waiter = state.waiters.removeValue(forKey: position) else {
                state.outcomes[position] = outcome
                return (nil as CheckedContinuation<StepOutcome, Never>?, goesOn)
            }
            return (waiter, goesOn)
        }
        waiter?.resume(returning: outcome)
        return goesOn
    }

    /// The outcome of link `position`, which has begun.
    public func outcome(_ position: Int) async -> StepOutcome {
        // Without suspending when it is there already (the driver a link behind).
        if let outcome = state.withLock({ $0.outcomes.removeValue(forKey: position) }) { return outcome }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if let outcome = state.outcomes.removeValue(forKey: position) { return outcome as StepOutcome? }
                state.waiters[position] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The executor is done with the chain: a link that began and has no
    /// outcome (an executor that broke off) ends in an error, so that
    /// nobody waits for it for ever.
    public func end() {
        let missing = state.withLock { state -> Range<Int> in
            state.revoked = true
            return state.delivered..<state.begun
        }
        for position in missing {
            _ = deliver(position, StepOutcome(result: ExecResult(exitCode: nil, error: "the code chain ended before this step did")))
        }
    }

    /// No link begins from now on; the one running is stopped.
    public func revoke() {
        let running = state.withLock { state -> Int in
            state.revoked = true
            return state.begun - 1
        }
        links[running].stop.stop()
    }
}
