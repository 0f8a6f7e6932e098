import CProcessShims
import Foundation
import Synchronization

/// Reaps every child process flowlua starts, on one thread.
///
/// Each child's pidfd sits in one epoll set, so an exit costs one wake-up of
/// this thread however many children run; the thread reaps the child and
/// hands its termination to the `ChildProcess`. It never calls `wait(-1)`,
/// so children started by anything else are left alone.
final class ProcessMonitor: Sendable {
    static let shared = ProcessMonitor()

    private let epoll: Int32
    private let watched = Mutex<[UInt64: ChildProcess]>([:])
    /// Process groups that may still have members: started, and not yet
    /// confirmed empty by their `ChildProcess`.
    private let groups = Mutex<Set<pid_t>>([])
    private let tokens = Atomic<UInt64>(0)
    /// Opened once for the standard streams nobody asked for.
    let devNull: Int32

    private init() {
        _ = flowlua_become_subreaper()
        epoll = flowlua_epoll_create()
        devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        let thread = Thread { [self] in reap() }
        thread.name = "flowlua.process-monitor"
        thread.start()
    }

    /// Starts watching a child that was just spawned.
    func watch(_ child: ChildProcess) throws(SpawnError) {
        let token = tokens.add(1, ordering: .relaxed).newValue
        groups.withLock { _ = $0.insert(child.pid) }
        watched.withLock { $0[token] = child }
        guard flowlua_epoll_add(epoll, child.pidfd, token) == 0 else {
            let code = errno
            watched.withLock { _ = $0.removeValue(forKey: token) }
            throw SpawnError(executable: "process monitor", code: code)
        }
    }

    /// The group of `pid` has no members left.
    func released(group pid: pid_t) {
        groups.withLock { _ = $0.remove(pid) }
    }

    /// Sends `signal` to every process group that may still have members:
    /// the last resort of a hard stop.
    func signalAllGroups(_ signal: Int32) {
        for group in groups.withLock({ $0 }) { kill(-group, signal) }
    }

    private func reap() {
        var ready = [UInt64](repeating: 0, count: 64)
        while true {
            let count = flowlua_epoll_wait(epoll, &ready, Int32(ready.count), -1)
            guard count > 0 else { continue }  // EINTR
            for token in ready[..<Int(count)] {
                guard let child = watched.withLock({ $0.removeValue(forKey: token) }) else { continue }
                var status: Int32 = 0
                while waitpid(child.pid, &status, 0) == -1 && errno == EINTR {}
                close(child.pidfd)  // also removes it from the epoll set
                child.exited(Termination(waitStatus: status))
            }
        }
    }
}
