import Foundation

/// Descriptors flowlua cannot work without, and the message when the
/// process has run out of them.
public enum Descriptor {
    /// The fewest open files flowlua starts with: its own (the run
    /// database, epoll sets, eventfds) and a step's pipes and logs. Below
    /// this, libdispatch's own monitor traps when it cannot open `/proc`.
    public static let fewest: rlim_t = 64

    /// Makes sure the process may open `fewest` files, raising its soft
    /// limit as far as the hard one allows; the message to exit with when
    /// it cannot. Children inherit the raised limit, only ever from below
    /// `fewest` to `fewest`.
    public static func allowFewest() -> String? {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < fewest else { return nil }
        if limit.rlim_max >= fewest {
            var raised = limit
            raised.rlim_cur = fewest
            if setrlimit(resource, &raised) == 0 { return nil }
        }
        let hard = limit.rlim_max > limit.rlim_cur ? " (hard limit \(limit.rlim_max))" : ""
        return "ulimit -n is \(limit.rlim_cur)\(hard); flowlua needs at least \(fewest) open files"
    }

    /// `fd`, or — when it is -1 — a message naming `what` failed and why,
    /// then exit 1: an executor without its epoll set or eventfd would wait
    /// for ever. Called only while flowlua sets itself up.
    static func required(_ fd: Int32, _ what: String) -> Int32 {
        guard fd < 0 else { return fd }
        FileHandle.standardError.write(Data("flowlua: error: cannot \(what): \(reason(errno))\n".utf8))
        exit(1)
    }

    /// Exits as `required` does when a set-up call returned -1.
    static func check(_ result: Int32, _ what: String) {
        _ = required(result < 0 ? -1 : 0, what)
    }

    /// `strerror`, with the descriptor limit when that is what ran out.
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard code == EMFILE || code == ENFILE else { return text }
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return text }
        return "\(text) (ulimit -n is \(limit.rlim_cur))"
    }
}

extension POSIXError {
    /// What went wrong, as `strerror` says it (`description` is Foundation's
    /// dump of an NSError).
    var reason: String { Descriptor.reason(code.rawValue) }
}
