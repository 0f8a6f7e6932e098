import FlowModel
import Foundation

/// A run as a plain value: its graph, every step's state and attempt, the
/// run variables, what holds the job slots and resources, and every
/// decision about what happens next.
///
/// Each event the run can see is one `mutating` function that returns the
/// actions it calls for (`RunAction`); the owner (`RunDriver`) performs them
/// and feeds back the events they lead to. Nothing here starts a process,
/// touches a file or waits, so a test can drive a whole run, retries,
/// cancels, timeouts, chains and a cluster's held jobs included, by calling
/// these functions. A transition the step states refuse is a bug in this
/// type, kept in `violations` for tests to see.
public struct RunState: Sendable {
    public internal(set) var plan: Plan
    let jobs: Int
    let capacity: Resources
    let resume: Bool
    /// Whether steps go through `prepare` (there is a cache to consult or fill).
    let prepares: Bool
    /// Whether code steps may run as chains (there is a Lua state, no `--resume`).
    let chainsCode: Bool
    var hasRemote: Bool
    /// For each step: whether it runs on a cluster, and what it reserves here.
    var isRemote: [Bool]
    var needs: [Resources]

    public internal(set) var schedule: Schedule
    public internal(set) var run = StateRecord()
    public internal(set) var states: [StateRecord]
    public internal(set) var results: [ExecResult?]
    public internal(set) var attempts: [Int]
    public internal(set) var vars: [String: Value]
    /// Steps with an attempt running.
    public internal(set) var running: Set<Int> = []
    /// Steps taken to start whose `prepare` has not been answered; they hold
    /// their slot and resources.
    public internal(set) var preparing: Set<Int> = []
    /// Steps a cancel closed while they were prepared: their answer, when it
    /// comes, is no news.
    var abandoned: Set<Int> = []
    /// Failed steps waiting out their retry delay.
    public internal(set) var waitingToRetry: Set<Int> = []
    /// Steps whose retry delay has passed, waiting for a slot.
    public internal(set) var retryQueue: [Int] = []
    /// Running steps stopped because their time ran out.
    public internal(set) var timedOut: Set<Int> = []
    /// What running local steps have reserved, and how many run.
    public internal(set) var used = Resources.none
    public internal(set) var runningLocal = 0
    public internal(set) var canceling = false
    /// The steps may start (`stepsMayStart` was called).
    public internal(set) var begun = false
    /// Every step has ended (`finish` was asked for): a cancel comes too late.
    public internal(set) var finished = false
    /// Steps whose result came from the cache: the run that produced it.
    public internal(set) var cachedFrom: [Int: String] = [:]
    /// Added steps that succeeded before a restart, by name (`Carryover.added`).
    let addedBefore: Set<String>
    /// Links of code chains handed out: the link after each.
    var nextLink: [Int: Int] = [:]

    // Remote steps (see RunState+Remote.swift).
    /// Jobs of running remote steps, once submitted, and when.
    var remoteIDs: [Int: (id: String, at: Date)] = [:]
    /// Remote steps submitted before their dependencies ended, the cluster
    /// holding them until those succeed.
    public internal(set) var released: Set<Int> = []
    /// Released steps being stopped because a step they wait for failed.
    var notRunBecause: [Int: String] = [:]
    /// Jobs an earlier process submitted, to follow again (a restart).
    public internal(set) var adoptable: [Int: String]
    /// Released steps whose job ended before a step they wait for did.
    var held: [Int: (result: ExecResult, changes: [String: Value?], submitted: Date?)] = [:]

    /// Transitions refused by a step's or the run's state: bugs of this type.
    public internal(set) var violations: [String] = []
    /// The actions of the event being handled.
    private var actions: [RunAction] = []

    /// - Parameters:
    ///   - prepares: whether each step is prepared before it starts (a cache
    ///     is kept); without, steps start as they are taken.
    ///   - chainsCode: whether code steps may run back to back as chains.
    ///   - carryover: what a run continued in its own folder keeps.
    public init(plan: Plan, jobs: Int, capacity: Resources, policy: Schedule.Policy = .stopOnFailure,
                resume: Bool = false, prepares: Bool, chainsCode: Bool, carryover: Carryover = Carryover()) {
        self.plan = plan
        self.jobs = max(1, jobs)
        self.capacity = capacity
        self.resume = resume
        self.prepares = prepares
        self.chainsCode = chainsCode && !resume
        let count = plan.workflow.steps.count
        let completed = carryover.completed.filter { $0 >= 0 && $0 < count }
        schedule = Schedule(dependencies: plan.dependencies, policy: policy, completed: completed)
        states = Array(repeating: StateRecord(), count: count)
        results = Array(repeating: nil, count: count)
        attempts = Array(repeating: 0, count: count)
        vars = carryover.vars
        isRemote = plan.workers.map(\.isRemote)
        needs = plan.workflow.steps.map { Resources($0.info) }
        hasRemote = isRemote.contains(true)
        adoptable = carryover.remote.filter { !completed.contains($0.key) }
        addedBefore = carryover.added
        for index in completed.sorted() { move(index, to: .success, message: "succeeded before the restart") }
    }

    // MARK: Events

    /// The run folder is ready and the inputs are staged.
    public mutating func runStarted(at time: Date = Date()) {
        do { try run.move(to: .running, at: time) } catch { violations.append("run: \(error)") }
    }

    /// The workflow's `on_start` has been called: steps may start.
    public mutating func stepsMayStart() -> [RunAction] {
        begun = true
        pump()
        return take()
    }

    /// The answer to `prepare`: `reusing` is the earlier result that stands
    /// for this step's (under `--resume`), nil if it is to run.
    public mutating func prepared(_ index: Int, reusing earlier: Reuse? = nil) -> [RunAction] {
        guard preparing.remove(index) != nil else {
            if abandoned.remove(index) == nil { violations.append("\(name(index)): prepared but not being prepared") }
            return []
        }
        // (After a failure it starts, as it would have had it been prepared
        // at once: it was taken to run, as the steps that run on were.)
        if let earlier {
            if !isRemote[index] { free(index) }
            if !earlier.changes.isEmpty {
                for (name, value) in earlier.changes { vars[name] = value }
                emit(.observe(.varsChanged(vars)))
            }
            cachedFrom[index] = earlier.runID
            close(index, as: .success, result: ExecResult(exitCode: 0))
        } else {
            start(index, reserved: true)
        }
        pump()
        return take()
    }

    /// An attempt ended. The result already says whether its declared
    /// outputs are there. `nextLinkBegun`: it is a chain's link, and the
    /// link after it has begun on the Lua thread.
    ///
    /// `grown`: the plan with the steps the attempt added (see
    /// `Plan.adding`), which take effect if it succeeded.
    public mutating func ended(_ index: Int, attempt: Int, _ result: ExecResult, changes: [String: Value?] = [:],
                               grown: Plan? = nil, nextLinkBegun: Bool = false) -> [RunAction] {
        guard attempt == attempts[index], running.remove(index) != nil else { return [] }
        let remote = isRemote[index]
        if !remote {
            if plan.workflow.steps[index].info.timeout != nil { emit(.cancelTimer(index)) }
            free(index)
        }
        let submitted = remoteIDs.removeValue(forKey: index)
        if released.contains(index) {
            endReleased(index, result, changes: changes, submitted: submitted?.at)
        } else {
            conclude(index, result, changes: changes, grown: grown, nextLinkBegun: nextLinkBegun)
        }
        pump()
        return take()
    }

    /// A running attempt's time ran out: it is stopped, and fails as timed
    /// out when it ends.
    public mutating func timedOut(_ index: Int, attempt: Int) -> [RunAction] {
        guard attempt == attempts[index], running.contains(index) else { return [] }
        timedOut.insert(index)
        return [.stop(index)]
    }

    /// A failed step's retry delay has passed.
    public mutating func retryDue(_ index: Int) -> [RunAction] {
        guard waitingToRetry.remove(index) != nil else { return [] }
        if canceling {
            close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry")
        } else {
            retryQueue.append(index)
        }
        pump()
        return take()
    }

    /// The run is asked to stop: nothing new starts, running attempts are
    /// stopped and end canceled, steps waiting to retry end canceled. Before
    /// the steps may start, it is kept: none will. After the last step
    /// ended, it comes too late.
    public mutating func cancel() -> [RunAction] {
        guard !canceling, !finished else { return [] }
        canceling = true
        schedule.cancel()
        emit(.observe(.runCanceling))
        for index in running.sorted() { emit(.stop(index)) }
        if !nextLink.isEmpty { emit(.revokeChains) }
        // A step whose inputs are being hashed has not started: the run need
        // not wait for the hashing to end.
        for index in preparing.sorted() {
            if !isRemote[index] { free(index) }
            schedule.finish(index, as: .canceled)
            markNotRun(index, as: .canceled, reason: "canceled before it started")
        }
        abandoned.formUnion(preparing)
        preparing.removeAll()
        for index in retryQueue { close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry") }
        retryQueue.removeAll()
        for index in waitingToRetry.sorted() {
            waitingToRetry.remove(index)
            emit(.cancelTimer(index))
            close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry")
        }
        pump()
        return take()
    }

    // MARK: Starting

    /// An earlier result that stands for a step's.
    public struct Reuse: Sendable, Equatable {
        public var runID: String
        /// The run variables it set (nil: removed).
        public var changes: [String: Value?]

        public init(runID: String, changes: [String: Value?] = [:]) {
            self.runID = runID
            self.changes = changes
        }
    }

    /// Whether nothing runs, waits or is ready: the run is over.
    public var isOver: Bool {
        running.isEmpty && preparing.isEmpty && waitingToRetry.isEmpty && retryQueue.isEmpty && !schedule.hasReady
    }

    /// Starts what may start, and asks to finish when nothing is left.
    private mutating func pump() {
        guard begun else { return }
        launch()
        if isOver, !finished {
            finished = true
            emit(.finish)
        }
    }

    /// Takes every step that may start now: local ones while a job slot and
    /// their resources are free, remote ones whenever they are ready.
    private mutating func launch() {
        while true {
            // Most ends (a chain's link, one of many running) leave nothing ready.
            guard !retryQueue.isEmpty || schedule.hasReady else { return }
            let slot = runningLocal < jobs
            guard slot || hasRemote else { return }
            let admits = { [isRemote, needs, capacity, used] (index: Int) -> Bool in
                isRemote[index] || (slot && capacity.admits(needs[index], besides: used))
            }
            if let position = retryQueue.firstIndex(where: admits) {
                start(retryQueue.remove(at: position), reserved: false)
            } else if let index = schedule.next(admit: admits) {
                move(index, to: .running)
                if prepares {
                    if !isRemote[index] { reserve(index) }
                    preparing.insert(index)
                    emit(.prepare(index))
                } else {
                    start(index, reserved: false)
                }
            } else {
                return
            }
        }
    }

    /// Starts an attempt of a step taken to run. `reserved`: its slot and
    /// resources are held already (it was prepared).
    mutating func start(_ index: Int, reserved: Bool) {
        let step = plan.workflow.steps[index]
        // Before this step counts as running: a chain needs it to be the only one.
        let chain = chain(from: index)
        attempts[index] += 1
        let attempt = attempts[index]
        let remote = isRemote[index]
        if !remote && !reserved { reserve(index) }
        timedOut.remove(index)
        emit(.observe(.stepStarted(step: step.name, index: index, attempt: attempt)))
        running.insert(index)
        var launch = StepLaunch(index: index, attempt: attempt, chain: chain)
        launch.callsOnStart = attempt == 1 && step.info.callbacks.onStart != nil
        if remote {
            // The cluster holds the job until the jobs of unfinished dependencies succeed.
            launch.after = plan.dependencies[index].compactMap {
                schedule.status[$0] == .running ? remoteIDs[$0]?.id : nil
            }
            if attempt == 1 { launch.adopted = adoptable.removeValue(forKey: index) }
        } else {
            // A cluster enforces a remote step's time limit itself (`--time`).
            launch.timeout = step.info.timeout
        }
        emit(.start(launch))
    }

    mutating func reserve(_ index: Int) {
        used = used + needs[index]
        runningLocal += 1
    }

    private mutating func free(_ index: Int) {
        used = used - needs[index]
        runningLocal -= 1
    }

    // MARK: Helpers

    /// What callbacks are told of a step now.
    public func snapshot(_ index: Int) -> StepSnapshot {
        let result = results[index]
        return StepSnapshot(name: name(index), status: states[index].status, attempt: attempts[index],
                            exitCode: result?.exitCode, duration: states[index].duration(),
                            stdout: result?.stdout ?? "", stderr: result?.stderr ?? "")
    }

    func name(_ index: Int) -> String { plan.workflow.steps[index].name }

    mutating func move(_ index: Int, to status: Status, at time: Date = Date(), message: String? = nil) {
        do { try states[index].move(to: status, at: time, message: message) } catch {
            violations.append("\(name(index)): \(error)")
        }
    }

    mutating func emit(_ action: RunAction) { actions.append(action) }

    mutating func take() -> [RunAction] {
        var taken: [RunAction] = []
        swap(&taken, &actions)
        return taken
    }

    static func seconds(_ value: Double) -> String { "\(number(value))s" }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
