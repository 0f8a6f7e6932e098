import FlowModel
import Foundation
import Logging

/// Settings of one run.
public struct RunOptions: Sendable {
    /// Where run folders are created.
    public var runsDirectory: URL
    /// Steps running at once.
    public var jobs: Int
    /// What running steps may reserve together (their declared cpus and memory).
    public var capacity: Resources
    public var policy: Schedule.Policy
    /// How long a stopped step's processes get between SIGTERM and SIGKILL.
    public var killGrace: Duration
    /// How long a callback may run before it is interrupted.
    public var callbackTimeout: Duration
    /// Where step results are kept and found; nil keeps none.
    public var cache: (any StepCache)?
    /// Reuse cached results instead of running steps (`--resume`).
    public var resume: Bool

    public init(runsDirectory: URL = RunFolder.runsDirectory(nil),
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                capacity: Resources = .machine,
                policy: Schedule.Policy = .stopOnFailure,
                killGrace: Duration = .seconds(5),
                callbackTimeout: Duration = .seconds(60),
                cache: (any StepCache)? = nil, resume: Bool = false) {
        self.runsDirectory = runsDirectory
        self.jobs = max(1, jobs)
        self.capacity = capacity
        self.policy = policy
        self.killGrace = killGrace
        self.callbackTimeout = callbackTimeout
        self.cache = cache
        self.resume = resume
    }
}

extension Resources {
    /// This machine's cores and physical memory.
    public static var machine: Resources {
        Resources(cpus: Double(ProcessInfo.processInfo.activeProcessorCount),
                  memory: ProcessInfo.processInfo.physicalMemory)
    }
}

/// What a run continued in its own folder keeps from before.
public struct Carryover: Sendable {
    /// Steps (by index) that succeeded: they are not run again.
    public var completed: Set<Int>
    public var vars: [String: Value]
    /// Remote jobs an earlier process submitted for steps that had not
    /// ended, by step: followed again rather than submitted again.
    public var remote: [Int: String]

    public init(completed: Set<Int> = [], vars: [String: Value] = [:], remote: [Int: String] = [:]) {
        self.completed = completed
        self.vars = vars
        self.remote = remote
    }
}

/// Runs one plan: every step whose dependencies succeeded starts as soon as
/// a job slot and its resources are free; failures, retries, timeouts and
/// cancels are handled as the events they are.
///
/// The driver owns the run's mutable state (its schedule, step states and
/// run variables) and reacts to what happens: an attempt ended, a retry is
/// due, an attempt ran out of time, the run was canceled. Each attempt is a
/// task that prefers the driver's own thread, where its processes are also
/// reaped: a no-op step runs without a single hop between threads. Code
/// steps that follow one another run back to back on the Lua state's thread
/// as a `CodeChain`, the driver recording each a step behind. Stopping an
/// attempt triggers its `StopHandle`, which stops its processes or
/// interrupts its Lua code.
public actor RunDriver {
    private let executor = ThreadExecutor(name: "flowlua.driver")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let plan: Plan
    private let options: RunOptions
    private let code: (any CodeExecutor)?
    private let observe: @Sendable (RunEvent) -> Void
    private let logger: Logger

    private var schedule: Schedule
    private var run = StateRecord()
    private var states: [StateRecord]
    private var results: [ExecResult?]
    private var attempts: [Int]
    private var vars: [String: Value] = [:]
    private var folder: RunFolder?
    /// Steps with an attempt running, and how to stop each.
    private var running: Set<Int> = []
    private var stops: [Int: StopHandle] = [:]
    /// Timeouts of running attempts, and retry delays of failed ones.
    private var timers: [Int: Task<Void, Never>] = [:]
    /// Steps whose retry delay has passed, waiting for a slot.
    private var retryQueue: [Int] = []
    private var timedOut: Set<Int> = []
    private var used = Resources.none
    private var canceling = false
    private var callbacks: [Task<Void, Never>] = []
    /// Each step as it launched, its inputs' hashes, and its cache key if it
    /// was needed then (`--resume`).
    private var launched: [Int: (step: ResolvedStep, inputs: [String: String], key: String?)] = [:]
    /// The code chain each of its links is in, and where (see `chain(from:)`).
    private var chains: [Int: (chain: CodeChain, position: Int)] = [:]
    /// Steps whose result came from the cache: the run that produced it.
    private var cachedFrom: [Int: String] = [:]
    /// Resumed when the last step has ended.
    private var done: CheckedContinuation<Void, Never>?
    /// The steps are over (`done` was resumed): a cancel comes too late.
    private var finished = false
    /// Set while `launch` runs, so that an attempt ending inside it does
    /// not start a nested `launch`.
    private var pumping = false
    /// Attempts running on this machine, which `jobs` bounds; steps handed
    /// to a cluster are the cluster's to schedule.
    private var runningLocal = 0
    private let hasRemote: Bool
    /// Remote ids of the jobs of running remote steps, once submitted, and when.
    private var remoteIDs: [Int: (id: String, at: Date)] = [:]
    /// Remote steps submitted before their dependencies ended, the cluster
    /// holding them until those succeed.
    private var released: Set<Int> = []
    /// Released steps being stopped because a step they wait for failed.
    private var notRunBecause: [Int: String] = [:]
    /// Jobs an earlier process submitted, to follow again (a restart).
    private var adoptable: [Int: String]
    /// Released steps whose job ended before a step they wait for did: how
    /// they came out is decided once those end.
    private var held: [Int: (result: ExecResult, changes: [String: Value?], submitted: Date?)] = [:]

    /// - Parameter carryover: what a run continued in its own folder keeps
    ///   from before (`flowlua restart`): the steps that succeeded, which do
    ///   not run again, and the run variables.
    public init(plan: Plan, options: RunOptions, code: (any CodeExecutor)?, logger: Logger,
                carryover: Carryover = Carryover(),
                observe: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.plan = plan
        self.options = options
        self.code = code
        self.logger = logger
        self.observe = observe
        let count = plan.workflow.steps.count
        let completed = carryover.completed.filter { $0 >= 0 && $0 < count }
        schedule = Schedule(dependencies: plan.dependencies, policy: options.policy, completed: completed)
        states = Array(repeating: StateRecord(), count: count)
        for index in completed { try? states[index].move(to: .success, message: "succeeded before the restart") }
        results = Array(repeating: nil, count: count)
        attempts = Array(repeating: 0, count: count)
        vars = carryover.vars
        hasRemote = plan.workers.contains(where: \.isRemote)
        adoptable = carryover.remote.filter { !completed.contains($0.key) }
    }

    /// Asks the run to stop: nothing new starts, running steps are stopped
    /// and marked canceled, and `run` returns a canceled report. Safe to
    /// call from any thread, any number of times.
    public nonisolated func cancel() {
        Task { await cancelRun() }
    }

    deinit { executor.shutdown() }

    /// Creates the run folder, stages the inputs, runs every step that can
    /// run, and reports how each ended. Cancelling the calling task cancels
    /// the run.
    ///
    /// - Throws: `PlanError` when a step needs more than `capacity` offers,
    ///   or an error creating the run folder or staging an input; in both
    ///   cases before any step starts.
    public func run(id: String = RunFolder.newID()) async throws -> RunReport {
        try checkCapacity()
        let folder = try RunFolder.create(in: options.runsDirectory, id: id)
        self.folder = folder
        try folder.stage(plan.staged)
        try? run.move(to: .running)
        logger.info("run started", metadata: ["run": "\(id)", "folder": "\(folder.path)"])
        observe(.runStarted(id: id, folder: folder.path, steps: plan.workflow.steps.count))
        await callWorkflow(plan.workflow.callbacks.onStart, "on_start", status: .running)

        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                done = continuation
                pump()
            }
        } onCancel: {
            cancel()
        }
        return await finish(folder)
    }

    // MARK: Events

    private var isDone: Bool {
        running.isEmpty && timers.isEmpty && retryQueue.isEmpty && !schedule.hasReady
    }

    /// Starts what may start, and ends the run when nothing is left.
    private func pump() {
        guard !pumping else { return }
        pumping = true
        launch()
        pumping = false
        if isDone, let done {
            self.done = nil
            finished = true
            done.resume()
        }
    }

    private func attemptEnded(_ index: Int, attempt: Int, _ result: ExecResult, changes: [String: Value?]) {
        guard attempt == attempts[index], running.contains(index) else { return }
        ended(index, result, changes: changes)
        pump()
    }

    private func retryDue(_ index: Int) {
        guard timers.removeValue(forKey: index) != nil else { return }
        if canceling {
            close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry")
        } else {
            retryQueue.append(index)
        }
        pump()
    }

    private func timedOut(_ index: Int, attempt: Int) {
        guard attempt == attempts[index], running.contains(index) else { return }
        timedOut.insert(index)
        stops[index]?.stop()
    }

    private func cancelRun() {
        // Before the steps start (staging, on_start) a cancel is kept: none will.
        guard !canceling, !finished else { return }
        canceling = true
        schedule.cancel()
        observe(.runCanceling)
        for stop in stops.values { stop.stop() }
        for (chain, _) in chains.values { chain.revoke() }
        for index in retryQueue { close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry") }
        retryQueue.removeAll()
        for (index, timer) in timers where !running.contains(index) {
            timer.cancel()
            timers[index] = nil
            close(index, as: .canceled, result: results[index], reason: "canceled while waiting to retry")
        }
        pump()
    }

    /// Starts every step that may start now: local ones while a job slot
    /// and their resources are free, remote ones whenever they are ready.
    private func launch() {
        while true {
            // Most ends (a chain's link, one of many running) leave nothing ready.
            guard !retryQueue.isEmpty || schedule.hasReady else { return }
            let slot = runningLocal < options.jobs
            guard slot || hasRemote else { return }
            let admits = { (index: Int) -> Bool in self.plan.workers[index].isRemote || (slot && self.fits(index)) }
            if let position = retryQueue.firstIndex(where: admits) {
                start(retryQueue.remove(at: position))
            } else if let index = schedule.next(admit: admits) {
                try? states[index].move(to: .running)
                if reuseCached(index) { continue }
                start(index)
            } else {
                return
            }
        }
    }

    /// A remote step's job was submitted: its remote dependents whose other
    /// dependencies are done or submitted too go to the cluster now, to
    /// start when it has them succeed (`afterok`), without a poll between.
    private func submitted(_ index: Int, attempt: Int, _ id: String, adopted: Bool) {
        guard attempt == attempts[index], running.contains(index) else { return }
        remoteIDs[index] = (id, Date())
        observe(.stepSubmitted(step: plan.workflow.steps[index].name, index: index, remoteID: id))
        // A job followed again may have ended long ago, and Slurm forgets
        // ended jobs: nothing new waits on it through the cluster.
        guard !canceling, !adopted else { return }
        for dependent in schedule.dependents[index] where plan.workers[dependent].isRemote && schedule.status[dependent] == .pending {
            let waitsOnJobs = plan.dependencies[dependent].allSatisfy { dependency in
                switch schedule.status[dependency] {
                case .success: true
                // A step that may be retried gets a new job: nothing may wait on this one.
                case .running: remoteIDs[dependency] != nil && plan.workflow.steps[dependency].info.retries == 0
                default: false
                }
            }
            guard waitsOnJobs, schedule.release(dependent) else { continue }
            released.insert(dependent)
            start(dependent)
        }
    }

    /// Released steps downstream of `index`, which failed: their jobs are
    /// canceled, and they end as not run.
    private func stopReleased(after index: Int, reason: String) {
        for dependent in schedule.dependents[index] where released.contains(dependent) && running.contains(dependent) {
            guard notRunBecause[dependent] == nil else { continue }
            notRunBecause[dependent] = reason
            stops[dependent]?.stop()
        }
    }

    /// Computes a step's cache key; under `--resume`, ends the step with an
    /// earlier result of the same key if there is one (its outputs copied
    /// into this run folder) and returns true.
    private func reuseCached(_ index: Int) -> Bool {
        guard let cache = options.cache, let folder else { return false }
        let resolved = plan.resolve(index, vars: vars, folder: folder)
        let inputs = resolved.inputs.isEmpty ? [:] : cache.hashInputs(of: resolved, in: folder)
        // Without --resume the key is only stored, so it is worked out later,
        // off the driver's thread.
        let key = options.resume ? cache.key(for: resolved, inputs: inputs) : nil
        launched[index] = (resolved, inputs, key)
        guard let key, let hit = cache.reusable(key) else { return false }
        if hit.folder != folder.path {
            do {
                for output in hit.outputs { try folder.copy(output, from: hit.folder) }
                cache.copied(hit, into: folder)
            } catch {
                logger.warning("cannot reuse a cached result", metadata: ["step": "\(resolved.name)", "error": "\(error)"])
                return false
            }
        }
        if !hit.changes.isEmpty {
            for (name, value) in hit.changes { vars[name] = value }
            observe(.varsChanged(vars))
        }
        cachedFrom[index] = hit.runID
        close(index, as: .success, result: ExecResult(exitCode: 0))
        return true
    }

    private func fits(_ index: Int) -> Bool {
        options.capacity.admits(Resources(plan.workflow.steps[index].info), besides: used)
    }

    private func start(_ index: Int, link: (chain: CodeChain, position: Int)? = nil) {
        guard let folder else { return }
        let step = plan.workflow.steps[index]
        // Before this step counts as running: a chain needs it to be the only one.
        let chain = link == nil ? chain(from: index, attempt: attempts[index] + 1) : nil
        attempts[index] += 1
        let attempt = attempts[index]
        let remote = plan.workers[index].isRemote
        if !remote {
            used = used + Resources(step.info)
            runningLocal += 1
        }
        timedOut.remove(index)
        if attempt > 1 { markAttempt(attempt, of: step, in: folder) }
        observe(.stepStarted(step: step.name, index: index, attempt: attempt))
        running.insert(index)
        if let link {
            // Begun on the Lua thread already, as the link before it ended
            // there; the chain's head task waits for its end (`perform`).
            stops[index] = link.chain.links[link.position].stop
            return
        }
        let stop = chain?.links[0].stop ?? StopHandle()
        stops[index] = stop
        var context = context(for: index, attempt: attempt, folder: folder)
        context.stop = stop
        context.monitor = executor.monitor
        if remote {
            // The cluster holds the job until the jobs of unfinished dependencies succeed.
            context.after = plan.dependencies[index].compactMap { schedule.status[$0] == .running ? remoteIDs[$0]?.id : nil }
            if attempt == 1 { context.adopted = adoptable.removeValue(forKey: index) }
            let adopted = context.adopted != nil
            context.submitted = { id in Task { await self.submitted(index, attempt: attempt, id, adopted: adopted) } }
        }
        let onStart = attempt == 1 ? step.info.callbacks.onStart : nil
        let snapshot = onStart.map { _ in StepSnapshot(name: step.name, status: .running, attempt: attempt) }
        let event = snapshot.map { callbackEvent(.step, status: .running, step: $0) }
        // Preferring the driver's thread keeps the whole attempt there: the
        // exit of its process resumes it without a hop through the pool.
        Task(executorPreference: executor) {
            await self.perform(index, attempt: attempt, step: step, context: context, onStart: onStart, event: event,
                               chain: chain)
        }
        // A cluster enforces a remote step's time limit itself (`--time`).
        if let timeout = step.info.timeout, !remote {
            timers[index] = Task {
                try? await Task.sleep(for: .seconds(timeout))
                if !Task.isCancelled { timedOut(index, attempt: attempt) }
            }
        }
    }

    // MARK: Code chains

    /// The longest chain handed out at once: the next starts where it ends.
    static let chainLength = 256

    /// A chain of code steps from `head`, which is about to start, if it has
    /// at least one link after it: each link the only dependent of the one
    /// before and waiting for nothing else. Only while nothing else runs or
    /// waits, and without `--resume`, so that the chain starts what the
    /// driver would have started, in the same order; and only through steps
    /// that have nothing for the driver to do between them (see `chains`).
    private func chain(from head: Int, attempt: Int) -> CodeChain? {
        guard let folder, code != nil, !options.resume, !canceling, !schedule.isStopping, running.isEmpty,
              retryQueue.isEmpty, timers.isEmpty, !schedule.hasReady, chainable(head)
        else { return nil }
        var links = [CodeChain.Link]()
        var current = head
        while links.count < Self.chainLength {
            guard case .code(let step) = plan.workflow.steps[current] else { return nil }
            links.append(CodeChain.Link(index: current, step: step, stop: StopHandle()))
            let dependents = schedule.dependents[current]
            guard dependents.count == 1, let next = dependents.first, chainable(next), attempts[next] == 0,
                  schedule.status[next] == .pending, plan.workflow.steps[next].info.callbacks.onStart == nil,
                  plan.dependencies[next].allSatisfy({ $0 == current || schedule.status[$0] == .success })
            else { break }
            current = next
        }
        guard links.count > 1 else { return nil }
        let chain = CodeChain(links: links) { [plan, killGrace = options.killGrace, monitor = executor.monitor,
                                               indices = links.map(\.index)] position, vars in
            var context = Self.context(plan: plan, index: indices[position], attempt: position == 0 ? attempt : 1,
                                       vars: vars, folder: folder, killGrace: killGrace)
            context.monitor = monitor
            return context
        }
        for (position, link) in links.enumerated() { chains[link.index] = (chain, position) }
        return chain
    }

    /// Whether a code step can be a link of a chain: the driver has nothing
    /// to do between its end and the next link's start (no on_success
    /// callback, no timeout or declared outputs to check, no inputs to hash
    /// for its cache key as it starts, no environment to fill in with the
    /// run variables of the moment).
    private func chainable(_ index: Int) -> Bool {
        guard case .code(let step) = plan.workflow.steps[index], !plan.workers[index].isRemote else { return false }
        let info = step.info
        return info.timeout == nil && info.callbacks.onSuccess == nil && plan.outputs[index].isEmpty
            && plan.inputs[index].isEmpty
            && !info.env.values.contains(where: Template.hasPlaceholder)
            && !plan.workers[index].env.values.contains(where: Template.hasPlaceholder)
    }

    /// After link `index` succeeded: the next link, if it has begun on the
    /// Lua thread, is running, and counts so (stopping or not).
    private func followChain(after index: Int, as status: Status) {
        guard let (chain, position) = chains.removeValue(forKey: index), status == .success,
              position + 1 < chain.links.count, chain.hasBegun(position + 1)
        else { return }
        let next = chain.links[position + 1].index
        schedule.take(next)
        try? states[next].move(to: .running)
        _ = reuseCached(next)  // its launch for the cache; never a hit (no chain under --resume)
        start(next, link: (chain, position + 1))
    }

    private func perform(_ index: Int, attempt: Int, step: Step, context: StepContext,
                         onStart: FunctionReference?, event: CallbackEvent?, chain: CodeChain?) async {
        // Like every callback's, its error is reported and the step runs.
        if let onStart, let event, let code, let failure = await code.call(onStart, event: event) {
            observe(.callbackFailed(name: "\(step.name).on_start", error: failure))
        }
        var context = context
        for (name, value) in context.environment where Template.hasPlaceholder(value) {
            do { context.environment[name] = try context.variables.substitute(value) } catch {
                attemptEnded(index, attempt: attempt, ExecResult(exitCode: nil, error: "env.\(name): \(error)"), changes: [:])
                return
            }
        }
        if let chain, let code {
            // The chain goes on on the Lua thread; this task takes the ends
            // of its links as they come, each link started by the end of the
            // one before (`followChain`).
            Task { [vars] in
                await code.run(chain, vars: vars)
                chain.end()
            }
            var (index, attempt) = (index, attempt)
            for position in chain.links.indices {
                if position > 0 {
                    index = chain.links[position].index
                    guard chain.hasBegun(position), running.contains(index) else { return }
                    attempt = attempts[index]
                }
                let outcome = await chain.outcome(position)
                attemptEnded(index, attempt: attempt, outcome.result, changes: outcome.changes)
            }
            return
        }
        let (result, changes) = await Self.execute(step, worker: plan.workers[index], context: context, code: code,
                                                   vars: vars)
        attemptEnded(index, attempt: attempt, result, changes: changes)
    }

    /// Runs one attempt of a step on its worker: a process step on the
    /// driver's thread (it only waits), a code step on the script's.
    nonisolated(nonsending) private static func execute(_ step: Step, worker: WorkerSpec, context: StepContext,
                                                        code: (any CodeExecutor)?,
                                                        vars: [String: Value]) async -> (ExecResult, [String: Value?]) {
        switch (step, worker.type) {
        case (.container(let container), .docker):
            return (await DockerWorker().run(container, worker: worker, context: context), [:])
        case (.container(let container), .slurm):
            return (await SlurmWorker().run(container, worker: worker, context: context), [:])
        case (.container(let container), _):
            return (await SubprocessWorker().run(container, context: context), [:])
        case (.code(let codeStep), _):
            guard let code else { return (ExecResult(exitCode: nil, error: "no Lua state to run code steps"), [:]) }
            let outcome = await code.run(codeStep, context: context, vars: vars)
            return (outcome.result, outcome.changes)
        case (.notebook(let notebook), .nbdocker):
            return (await NotebookDockerWorker().run(notebook, worker: worker, context: context), [:])
        case (.notebook(let notebook), _):
            return (await NotebookWorker().run(notebook, context: context), [:])
        }
    }

    private func ended(_ index: Int, _ result: ExecResult, changes: [String: Value?]) {
        guard folder != nil else { return }
        running.remove(index)
        stops[index] = nil
        timers.removeValue(forKey: index)?.cancel()
        let step = plan.workflow.steps[index]
        if !plan.workers[index].isRemote {
            used = used - Resources(step.info)
            runningLocal -= 1
        }
        let submitted = remoteIDs.removeValue(forKey: index)
        if released.contains(index) {
            if let reason = notRunBecause.removeValue(forKey: index) {
                released.remove(index)
                closeNotRun(index, result: result, reason: reason)
                return
            }
            // Its job may end first (sbatch refused the dependency, or one
            // poll saw both end): the steps it waits for decide.
            if plan.dependencies[index].contains(where: { schedule.status[$0] == .running }) {
                held[index] = (result, changes, submitted?.at)
                return
            }
            settle(index, result, changes: changes, submitted: submitted?.at)
            return
        }
        conclude(index, result, changes: changes)
    }

    /// Ends a released step whose dependencies have all ended: not run if
    /// one did not succeed, else as its own result says (from here on an
    /// ordinary step: a retry waits on nothing).
    private func settle(_ index: Int, _ result: ExecResult, changes: [String: Value?], submitted: Date?) {
        released.remove(index)
        if let failed = plan.dependencies[index].first(where: { schedule.status[$0] != .success }) {
            if canceling {
                close(index, as: .canceled, result: result, reason: "canceled")
            } else {
                closeNotRun(index, result: result, reason: "not run: depends on '\(plan.workflow.steps[failed].name)', which failed")
            }
            return
        }
        // It did start once the cluster had what it waited for.
        if states[index].status == .pending { try? states[index].move(to: .running, at: submitted ?? Date()) }
        conclude(index, result, changes: changes, wasReleased: true)
    }

    /// Held steps downstream of `index`, which has ended, that can be settled now.
    private func settleHeld(after index: Int) {
        for dependent in schedule.dependents[index] {
            guard let end = held[dependent],
                  !plan.dependencies[dependent].contains(where: { schedule.status[$0] == .running })
            else { continue }
            held[dependent] = nil
            settle(dependent, end.result, changes: end.changes, submitted: end.submitted)
        }
    }

    /// How an attempt that ended counts: success (its outputs there), a
    /// retry, a failure or a cancel.
    private func conclude(_ index: Int, _ result: ExecResult, changes: [String: Value?], wasReleased: Bool = false) {
        guard let folder else { return }
        let step = plan.workflow.steps[index]
        var result = result
        if timedOut.contains(index), let timeout = step.info.timeout {
            result.error = "timed out after \(Self.seconds(timeout))"
        } else if result.succeeded, !plan.outputs[index].isEmpty {
            let variables = variables(for: index, folder: folder)
            var entries = RunFolder.Entries(of: folder)
            for output in plan.outputs[index] {
                let path = (try? variables.substitute(output)) ?? output
                if let problem = Self.problem(with: path, in: &entries) {
                    result.error = problem
                    break
                }
            }
        }
        if result.succeeded {
            if !changes.isEmpty {
                for (name, value) in changes { vars[name] = value }
                observe(.varsChanged(vars))
            }
            if let cache = options.cache {
                // A released step was submitted before its inputs existed: its key is taken now.
                var launch = launched.removeValue(forKey: index)
                if launch == nil, wasReleased {
                    let resolved = plan.resolve(index, vars: vars, folder: folder)
                    launch = (resolved, resolved.inputs.isEmpty ? [:] : cache.hashInputs(of: resolved, in: folder), nil)
                }
                if let launch {
                    cache.remember(launch.step, inputs: launch.inputs, key: launch.key, changes: changes, in: folder)
                }
            }
            close(index, as: .success, result: result)
        } else if canceling {
            result.error = "canceled"
            close(index, as: .canceled, result: result)
        } else if attempts[index] <= step.info.retries {
            results[index] = result
            let delay = step.info.delay(beforeRetry: attempts[index])
            observe(.stepRetrying(step: step.name, index: index, attempt: attempts[index], delay: delay, result: result))
            timers[index] = Task {
                try? await Task.sleep(for: .seconds(delay))
                if !Task.isCancelled { retryDue(index) }
            }
        } else {
            close(index, as: .error, result: result)
        }
    }

    /// Why a declared output does not count as produced, if it does not:
    /// missing, not a file or folder, or a link leading out of the folder.
    static func problem(with output: String, in entries: inout RunFolder.Entries) -> String? {
        switch entries.entry(output) {
        case .file, .folder: nil
        case .missing: "declared output '\(output)' was not produced"
        case .special(let kind): "declared output '\(output)' is \(kind), not a file or folder"
        case .outside(let target): "declared output '\(output)' leads out of the run folder (to \(target))"
        }
    }

    /// Records the end of a step that started: its state, what it blocks,
    /// and its callback.
    private func close(_ index: Int, as status: Status, result: ExecResult?, reason: String? = nil) {
        let step = plan.workflow.steps[index]
        var result = result ?? ExecResult(exitCode: nil)
        if status != .success, result.error == nil { result.error = reason ?? status.rawValue }
        released.remove(index)
        try? states[index].move(to: status, message: status == .success ? nil : result.error)
        results[index] = result
        let blocked = schedule.finish(index, as: status)
        if status == .error { stopReleased(after: index, reason: "not run: depends on '\(step.name)', which failed") }
        settleHeld(after: index)
        if let run = cachedFrom[index] {
            observe(.stepCached(step: step.name, index: index, from: run))
        } else {
            observe(.stepFinished(step: step.name, index: index, status: status,
                                  duration: states[index].duration() ?? 0, result: result))
        }
        for dependent in blocked {
            markNotRun(dependent, as: .notRun, reason: "not run: depends on '\(step.name)', which failed")
        }
        let callback = switch status {
        case .success: step.info.callbacks.onSuccess
        case .canceled: step.info.callbacks.onCancel
        default: step.info.callbacks.onFailure
        }
        if let callback, let code {
            let snapshot = StepSnapshot(name: step.name, status: status, attempt: attempts[index],
                                        exitCode: result.exitCode, duration: states[index].duration(),
                                        stdout: result.stdout, stderr: result.stderr)
            let event = callbackEvent(.step, status: status, step: snapshot, error: status == .success ? nil : result.error)
            let name = "\(step.name).\(Self.callbackName(status))"
            let observe = self.observe
            callbacks.append(Task {
                if let failure = await code.call(callback, event: event) {
                    observe(.callbackFailed(name: name, error: failure))
                }
            })
        }
        followChain(after: index, as: status)
    }

    /// Ends a released step that never ran: a step it waits for failed.
    private func closeNotRun(_ index: Int, result: ExecResult, reason: String) {
        var result = result
        result.error = reason
        try? states[index].move(to: .notRun, message: reason)
        results[index] = result
        let blocked = schedule.finish(index, as: .notRun)
        observe(.stepNotRun(step: plan.workflow.steps[index].name, index: index, status: .notRun, reason: reason))
        for dependent in blocked { markNotRun(dependent, as: .notRun, reason: reason) }
        stopReleased(after: index, reason: reason)
        settleHeld(after: index)
    }

    private func markNotRun(_ index: Int, as status: Status, reason: String) {
        try? states[index].move(to: status, message: reason)
        observe(.stepNotRun(step: plan.workflow.steps[index].name, index: index, status: status, reason: reason))
    }

    // MARK: The end

    private func finish(_ folder: RunFolder) async -> RunReport {
        let failed = schedule.status.firstIndex(of: .error)
        if canceling {
            for index in schedule.closePending(as: .canceled, reason: "canceled before it started") {
                markNotRun(index, as: .canceled, reason: "canceled before it started")
            }
        } else {
            let reason = failed.map { "not started: step '\(plan.workflow.steps[$0].name)' failed" } ?? "not started"
            for index in schedule.closePending(reason: reason) { markNotRun(index, as: .notRun, reason: reason) }
        }
        for task in callbacks { await task.value }
        // Jobs of an earlier process that this run did not follow again.
        if !adoptable.isEmpty { await SlurmEngine().stop(adoptable.values.sorted()) }
        let final: Status = canceling ? .canceled : failed != nil ? .error : .success
        let error = failed.flatMap { results[$0]?.error }
        try? run.move(to: final, message: canceling ? "canceled" : error)
        let workflow = plan.workflow.callbacks
        switch final {
        case .success:
            await callWorkflow(workflow.onSuccess, "on_success", status: final)
        case .canceled:
            await callWorkflow(workflow.onCancel, "on_cancel", status: final)
        default:
            await callWorkflow(workflow.onFailure, "on_failure", status: final, step: failed.map(snapshot), error: error)
        }
        observe(.runFinished(status: final, duration: run.duration() ?? 0,
                             message: canceling ? "canceled" : failed.map { "step '\(plan.workflow.steps[$0].name)' failed: \(error ?? "")" }))
        logger.info("run finished", metadata: ["run": "\(folder.id)", "status": "\(final.rawValue)"])
        return RunReport(id: folder.id, folder: folder.path, status: final, run: run,
                         steps: plan.workflow.steps.indices.map {
                             StepReport(name: plan.workflow.steps[$0].name, state: states[$0],
                                        result: results[$0], attempts: attempts[$0], cachedFrom: cachedFrom[$0])
                         }, vars: vars)
    }

    // MARK: Helpers

    private func checkCapacity() throws(PlanError) {
        // A cluster's steps are the cluster's to fit.
        for (index, step) in plan.workflow.steps.enumerated() where !plan.workers[index].isRemote {
            let needs = Resources(step.info)
            if needs.cpus > options.capacity.cpus {
                throw PlanError.at(step, index, "cpus: needs \(Self.number(needs.cpus)), but only "
                    + "\(Self.number(options.capacity.cpus)) can be reserved (--cpus)")
            }
            if needs.memory > options.capacity.memory {
                throw PlanError.at(step, index, "memory: needs \(ByteCount.format(needs.memory)), but only "
                    + "\(ByteCount.format(options.capacity.memory)) can be reserved (--memory)")
            }
        }
    }

    private func context(for index: Int, attempt: Int, folder: RunFolder) -> StepContext {
        Self.context(plan: plan, index: index, attempt: attempt, vars: vars, folder: folder, killGrace: options.killGrace)
    }

    private static func context(plan: Plan, index: Int, attempt: Int, vars: [String: Value], folder: RunFolder,
                                killGrace: Duration) -> StepContext {
        let step = plan.workflow.steps[index]
        return StepContext(runID: folder.id, folder: folder, stepName: step.name, attempt: attempt,
                           variables: plan.variables(for: index, vars: vars, folder: folder),
                           environment: plan.workers[index].env.merging(step.info.env) { $1 },
                           logs: folder.logs(for: step.name), killGrace: killGrace)
    }

    /// What `${name}` means in a step right now.
    private func variables(for index: Int, folder: RunFolder) -> Variables {
        plan.variables(for: index, vars: vars, folder: folder)
    }

    /// Separates attempts in a retried step's logs.
    private func markAttempt(_ attempt: Int, of step: Step, in folder: RunFolder) {
        let line = "--- flowlua: attempt \(attempt) of \(step.info.retries + 1) ---\n"
        let logs = folder.logs(for: step.name)
        RunFolder.append(line, to: logs.stdout)
        RunFolder.append(line, to: logs.stderr)
    }

    private func snapshot(_ index: Int) -> StepSnapshot {
        let result = results[index]
        return StepSnapshot(name: plan.workflow.steps[index].name, status: states[index].status,
                            attempt: attempts[index], exitCode: result?.exitCode, duration: states[index].duration(),
                            stdout: result?.stdout ?? "", stderr: result?.stderr ?? "")
    }

    private func callbackEvent(_ scope: CallbackEvent.Scope, status: Status, step: StepSnapshot? = nil,
                               error: String? = nil) -> CallbackEvent {
        CallbackEvent(scope: scope, runID: folder?.id ?? "", workflow: plan.workflow.name, status: status,
                      runDirectory: folder?.path ?? "", vars: vars, parameters: plan.arguments, step: step, error: error)
    }

    private func callWorkflow(_ function: FunctionReference?, _ name: String, status: Status,
                              step: StepSnapshot? = nil, error: String? = nil) async {
        guard let function, let code else { return }
        if let failure = await code.call(function, event: callbackEvent(.workflow, status: status, step: step, error: error)) {
            observe(.callbackFailed(name: name, error: failure))
        }
    }

    private static func callbackName(_ status: Status) -> String {
        switch status {
        case .success: "on_success"
        case .canceled: "on_cancel"
        default: "on_failure"
        }
    }

    static func seconds(_ value: Double) -> String { "\(number(value))s" }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
