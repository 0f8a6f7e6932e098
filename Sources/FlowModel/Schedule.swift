import HeapModule

/// The pure scheduling state of one run: which steps are ready, running and
/// done. It performs no I/O; its owner starts the steps it hands out and
/// reports back how they ended.
///
/// Steps are identified by their index in declaration order; among ready
/// steps, the earliest declared starts first.
public struct Schedule: Sendable {
    public enum Policy: Sendable {
        /// After a failure, start nothing new; running steps finish.
        case stopOnFailure
        /// Run every step that does not depend on a failure.
        case keepGoing
    }

    /// Steps each step waits for.
    public private(set) var dependencies: [[Int]]
    /// Steps waiting for each step.
    public private(set) var dependents: [[Int]]
    public private(set) var status: [Status]
    /// Why a step did not run.
    public private(set) var reasons: [Int: String] = [:]
    /// For a step that did not run because of a failure: the failed step.
    public private(set) var blockedBy: [Int: Int] = [:]
    public let policy: Policy
    private var waitingOn: [Int]
    private var ready: Heap<Int>
    public private(set) var runningCount = 0
    public private(set) var failed = false
    public private(set) var canceled = false

    /// - Parameters:
    ///   - dependencies: for each step, the indices it depends on; must be
    ///     acyclic (the planner checks).
    ///   - completed: steps that already succeeded (an earlier attempt of
    ///     the run): they count as done and never start.
    public init(dependencies: [[Int]], policy: Policy = .stopOnFailure, completed: Set<Int> = []) {
        self.dependencies = dependencies
        self.policy = policy
        var dependents = Array(repeating: [Int](), count: dependencies.count)
        for (step, requirements) in dependencies.enumerated() {
            for requirement in requirements { dependents[requirement].append(step) }
        }
        self.dependents = dependents
        status = dependencies.indices.map { completed.contains($0) ? .success : .pending }
        let waiting = dependencies.map { $0.count { !completed.contains($0) } }
        waitingOn = waiting
        ready = Heap(dependencies.indices.filter { !completed.contains($0) && waiting[$0] == 0 })
    }

    /// Whether every step has reached a final state.
    public var isFinished: Bool { runningCount == 0 && (ready.isEmpty || stopped) }

    private var stopped: Bool { canceled || (failed && policy == .stopOnFailure) }

    /// Takes the next step that may start now, marking it running; nil when
    /// none is ready or the run is stopping. `admit` may refuse a step (its
    /// resources do not fit now); the earliest declared step that it admits
    /// among the next few ready ones starts instead, and refused ones are
    /// offered again later.
    public mutating func next(admit: (Int) -> Bool = { _ in true }) -> Int? {
        guard !stopped else { return nil }
        var refused: [Int] = []
        defer { for step in refused { ready.insert(step) } }
        while let step = ready.popMin() {
            // Taken out of turn, or made to wait for steps added since.
            guard status[step] == .pending, waitingOn[step] == 0 else { continue }
            if admit(step) {
                status[step] = .running
                runningCount += 1
                return step
            }
            refused.append(step)
            if refused.count == Self.lookahead { break }
        }
        return nil
    }

    /// Marks a pending step running before its dependencies have ended:
    /// one handed to a cluster that holds it until they succeed. Returns
    /// false if the step is not pending or the run is stopping.
    public mutating func release(_ step: Int) -> Bool {
        guard !stopped, status[step] == .pending else { return false }
        status[step] = .running
        runningCount += 1
        return true
    }

    /// Marks a ready step running out of turn, stopping or not: one that
    /// has started already (the next link of a code chain).
    public mutating func take(_ step: Int) {
        precondition(status[step] == .pending && waitingOn[step] == 0, "take of a step that is not ready")
        status[step] = .running
        runningCount += 1
        if ready.min == step { _ = ready.popMin() }
    }

    /// How many ready steps `next(admit:)` considers past one that does not fit.
    static let lookahead = 64

    /// Whether any step is ready to start (resources permitting); a step
    /// taken out of turn may count until `next` passes it.
    public var hasReady: Bool { !stopped && !ready.isEmpty }

    /// Whether nothing new may start: the run was canceled, or a step failed
    /// and the policy stops on failure.
    public var isStopping: Bool { stopped }

    /// Records how a running step ended; returns the steps that will now
    /// never run because they depend on it.
    @discardableResult
    public mutating func finish(_ step: Int, as final: Status) -> [Int] {
        precondition(status[step] == .running, "finish of a step that is not running")
        status[step] = final
        runningCount -= 1
        switch final {
        case .success:
            for dependent in dependents[step] {
                waitingOn[dependent] -= 1
                if waitingOn[dependent] == 0, status[dependent] == .pending { ready.insert(dependent) }
            }
            return []
        case .canceled:
            canceled = true
            return []
        default:
            failed = true
            return markNotRun(downstreamOf: step)
        }
    }

    /// Grows the graph while the run goes on: `dependencies` holds every
    /// step's, those of the steps there were first, then those of new steps,
    /// which start pending. A step there was before may gain dependencies
    /// only while it is pending; it then waits for them too. New steps in
    /// `completed` succeeded already (before a restart): they never start.
    public mutating func grow(to dependencies: [[Int]], completed: Set<Int> = []) {
        let count = self.dependencies.count
        precondition(dependencies.count >= count, "a graph only grows")
        dependents.append(contentsOf: Array(repeating: [], count: dependencies.count - count))
        status.append(contentsOf: (count..<dependencies.count).map { completed.contains($0) ? .success : .pending })
        waitingOn.append(contentsOf: Array(repeating: 0, count: dependencies.count - count))
        for step in dependencies.indices {
            let old = step < count ? self.dependencies[step] : []
            guard dependencies[step].count != old.count || step >= count else { continue }
            precondition(step >= count || status[step] == .pending, "new dependencies of a step that started")
            for requirement in dependencies[step] where !old.contains(requirement) {
                dependents[requirement].append(step)
                if status[requirement] != .success { waitingOn[step] += 1 }
            }
        }
        self.dependencies = dependencies
        for step in count..<dependencies.count where waitingOn[step] == 0 && status[step] == .pending { ready.insert(step) }
    }

    /// Marks a step that never started as done without running it (it was
    /// found in the cache, say).
    public mutating func skip(_ step: Int, as final: Status, reason: String) {
        reasons[step] = reason
        status[step] = final
    }

    /// Stops the run: nothing new starts.
    public mutating func cancel() {
        canceled = true
    }

    /// Closes every step still pending, for the end of a stopped run: as
    /// not run after a failure, as canceled after a cancel.
    public mutating func closePending(as final: Status = .notRun, reason: String) -> [Int] {
        var closed: [Int] = []
        for step in status.indices where status[step] == .pending {
            status[step] = final
            reasons[step] = reasons[step] ?? reason
            closed.append(step)
        }
        ready = Heap()
        return closed
    }

    private mutating func markNotRun(downstreamOf root: Int) -> [Int] {
        var stack = dependents[root]
        var marked: [Int] = []
        while let step = stack.popLast() {
            guard status[step] == .pending else { continue }
            status[step] = .notRun
            blockedBy[step] = root
            marked.append(step)
            stack.append(contentsOf: dependents[step])
        }
        return marked.sorted()
    }
}
