import DequeModule
import FlowModel
import Foundation
import Logging

/// Runs one plan: the thin owner of a `RunState`, which decides everything;
/// the driver performs what it decides (starts attempts, stops them, keeps
/// timers, calls callbacks, records) and feeds back what happened.
///
/// Each attempt is a task that prefers the driver's own thread, where its
/// processes are also reaped: a no-op step runs without a single hop
/// between threads. Code steps that follow one another run back to back on
/// the Lua state's thread as a `CodeChain`, the driver recording each a step
/// behind. Stopping an attempt triggers its `StopHandle`, which stops its
/// processes or interrupts its Lua code.
public actor RunDriver {
    private let executor = ThreadExecutor(name: "flowlua.driver")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The plan as it is now: it grows as steps add steps.
    private(set) var plan: Plan
    let options: RunOptions
    let code: (any CodeExecutor)?
    let observe: @Sendable (RunEvent) -> Void
    private let logger: Logger

    /// The run's workers, code steps' included.
    let workers: WorkerRegistry
    private(set) var state: RunState
    private(set) var folder: RunFolder?
    /// How to stop each running attempt.
    private var stops: [Int: StopHandle] = [:]
    /// Timeouts of running attempts, and retry delays of failed ones.
    private var timers: [Int: Task<Void, Never>] = [:]
    var callbacks: [Task<Void, Never>] = []
    /// Each step as it was prepared, its inputs' hashes, and its cache key
    /// if it was needed then (`--resume`).
    private var launched: [Int: (step: ResolvedStep, inputs: [String: String], key: String?)] = [:]
    /// The code chain each of its links is in, and where.
    private var chains: [Int: (chain: CodeChain, position: Int)] = [:]
    /// Resumed when the last step has ended.
    private var done: CheckedContinuation<Void, Never>?
    /// Actions still to perform, the next first; and whether a loop is
    /// performing them (an action's answer comes while it runs).
    private var queue: Deque<RunAction> = []
    private var performing = false
    /// Where steps' inputs are hashed; made for the first step with any.
    private var preparer: ThreadExecutor?

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
        var workers = options.workers
        if let code { workers.register(CodeRunner(code: code), for: .code) }
        self.workers = workers
        state = RunState(plan: plan, jobs: options.jobs, capacity: options.capacity, policy: options.policy,
                         resume: options.resume, prepares: options.cache != nil, chainsCode: code != nil,
                         carryover: carryover)
    }

    /// Asks the run to stop: nothing new starts, running steps are stopped
    /// and marked canceled, and `run` returns a canceled report. Safe to
    /// call from any thread, any number of times.
    public nonisolated func cancel() {
        Task { await cancelRun() }
    }

    private func cancelRun() { handle(state.cancel()) }

    deinit {
        executor.shutdown()
        preparer?.shutdown()
    }

    /// Creates the run folder, stages the inputs, runs every step that can
    /// run, and reports how each ended. Cancelling the calling task cancels
    /// the run.
    ///
    /// - Throws: `PlanError` when a step needs more than `capacity` offers,
    ///   or an error creating the run folder or staging an input; in both
    ///   cases before any step starts.
    public func run(id: String = RunFolder.newID()) async throws -> RunReport {
        try RunState.checkCapacity(of: plan, against: options.capacity)
        let folder = try RunFolder.create(in: options.runsDirectory, id: id)
        self.folder = folder
        try folder.stage(plan.staged)
        state.runStarted()
        logger.info("run started", metadata: ["run": "\(id)", "folder": "\(folder.path)"])
        observe(.runStarted(id: id, folder: folder.path, steps: plan.workflow.steps.count))
        await callWorkflow(plan.workflow.callbacks.onStart, "on_start", status: .running)

        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                done = continuation
                handle(state.stepsMayStart())
            }
        } onCancel: {
            cancel()
        }
        return await finish(folder)
    }

    // MARK: Events and actions

    /// Performs the actions an event called for, before any left from the
    /// event that led to it.
    private func handle(_ actions: [RunAction]) {
        guard !actions.isEmpty else { return }
        queue.prepend(contentsOf: actions)
        guard !performing else { return }
        performing = true
        while let action = queue.popFirst() { perform(action) }
        performing = false
    }

    private func perform(_ action: RunAction) {
        switch action {
        case .prepare(let index):
            prepare(index)
        case .start(let launch):
            start(launch)
        case .follow(let index):
            follow(index)
        case .stop(let index):
            stops[index]?.stop()
        case .revokeChains:
            for (chain, _) in chains.values { chain.revoke() }
        case .waitToRetry(let index, let seconds):
            timers[index] = Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled { retryDue(index) }
            }
        case .cancelTimer(let index):
            timers.removeValue(forKey: index)?.cancel()
        case .remember(let index, let changes, let resolveNow):
            remember(index, changes: changes, resolveNow: resolveNow)
        case .callback(let callback):
            call(callback)
        case .observe(let event):
            observe(event)
        case .finish:
            done?.resume()
            done = nil
        }
    }

    func attemptEnded(_ index: Int, attempt: Int, _ result: ExecResult, changes: [String: Value?],
                      added: [Step] = []) {
        guard attempt == state.attempts[index], state.running.contains(index), let folder else { return }
        var result = result
        if result.succeeded, !plan.outputs[index].isEmpty {
            result.error = outputProblem(index, in: folder)
        }
        var grown: Plan?
        if result.succeeded, !added.isEmpty {
            do {
                let (plan, staged) = try plan.adding(added, by: index, in: folder)
                try folder.stage(staged)
                grown = plan
            } catch {
                result.error = "the steps it added: \(error)"
            }
        }
        stops[index] = nil
        var nextLinkBegun = false
        if let (chain, position) = chains.removeValue(forKey: index) {
            nextLinkBegun = position + 1 < chain.links.count && chain.hasBegun(position + 1)
        }
        let actions = state.ended(index, attempt: attempt, result, changes: changes, grown: grown,
                                  nextLinkBegun: nextLinkBegun)
        if grown != nil { plan = state.plan }
        handle(actions)
    }

    private func retryDue(_ index: Int) {
        timers[index] = nil
        handle(state.retryDue(index))
    }

    private func timedOut(_ index: Int, attempt: Int) {
        handle(state.timedOut(index, attempt: attempt))
    }

    private func submitted(_ index: Int, attempt: Int, _ id: String, adopted: Bool) {
        handle(state.submitted(index, attempt: attempt, remoteID: id, adopted: adopted))
    }

    // MARK: Preparing, starting

    /// Takes a step's inputs' hashes; under `--resume`, its cache key, and
    /// an earlier result of the same key if there is one (its outputs copied
    /// into this run folder).
    ///
    /// Hashing a large input and copying outputs take what they take: that
    /// is done on a thread of its own, so that meanwhile timeouts, a cancel
    /// and the other steps go on. A step with no input to hash and nothing
    /// to look up, or only small files to hash, is prepared at once.
    private func prepare(_ index: Int) {
        // A field that cannot be resolved fails the step as it starts.
        guard let cache = options.cache, let folder, let resolved = try? plan.resolve(index, vars: state.vars, folder: folder)
        else { return handle(state.prepared(index)) }
        guard options.resume || !resolved.inputs.isEmpty else {
            launched[index] = (resolved, [:], nil)
            return handle(state.prepared(index))
        }
        // Small files hash faster than a hop to another thread and back.
        if !options.resume, FileSizes.areSmall(resolved.inputs.map(folder.path(of:))) {
            launched[index] = (resolved, cache.hashInputs(of: resolved, in: folder), nil)
            return handle(state.prepared(index))
        }
        let preparer = self.preparer ?? ThreadExecutor(name: "flowlua.prepare", spin: .zero)
        self.preparer = preparer
        Task(executorPreference: preparer) { [resume = options.resume, logger] in
            let inputs = resolved.inputs.isEmpty ? [:] : cache.hashInputs(of: resolved, in: folder)
            // Without --resume the key is only stored: it is worked out as it is.
            let key = resume ? cache.key(for: resolved, inputs: inputs) : nil
            var reuse: RunState.Reuse?
            if let key, let hit = cache.reusable(key) {
                reuse = RunState.Reuse(runID: hit.runID, changes: hit.changes)
                if hit.folder != folder.path {
                    do {
                        for output in hit.outputs { try folder.copy(output, from: hit.folder) }
                        cache.copied(hit, into: folder)
                    } catch {
                        logger.warning("cannot reuse a cached result", metadata: ["step": "\(resolved.name)", "error": "\(error)"])
                        reuse = nil
                    }
                }
            }
            await self.prepared(index, (resolved, inputs, key), reusing: reuse)
        }
    }

    private func prepared(_ index: Int, _ launch: (step: ResolvedStep, inputs: [String: String], key: String?),
                          reusing reuse: RunState.Reuse?) {
        if state.preparing.contains(index) { launched[index] = launch }
        handle(state.prepared(index, reusing: reuse))
    }

    private func start(_ launch: StepLaunch) {
        guard let folder else { return }
        let index = launch.index, attempt = launch.attempt
        let step = plan.workflow.steps[index]
        if attempt > 1 { markAttempt(attempt, of: step, in: folder) }
        let chain = launch.chain.isEmpty ? nil : makeChain(launch.chain, attempt: attempt, folder: folder)
        let stop = chain?.links[0].stop ?? StopHandle()
        stops[index] = stop
        var context = context(for: index, attempt: attempt, folder: folder)
        context.stop = stop
        context.monitor = executor.monitor
        // The step as this attempt runs it: as prepared, else resolved now.
        // (The links of a chain after the first are resolved as they begin.)
        let resolution: Result<ResolvedStep, FieldError>
        if attempt == 1, let prepared = launched[index]?.step {
            resolution = .success(prepared)
        } else {
            do throws(FieldError) { resolution = .success(try plan.resolve(index, vars: state.vars, folder: folder)) } catch {
                resolution = .failure(error)
            }
        }
        if plan.workers[index].isRemote {
            context.after = launch.after
            context.adopted = launch.adopted
            let adopted = launch.adopted != nil
            context.submitted = { id in Task { await self.submitted(index, attempt: attempt, id, adopted: adopted) } }
        }
        let onStart = launch.callsOnStart ? step.info.callbacks.onStart : nil
        let snapshot = onStart.map { _ in StepSnapshot(name: step.name, status: .running, attempt: attempt) }
        let event = snapshot.map { callbackEvent(.step, status: .running, step: $0) }
        // Preferring the driver's thread keeps the whole attempt there: the
        // exit of its process resumes it without a hop through the pool.
        Task(executorPreference: executor) {
            await self.attempt(index, attempt: attempt, step: step, resolution: resolution, context: context,
                               onStart: onStart, event: event, chain: chain)
        }
        if let timeout = launch.timeout {
            timers[index] = Task {
                try? await Task.sleep(for: .seconds(timeout))
                if !Task.isCancelled { timedOut(index, attempt: attempt) }
            }
        }
    }

    /// A chain's next link began on the Lua thread: the driver stops it
    /// through its link's handle, and keeps it as prepared for the cache.
    private func follow(_ index: Int) {
        guard let (chain, position) = chains[index], let folder else { return }
        stops[index] = chain.links[position].stop
        if options.cache != nil, let resolved = try? plan.resolve(index, vars: state.vars, folder: folder) {
            launched[index] = (resolved, [:], nil)
        }
    }

    private func makeChain(_ indices: [Int], attempt: Int, folder: RunFolder) -> CodeChain {
        let links = indices.map { index -> CodeChain.Link in
            guard case .code(let step) = plan.workflow.steps[index] else { preconditionFailure("a chain of code steps") }
            return CodeChain.Link(index: index, step: step, stop: StopHandle())
        }
        let chain = CodeChain(links: links) { [plan, killGrace = options.killGrace, monitor = executor.monitor] position, vars in
            var context = Self.context(plan: plan, index: indices[position], attempt: position == 0 ? attempt : 1,
                                       vars: vars, folder: folder, killGrace: killGrace)
            context.monitor = monitor
            return context
        }
        for (position, index) in indices.enumerated() { chains[index] = (chain, position) }
        return chain
    }

    // MARK: Results

    /// Why a step that exited well does not count as done: the first of its
    /// declared outputs that is missing, not a file or folder, or leads out.
    private func outputProblem(_ index: Int, in folder: RunFolder) -> String? {
        let variables = plan.variables(for: index, vars: state.vars, folder: folder)
        var entries = RunFolder.Entries(of: folder)
        for output in plan.outputs[index] {
            let path = (try? variables.substitute(output)) ?? output
            if let problem = Self.problem(with: path, in: &entries) { return problem }
        }
        return nil
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

    private func remember(_ index: Int, changes: [String: Value?], resolveNow: Bool) {
        guard let cache = options.cache, let folder else { return }
        var launch = launched.removeValue(forKey: index)
        // A released step was submitted before its inputs existed: its key is taken now.
        if launch == nil, resolveNow {
            if let resolved = try? plan.resolve(index, vars: state.vars, folder: folder) {
                launch = (resolved, resolved.inputs.isEmpty ? [:] : cache.hashInputs(of: resolved, in: folder), nil)
            }
        }
        if let launch {
            cache.remember(launch.step, inputs: launch.inputs, key: launch.key, changes: changes, in: folder)
        }
    }

    // MARK: The end

    private func finish(_ folder: RunFolder) async -> RunReport {
        let (end, actions) = state.closePending()
        handle(actions)
        for task in callbacks { await task.value }
        // Jobs of an earlier process that this run did not follow again.
        if !state.adoptable.isEmpty { await workers.remote.stop(state.adoptable.values.sorted()) }
        state.runEnded(end)
        let workflow = plan.workflow.callbacks
        switch end.status {
        case .success:
            await callWorkflow(workflow.onSuccess, "on_success", status: end.status)
        case .canceled:
            await callWorkflow(workflow.onCancel, "on_cancel", status: end.status)
        default:
            await callWorkflow(workflow.onFailure, "on_failure", status: end.status, step: end.failed.map(state.snapshot),
                               error: end.error)
        }
        let message = state.canceling ? "canceled" : end.failed.map { "step '\(plan.workflow.steps[$0].name)' failed: \(end.error ?? "")" }
        observe(.runFinished(status: end.status, duration: state.run.duration() ?? 0, message: message))
        for violation in state.violations { logger.error("internal: \(violation)", metadata: ["run": "\(folder.id)"]) }
        logger.info("run finished", metadata: ["run": "\(folder.id)", "status": "\(end.status.rawValue)"])
        return RunReport(id: folder.id, folder: folder.path, status: end.status, run: state.run,
                         steps: plan.workflow.steps.indices.map {
                             StepReport(name: plan.workflow.steps[$0].name, state: state.states[$0],
                                        result: state.results[$0], attempts: state.attempts[$0],
                                        cachedFrom: state.cachedFrom[$0])
                         }, vars: state.vars)
    }
}
