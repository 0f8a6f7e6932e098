import CProcessShims
import Foundation
import Synchronization

/// Reaps the child processes started through it, and copies their output
/// from pipes to log files.
///
/// Each child's pidfd (and each output pipe) sits in an epoll set, so an exit costs one wake-up of
/// the thread that waits on that set, however many children run. The shared
/// monitor has a thread of its own; a `ThreadExecutor` has a monitor of its
/// own whose children are reaped on the executor's thread, so the code that
/// awaits an exit resumes without a hop between threads. Neither ever calls
/// `wait(-1)`: children started by anything else are left alone.
public final class ProcessMonitor: Sendable {
    /// The monitor with a thread of its own, for callers that block.
    public static let shared: ProcessMonitor = {
        let monitor = ProcessMonitor(epoll: flowlua_epoll_create())
        // Without its epoll set it has nothing to wait on; every spawn
        // through it reports why (see `watch`).
        guard monitor.epoll >= 0 else { return monitor }
        let thread = Thread { monitor.run() }
        thread.name = "flowlua.reaper"
        thread.start()
        return monitor
    }()

    let epoll: Int32
    /// Why the epoll set could not be made, if it could not.
    private let epollError: Int32
    private let watched = Mutex<[UInt64: Watched]>([:])

    private enum Watched {
        case child(ChildProcess)
        case output(OutputPipe)
    }
    private let tokens = Atomic<UInt64>(0)

    /// Process groups that may still have members, of every monitor:
    /// started, and not yet confirmed empty by their `ChildProcess`.
    private static let groups = Mutex<Set<pid_t>>([])
    /// Opened once for the standard streams nobody asked for, or the errno
    /// of the failed open (fd -1).
    static let devNull: (fd: Int32, error: Int32) = {
        let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
        return (fd, fd < 0 ? errno : 0)
    }()
    private static let becameSubreaper: Bool = flowlua_become_subreaper() == 0

    /// A monitor whose children are watched through `epoll`; whoever waits
    /// on it passes the tokens that fire to `reap(_:)`. Tokens are never 0.
    init(epoll: Int32) {
        _ = Self.becameSubreaper
        self.epoll = epoll
        epollError = epoll < 0 ? errno : 0
    }

    /// Starts watching a child that was just spawned.
    func watch(_ child: ChildProcess) throws(SpawnError) {
        guard epoll >= 0 else { throw SpawnError(executable: "process monitor", code: epollError) }
        let token = tokens.add(1, ordering: .relaxed).newValue
        Self.groups.withLock { _ = $0.insert(child.pid) }
        watched.withLock { $0[token] = .child(child) }
        guard flowlua_epoll_add(epoll, child.pidfd, token) == 0 else {
            let code = errno
            watched.withLock { _ = $0.removeValue(forKey: token) }
            Self.groups.withLock { _ = $0.remove(child.pid) }
            throw SpawnError(executable: "process monitor", code: code)
        }
    }

    /// Starts copying what arrives in an output pipe's read end.
    func watch(_ pipe: OutputPipe, _ readEnd: Int32) throws(POSIXError) -> UInt64 {
        guard epoll >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: epollError) ?? .EIO) }
        let token = tokens.add(1, ordering: .relaxed).newValue
        watched.withLock { $0[token] = .output(pipe) }
        guard flowlua_epoll_add(epoll, readEnd, token) == 0 else {
            let code = errno
            watched.withLock { _ = $0.removeValue(forKey: token) }
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        return token
    }

    func unwatch(_ token: UInt64, _ fd: Int32) {
        watched.withLock { _ = $0.removeValue(forKey: token) }
        flowlua_epoll_remove(epoll, fd)
    }

    /// Handles what fired with `token`: reaps a child, or copies output.
    func reap(_ token: UInt64) {
        let entry = watched.withLock { watched -> Watched? in
            guard case .output(let pipe)? = watched[token] else { return watched.removeValue(forKey: token) }
            return .output(pipe)
        }
        switch entry {
        case .output(let pipe):
            pipe.drain()
        case .child(let child):
            reap(child)
        case nil:
            return
        }
    }

    private func reap(_ child: ChildProcess) {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(child.pid, &status, 0) } while result == -1 && errno == EINTR
        let termination = result == child.pid ? Termination(waitStatus: status) : .unknown(errno: errno)
        // Before closing: an fd duplicated into a child that has not exec'd
        // yet would keep the registration, and it would fire forever.
        flowlua_epoll_remove(epoll, child.pidfd)
        close(child.pidfd)
        child.exited(termination)
    }

    /// The group of `pid` has no members left.
    static func released(group pid: pid_t) {
        groups.withLock { _ = $0.remove(pid) }
    }

    /// Sends `signal` to every process group that may still have members:
    /// the last resort of a hard stop.
    static func signalAllGroups(_ signal: Int32) {
        for group in groups.withLock({ $0 }) { kill(-group, signal) }
    }

    private func run() {
        var ready = [UInt64](repeating: 0, count: 64)
        while true {
            let count = flowlua_epoll_wait(epoll, &ready, Int32(ready.count), -1)
            guard count > 0 else { continue }  // EINTR
            for token in ready[..<Int(count)] { reap(token) }
        }
    }
}
