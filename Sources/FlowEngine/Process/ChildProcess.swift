import CProcessShims
import Dispatch
import Foundation
import Synchronization

/// A process flowlua started, leader of its own session and process group.
///
/// Everything the process starts stays in its group unless it makes a
/// session of its own, and what does is still found through its
/// `ProcessTree` (a cgroup, or flowlua's orphans): signalling the process
/// reaches the whole tree. That is how a step leaves nothing behind.
///
/// Started with `posix_spawn` and reaped by a `ProcessMonitor` rather than
/// through swift-subprocess, whose per-process tasks cost about
/// 0.3 ms a spawn here: more than the whole budget of a no-op step
/// (see `bench/README.md`).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    let pidfd: Int32
    /// What it starts, wherever that goes; nil for an untracked process (a
    /// detached run, which outlives us on purpose).
    let tree: ProcessTree?
    private let state = Mutex<State>(.running(waiters: []))

    private enum State {
        case running(waiters: [Waiter])
        case exited(Termination)
    }

    private enum Waiter {
        case task(CheckedContinuation<Termination, Never>)
        case thread(DispatchSemaphore)
    }

    private init(pid: pid_t, pidfd: Int32, tree: ProcessTree?) {
        self.pid = pid
        self.pidfd = pidfd
        self.tree = tree
    }

    /// Starts a process, reaped by `monitor`: the shared one, or that of
    /// the `ThreadExecutor` whose thread will await its exit.
    public static func spawn(_ spec: ProcessSpec, monitor: ProcessMonitor = .shared) throws(SpawnError) -> ChildProcess {
        let null = ProcessMonitor.devNull
        if null.fd < 0, spec.standardInput == nil || spec.standardOutput == nil || spec.standardError == nil {
            throw SpawnError(executable: spec.executable, code: null.error)
        }
        let tree = spec.tracked ? ProcessTree.make() : nil
        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        var envp = spec.environment.map { strdup($0) }
        if let tree { envp.append(strdup(tree.mark)) }
        envp.append(nil)
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        var cgroupError: Int32 = 0
        let rc = flowlua_spawn(&pid, spec.executable, argv, envp, spec.workingDirectory,
                               spec.standardInput ?? null.fd,
                               spec.standardOutput ?? null.fd,
                               spec.standardError ?? null.fd,
                               tree?.cgroup?.procs ?? -1, &cgroupError)
        guard rc == 0 else {
            tree?.release()
            throw SpawnError(executable: spec.executable, workingDirectory: spec.workingDirectory, code: rc)
        }
        tree?.started(pid, cgroupFailed: cgroupError != 0)
        // Unwatched, it would run on unreaped: stop it and report.
        func abandon(_ code: Int32) -> SpawnError {
            kill(-pid, SIGKILL)
            tree?.signal(SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            tree?.release()
            return SpawnError(executable: spec.executable, code: code)
        }
        let pidfd = flowlua_pidfd_open(pid)
        guard pidfd >= 0 else { throw abandon(errno) }
        let child = ChildProcess(pid: pid, pidfd: pidfd, tree: tree)
        do { try monitor.watch(child) } catch {
            close(pidfd)
            throw abandon(error.code)
        }
        return child
    }

    // MARK: Waiting

    /// Waits for the process to end. Cancelling the waiting task does not
    /// stop the process: use `terminate(grace:)` for that.
    nonisolated(nonsending) public func termination() async -> Termination {
        await withCheckedContinuation { continuation in
            if let ended = wait(.task(continuation)) { continuation.resume(returning: ended) }
        }
    }

    /// Blocks the calling thread until the process ends or `timeout` passes;
    /// nil on timeout. For synchronous callers (a Lua function).
    public func wait(timeout: Duration) -> Termination? {
        let semaphore = DispatchSemaphore(value: 0)
        if let ended = wait(.thread(semaphore)) { return ended }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        if semaphore.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success { return exitStatus }
        // Timed out: withdraw the waiter, or callers polling in a loop pile them up.
        return state.withLock { state in
            switch state {
            case .exited(let termination):
                return termination
            case .running(var waiters):
                waiters.removeAll { if case .thread(let other) = $0 { other === semaphore } else { false } }
                state = .running(waiters: waiters)
                return nil
            }
        }
    }

    /// Adds a waiter, or returns how the process ended if it has.
    private func wait(_ waiter: Waiter) -> Termination? {
        state.withLock { state in
            switch state {
            case .exited(let termination):
                return termination
            case .running(var waiters):
                waiters.append(waiter)
                state = .running(waiters: waiters)
                return nil
            }
        }
    }

    /// How it ended, or nil while it runs.
    public var exitStatus: Termination? {
        state.withLock { if case .exited(let termination) = $0 { termination } else { nil } }
    }

    /// Called by the monitor once the process has been reaped.
    func exited(_ termination: Termination) {
        let waiters: [Waiter] = state.withLock { state in
            guard case .running(let waiters) = state else { return [] }
            state = .exited(termination)
            return waiters
        }
        for waiter in waiters {
            switch waiter {
            case .task(let continuation): continuation.resume(returning: termination)
            case .thread(let semaphore): semaphore.signal()
            }
        }
    }

    // MARK: Stopping

    /// Whether any process of the tree is still alive: of the group, or
    /// one that left it. Orphans of the group that ended (handed to
    /// flowlua as subreaper) are reaped first: a zombie is not alive.
    public var groupIsAlive: Bool {
        _ = flowlua_reap_group(pid)
        return kill(-pid, 0) == 0 || errno == EPERM || (tree?.hasStrays ?? false)
    }

    /// Sends `signal` to the whole process group, and to the processes of
    /// the tree that left it.
    public func signalGroup(_ signal: Int32) {
        kill(-pid, signal)
        tree?.signal(signal)
    }

    /// Stops the process tree: SIGTERM to the group now, SIGKILL to whatever
    /// of it is left after `grace`. Returns at once; await `termination()`
    /// for the leader and `sweep(grace:)` for the rest of the group.
    public func terminate(grace: Duration) {
        signalGroup(SIGTERM)
        let nanoseconds = Int(grace.components.seconds) * 1_000_000_000
            + Int(grace.components.attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
            // Only while the leader is unreaped: its group ID is still its
            // own, and nothing here may reap it before the monitor does.
            // After that, sweep(grace:) deals with the rest of the group.
            if exitStatus == nil { signalGroup(SIGKILL) }
        }
    }

    /// Makes sure nothing of the group outlives the process: once the leader
    /// has ended, members still running (`sleep 60 &`) get SIGTERM, then
    /// SIGKILL after `grace`. Costs one syscall when the group is empty.
    nonisolated(nonsending) public func sweep(grace: Duration) async {
        var sweep = Sweep(grace: grace)
        while let wait = next(&sweep) { await pause(wait) }
        released()
    }

    /// The synchronous form of `sweep(grace:)`.
    public func sweepBlocking(grace: Duration) {
        var sweep = Sweep(grace: grace)
        while let wait = next(&sweep) {
            usleep(UInt32(wait.components.attoseconds / 1_000_000_000_000))
        }
        released()
    }

    /// How far a sweep has got.
    private struct Sweep {
        let clock = ContinuousClock()
        let deadline: ContinuousClock.Instant
        var killed: ContinuousClock.Instant?
        var warned = false
        /// Processes that left the group and were sent SIGTERM: one that
        /// turns up later (its parent just ended) gets its own.
        var told: Set<pid_t> = []

        init(grace: Duration) { deadline = clock.now + grace }
    }

    /// One look at the tree: signals what needs it and returns how long to
    /// wait before the next look; nil once it is empty, or 2 s after SIGKILL
    /// (bounded only against a stuck kernel).
    private func next(_ sweep: inout Sweep) -> Duration? {
        guard groupIsAlive else { return nil }
        let now = sweep.clock.now
        if sweep.killed == nil, now < sweep.deadline {
            if !sweep.warned {
                kill(-pid, SIGTERM)
                sweep.warned = true
            }
            tree?.signal(SIGTERM, sparing: &sweep.told)
            return .milliseconds(10)
        }
        let killed = sweep.killed ?? now
        sweep.killed = killed
        guard now - killed < .seconds(2) else { return nil }
        // Again each time: a process whose parent was just killed is handed on alive.
        signalGroup(SIGKILL)
        return .milliseconds(5)
    }

    private func released() {
        tree?.release()
        ProcessMonitor.released(group: pid)
    }

    /// Sends `signal` to every process group flowlua started that may still
    /// have members, and with SIGKILL to every process tree: the last
    /// resort of a hard stop.
    public static func signalAllGroups(_ signal: Int32) {
        ProcessMonitor.signalAllGroups(signal)
        if signal == SIGKILL { ProcessTree.killAll() }
    }
}

/// Sleeps even in a canceled task: teardown must take its time.
nonisolated(nonsending) func pause(_ duration: Duration) async {
    let nanoseconds = Int(duration.components.seconds) * 1_000_000_000
        + Int(duration.components.attoseconds / 1_000_000_000)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            continuation.resume()
        }
    }
}

/// Scheduling of flowlua's own threads.
public enum ThreadPriority {
    /// Runs the calling thread behind every other of this machine's work
    /// that competes for a core (nice 19).
    public static func lowest() {
        _ = flowlua_thread_nice(19)
    }
}

public enum ThreadName {
    /// Names the calling thread, as `ps -L`, `top -H` and `perf` show it
    /// (Foundation on Linux names only a thread that is already running).
    public static func set(_ name: String) {
        flowlua_thread_name(name)
    }
}
