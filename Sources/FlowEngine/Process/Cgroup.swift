import Foundation
import Synchronization

/// A cgroup (v2) that holds one process tree: whatever its processes start
/// is born inside it, whatever session or group they make.
///
/// Cgroups come from a pool under flowlua's own cgroup
/// (`<own cgroup>/flowlua-<pid>/t<n>`): making and removing one costs
/// about 0.1 ms, as much as a no-op step, while moving a child into one
/// that exists costs nothing measurable. A cgroup goes back to the pool
/// once it is empty; the pool's folders are removed when flowlua exits,
/// and those of a flowlua that died are emptied (SIGKILL) and removed by
/// the next one that makes its pool.
final class Cgroup: Sendable {
    let path: String
    /// `cgroup.procs`, open for writing: a child writes "0" to it to move in.
    let procs: Int32
    /// `cgroup.events`, open for reading: `populated 0|1` for the whole subtree.
    private let events: Int32

    fileprivate init?(path: String) {
        guard mkdir(path, 0o755) == 0 else { return nil }
        procs = open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        events = open(path + "/cgroup.events", O_RDONLY | O_CLOEXEC)
        guard procs >= 0, events >= 0 else {
            if procs >= 0 { close(procs) }
            if events >= 0 { close(events) }
            rmdir(path)
            return nil
        }
        self.path = path
    }

    /// Whether any process is in it or in a cgroup below it.
    var isPopulated: Bool {
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { pread(events, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        return Self.populated(in: buffer[..<count])
    }

    /// Reads `populated N` out of a `cgroup.events` text.
    static func populated(in text: some Collection<UInt8>) -> Bool {
        for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("populated ".utf8)) {
            return Array(line).last != UInt8(ascii: "0")
        }
        return false
    }

    /// The processes in it and in every cgroup below it (a flowlua run by a
    /// step makes its own there).
    func members() -> [pid_t] {
        var pids: [pid_t] = []
        var folders = [path]
        while let folder = folders.popLast() {
            if let text = try? String(contentsOfFile: folder + "/cgroup.procs", encoding: .utf8) {
                pids += text.split(separator: "\n").compactMap { pid_t($0) }
            }
            folders += Self.subgroups(of: folder)
        }
        return pids
    }

    /// Kills every process in it and below it at once (`cgroup.kill`,
    /// Linux 5.14); false where the kernel has no such file.
    func kill() -> Bool {
        let fd = open(path + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "1", 1) == 1
    }

    /// Removes the folder, and the empty cgroups below it; false if a
    /// process is still inside.
    @discardableResult
    func remove() -> Bool {
        close(procs)
        close(events)
        return Self.remove(path)
    }

    static func remove(_ folder: String) -> Bool {
        for sub in subgroups(of: folder) { _ = remove(sub) }
        return rmdir(folder) == 0 || errno == ENOENT
    }

    static func subgroups(of folder: String) -> [String] {
        (FolderListing.names(in: folder, types: [Int32(DT_DIR)]) ?? []).map { folder + "/" + $0 }
    }

    // MARK: The pool

    private enum Availability {
        case unknown
        case on(CgroupPool)
        case off
    }
    private static let availability = Mutex<Availability>(.unknown)

    /// The pool, made the first time it is asked for; nil where this
    /// machine or user cannot make cgroups, or after `disable()`.
    static var pool: CgroupPool? {
        availability.withLock { state in
            switch state {
            case .on(let pool): return pool
            case .off: return nil
            case .unknown:
                let pool = ProcessInfo.processInfo.environment["FLOWLUA_PROCESS_TRACKING"] == "subreaper"
                    ? nil : CgroupPool.make()
                state = pool.map { .on($0) } ?? .off
                return pool
            }
        }
    }

    /// No more cgroups: a child could not move into one.
    static func disable() {
        availability.withLock { $0 = .off }
    }
}

/// The cgroups of one flowlua process, reused one tree after another.
final class CgroupPool: Sendable {
    let root: String
    private let state = Mutex<(free: [Cgroup], made: Int)>(([], 0))

    private init(root: String) { self.root = root }

    /// The pool under flowlua's own cgroup, or nil if none can be made here.
    static func make() -> CgroupPool? {
        guard let parent = ownCgroup() else { return nil }
        sweepStale(in: parent)
        let root = parent + "/flowlua-\(getpid())"
        guard mkdir(root, 0o755) == 0 || errno == EEXIST else { return nil }
        let pool = CgroupPool(root: root)
        shared.withLock { $0 = pool }
        atexit { CgroupPool.shared.withLock { $0 }?.removeAll() }
        return pool
    }

    private static let shared = Mutex<CgroupPool?>(nil)

    func acquire() -> Cgroup? {
        let (reused, n): (Cgroup?, Int) = state.withLock { state in
            if let cgroup = state.free.popLast() { return (cgroup, 0) }
            state.made += 1
            return (nil, state.made)
        }
        return reused ?? Cgroup(path: "\(root)/t\(n)")
    }

    /// Takes back an empty cgroup; one that still holds processes (stuck in
    /// the kernel past SIGKILL) is left aside.
    func release(_ cgroup: Cgroup) {
        guard !cgroup.isPopulated else { return }
        state.withLock { $0.free.append(cgroup) }
    }

    /// At exit: every empty cgroup of the pool, and its folder.
    func removeAll() {
        let free = state.withLock { state in
            defer { state.free = [] }
            return state.free
        }
        for cgroup in free { cgroup.remove() }
        _ = Cgroup.remove(root)
    }

    /// The folder of flowlua's own cgroup in the v2 hierarchy, if this
    /// process may make cgroups below it.
    static func ownCgroup() -> String? {
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8),
              let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
        else { return nil }
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE ..."
        let mount = mountinfo.split(separator: "\n").lazy.compactMap { line -> String? in
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { return nil }
            let fields = halves[0].split(separator: " ")
            return fields.count > 4 && fields[3] == "/" ? String(fields[4]) : nil
        }.first
        guard let mount, let line = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = String(line.dropFirst(3))
        let folder = path == "/" ? mount : mount + path
        return access(folder, W_OK) == 0 ? folder : nil
    }

    /// The pools of flowlua processes that died without removing them: what
    /// their steps left running is killed, and the folders removed.
    static func sweepStale(in parent: String) {
        for folder in Cgroup.subgroups(of: parent) {
            let name = folder.split(separator: "/").last ?? ""
            guard name.hasPrefix("flowlua-"), let pid = pid_t(name.dropFirst(8)), pid != getpid(),
                  kill(pid, 0) != 0 && errno == ESRCH
            else { continue }
            for tree in Cgroup.subgroups(of: folder) {
                let fd = open(tree + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
                if fd >= 0 {
                    _ = write(fd, "1", 1)
                    close(fd)
                }
            }
            // SIGKILL is prompt; a cgroup not empty yet is removed by a later flowlua.
            for _ in 0..<50 where !Cgroup.remove(folder) { usleep(2_000) }
        }
    }
}
