import Foundation

/// What /proc/<pid>/stat says of a process: its command name, state and
/// parent (Linux).
public struct ProcessStatus: Sendable {
    public var name: String
    /// One letter: R, S, D, Z (a zombie), ...
    public var state: Character
    public var parent: pid_t

    /// Nil when the process is gone or the file cannot be read.
    public init?(_ pid: pid_t) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid ...": the name may hold spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let state = fields[0].first, let parent = pid_t(fields[1]) else { return nil }
        name = String(stat[stat.index(after: open)..<close])
        self.state = state
        self.parent = parent
    }
}
