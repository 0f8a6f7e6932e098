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
        scan(mark, leader: leader, leaders: { [] }).found
    }

    /// `marked`, and whether the look was settled: no child of flowlua that
    /// could be of the tree ended or was reaped while it passed, so none
    /// could hand on children it did not see. `leaders` are the spawned
    /// heads of trees: one that ended heads another tree (or this one), and
    /// hands on nothing of this one.
    static func scan(_ mark: String, leader: pid_t, leaders: () -> Set<pid_t>) -> (found: [pid_t], settled: Bool) {
        let entry = Array(mark.utf8)
        let before = reaped.load(ordering: .acquiring)
        var found: [pid_t] = []
        let (children, zombies) = children(of: getpid())
        for child in children where abs(child) != leader {
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
        guard let zombies, reaped.load(ordering: .acquiring) == before else { return (found, false) }
        if zombies.isEmpty { return (found, true) }
        let heads = leaders()
        return (found, zombies.allSatisfy { $0 == leader || heads.contains($0) })
    }

    /// Counts the reaps of `reap()`, by which a look tells another thread reaped while it looked.
    private static let reaped = Atomic<Int>(0)

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
        if !done.isEmpty { reaped.add(1, ordering: .releasing) }
        return done.count
    }

    /// The live processes whose parent is `parent`, from `/proc`, one that
    /// is exiting as its pid negated; and those that have ended unreaped
    /// (nil if `/proc` cannot be read).
    static func children(of parent: pid_t) -> (live: [pid_t], zombies: [pid_t]?) {
        var size = 256
        while true {
            var pids = [pid_t](repeating: 0, count: size)
            var zombies = [pid_t](repeating: 0, count: size)
            var zombieCount: Int32 = 0
            let count = Int(flowlua_children(parent, &pids, Int32(size), &zombies, &zombieCount))
            if count < 0 { return ([], nil) }
            if count <= size && Int(zombieCount) <= size {
                return (Array(pids.prefix(count)), Array(zombies.prefix(Int(zombieCount))))
            }
            size = max(count, Int(zombieCount)) * 2
        }
    }
}
