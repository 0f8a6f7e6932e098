import Foundation
import Synchronization

/// Everything a process flowlua started went on to start, found however it
/// tried to leave: what lets a step end with nothing of it left running.
///
/// A step's commands run in a process group of their own, and a signal to
/// the group reaches everything that stays in it. A process that calls
/// `setsid()` (a daemon, `setsid cmd &`, a double fork) leaves the group,
/// so each tree is also tracked by something it cannot leave:
///
/// - **a cgroup** (v2) of its own, where the machine lets flowlua make one
///   (as Slurm's `proctrack/cgroup` does): the child joins it before it
///   execs, and everything it starts is born inside;
/// - otherwise **its orphans**: flowlua is the child subreaper of its
///   descendants, so a process whose parent ended is handed to flowlua, and
///   carries the tree's mark in its environment (`FLOWLUA_TREE`), by which
///   it is told apart from the orphans of other steps.
///
/// `FLOWLUA_PROCESS_TRACKING=subreaper` turns the cgroups off.
final class ProcessTree: Sendable {
    /// The environment entry that marks the tree's processes.
    let mark: String
    /// The cgroup the tree lives in; nil when tracked by its orphans.
    let cgroup: Cgroup?
    /// The process that heads the tree (the spawned child): it is reaped by
    /// its monitor, never by the sweep of its orphans.
    private let leader = Atomic<Int32>(0)

    private init(mark: String, cgroup: Cgroup?) {
        self.mark = mark
        self.cgroup = cgroup
    }

    static let variable = "FLOWLUA_TREE"
    private static let count = Atomic<UInt64>(0)
    /// Trees that may still have members, for a hard stop.
    private static let live = Mutex<[ObjectIdentifier: ProcessTree]>([:])

    /// A new tree, in a cgroup of its own where the machine allows it.
    static func make() -> ProcessTree {
        let n = count.add(1, ordering: .relaxed).newValue
        let tree = ProcessTree(mark: "\(variable)=\(getpid()).\(n)", cgroup: Cgroup.pool?.acquire())
        live.withLock { $0[ObjectIdentifier(tree)] = tree }
        return tree
    }

    /// The spawned child that heads the tree. Set before anything reads the tree.
    func started(_ pid: pid_t, cgroupFailed: Bool) {
        leader.store(pid, ordering: .relaxed)
        // The machine refused the move (no delegation): orphans it is, for every tree.
        if cgroupFailed { Cgroup.disable() }
    }

    /// Whether the tree is kept in its cgroup (rather than found by its
    /// orphans).
    var inCgroup: Bool { cgroup != nil && Cgroup.pool != nil }

    /// The live processes of the tree outside the leader's process group,
    /// which a signal to the group does not reach (the group's own members
    /// may be listed too).
    func strays() -> [pid_t] {
        if inCgroup, let cgroup { return cgroup.members() }
        return Orphans.marked(mark, leader: leader.load(ordering: .relaxed))
    }

    /// Whether any process of the tree still runs, other than the leader's
    /// group (which `ChildProcess` checks itself).
    var hasStrays: Bool {
        if inCgroup, let cgroup { return cgroup.isPopulated }
        // A stray that ended while the scan passed hid its children (read
        // while it was their parent, itself read as ended). It handed them
        // on before it ended, so a second scan finds them.
        let look = Orphans.scan(mark, leader: leader.load(ordering: .relaxed), leaders: Self.leaders)
        if !look.found.isEmpty { return true }
        if look.settled { return false }
        Orphans.reap()
        return !strays().isEmpty
    }

    /// Sends `signal` to every process of the tree it can find, and to the
    /// process group each of them leads.
    func signal(_ signal: Int32) {
        if signal == SIGKILL, inCgroup, let cgroup, cgroup.kill() { return }
        for pid in strays() {
            kill(pid, signal)
            if getpgid(pid) == pid { kill(-pid, signal) }
        }
    }

    /// Sends `signal` to the processes of the tree not in `told`, and adds
    /// them to it.
    /// Members of the leader's group are left out: the group's own signal
    /// reaches them.
    func signal(_ signal: Int32, sparing told: inout Set<pid_t>) {
        let group = leader.load(ordering: .relaxed)
        for pid in strays() where told.insert(pid).inserted {
            let own = getpgid(pid)
            guard own != group else { continue }
            kill(pid, signal)
            if own == pid { kill(-pid, signal) }
        }
    }

    /// The tree is empty: its cgroup goes back to the pool, its orphans that
    /// ended are reaped.
    func release() {
        Orphans.reap()
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
        if let cgroup { Cgroup.pool?.release(cgroup) }
    }

    /// The heads of the trees that may still have members.
    private static func leaders() -> Set<pid_t> {
        live.withLock { Set($0.values.map { $0.leader.load(ordering: .relaxed) }) }
    }

    /// SIGKILL to every tree that may still have members: the last resort
    /// of a hard stop.
    static func killAll() {
        for tree in live.withLock({ Array($0.values) }) { tree.signal(SIGKILL) }
    }
}
