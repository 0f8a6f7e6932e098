import FlowModel
import Foundation

/// How much of a process's output flowlua keeps: a log file per stream
/// and attempt (1G, `FLOWLUA_LOG_LIMIT`), and each stream `flow.sh`
/// returns to Lua (64M). Past a limit the output is still read, so the
/// process never blocks, and dropped but for its last `tail` bytes; a line
/// says how much went.
public enum OutputLimit {
    /// The most one attempt writes to one log; nil for no limit.
    public static let log: Int64? = (try? read()) ?? (1 << 30)

    /// The most of each stream `flow.sh` returns.
    public static let captured: Int64 = 64 << 20

    /// How much of the end of dropped output is kept.
    public static let tail = 8 << 10

    /// The log limit `environment` sets (nil: none), or why it is wrong.
    public static func read(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(LimitError) -> Int64? {
        guard let text = environment["FLOWLUA_LOG_LIMIT"] else { return 1 << 30 }
        guard let bytes = ByteCount.parse(text), bytes <= UInt64(Int64.max) else {
            throw LimitError(description: "FLOWLUA_LOG_LIMIT: '\(text)' is not a size (say 100M, 4G, or 0 for no limit)")
        }
        return bytes == 0 ? nil : Int64(bytes)
    }

    public struct LimitError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The line that replaces what was dropped.
    static func note(dropped: Int64, limit: Int64, kept: Int) -> String {
        let tail = kept > 0 ? "; its last \(ByteCount.format(UInt64(kept))) follow" : ""
        return "\n[flowlua: \(dropped) bytes of output past the \(ByteCount.format(UInt64(limit))) limit were dropped\(tail)]\n"
    }
}
