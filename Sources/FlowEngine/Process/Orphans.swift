import CProcessShims
import Foundation
import Synchronization

/// The processes handed to flowlua as child subreaper: descendants whose
/// parent ended. Where a process tree has no cgroup, its processes that
/// left its group are found here once their parent is gone, by the mark
/// each carries in its environment.
enum Orphans {
    /// Children of flowlua other than `leader` whose environment carries
    /// `mark` (a `NAME=value` entry), and every child that is exiting: its
    /// environment cannot be read any more, and its own children are about
    /// to be handed to flowlua, so whoever looks must look again. Costs a
    /// look at every process of the machine (`/proc/<pid>/stat`), and at the
    /// environment of flowlua's own children.
    static func marked(_ mark: String, leader: pid_t) -> [pid_t] {
        let entry = Array(mark.utf8)
        var found: [pid_t] = []
        for child in children(of: getpid()) where abs(child) != leader {
            guard child > 0 else {
                found.append(-child)
                continue
            }
            guard let environment = FileManager.default.contents(atPath: "/proc/\(child)/environ") else { continue }
            if environment.split(separator: 0, omittingEmptySubsequences: true).contains(where: { $0.elementsEqual(entry) }) {
                found.append(child)
                seen.withLock { _ = $0.insert(child) }
            }
        }
        return found
    }

    /// Orphans once found alive: they are children of flowlua, so their
    /// pids cannot be reused before flowlua reaps them.
    private static let seen = Mutex<Set<pid_t>>([])

    /// Reaps the orphans found earlier that have ended since; returns how
    /// many. A process hands its children on before it turns into a zombie,
    /// so once one is reaped, its children are flowlua's.
    @discardableResult
    static func reap() -> Int {
        let pids = seen.withLock { $0 }
        guard !pids.isEmpty else { return 0 }
        var done: [pid_t] = []
        for pid in pids {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) { done.append(pid) }
        }
        seen.withLock { $0.subtract(done) }
        return done.count
    }

    /// The live processes whose parent is `parent`, from `/proc`; one that
    /// is exiting as its pid negated.
    static func children(of parent: pid_t) -> [pid_t] {
        var pids = [pid_t](repeating: 0, count: 256)
        while true {
            let count = Int(flowlua_children(parent, &pids, Int32(pids.count)))
            if count < 0 { return [] }
            if count <= pids.count { return Array(pids.prefix(count)) }
            pids = [pid_t](repeating: 0, count: count * 2)
        }
    }
}
