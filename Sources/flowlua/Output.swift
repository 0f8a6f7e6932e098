import FlowModel
import FlowStore
import Foundation

/// How the controller commands print: aligned columns for people, JSON for
/// programs.
enum Output {
    /// Rows as columns padded to their widest cell (the last one unpadded).
    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// `2026-11-23 18:30:05`, local time.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    static func duration(_ seconds: TimeInterval?) -> String {
        seconds.map(Progress.format) ?? "-"
    }
}

/// A run's state and steps, as `flowlua status --json` prints it.
struct RunStatus: Encodable {
    var run: StoredRun
    var duration: TimeInterval?
    var steps: [StoredStep]
}
