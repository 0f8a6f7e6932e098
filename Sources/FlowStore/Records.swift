import FlowModel
import Foundation
import GRDB

// The rows of the run database. Times are seconds since 1970.

struct RunRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "run"
    var id: String
    var workflow: String
    /// The script's absolute path.
    var script: String
    /// Where flowlua was started: relative file parameters resolve from here.
    var workingDirectory: String
    /// JSON: the `-p` assignments and the `--params` file, as given.
    var arguments: String
    /// JSON: `RunSettings`.
    var options: String
    var folder: String
    var status: String
    var message: String?
    var createdAt: Double
    var startedAt: Double?
    var finishedAt: Double?
    /// The process running the workflow.
    var pid: Int32?
    var heartbeatAt: Double?
    /// JSON: the run variables.
    var vars: String
    var stepCount: Int
}

struct StepRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "step"
    var runId: String
    var position: Int
    var name: String
    var kind: String
    var status: String
    var attempts: Int
    var startedAt: Double?
    var finishedAt: Double?
    var exitCode: Int32?
    var message: String?
    var fromCache: Bool
    var remoteId: String?
}

/// A run's step list: the steps that have no row yet are pending.
struct PlanRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "plan"
    var runId: String
    /// JSON: `[[name, kind], ...]`, in declaration order.
    var steps: String

    var list: [(name: String, kind: String)] {
        (decodeJSON([[String]].self, steps) ?? []).map { ($0.first ?? "", $0.count > 1 ? $0[1] : "") }
    }
}

struct TransitionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "transition"
    var id: Int64?
    var runId: String
    /// nil for the run itself.
    var position: Int?
    var status: String
    var at: Double
    var message: String?
}

struct CacheRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "cache"
    /// The SHA-256 digest (`CacheKey.bytes` of the hex key).
    var key: Data
    var runId: String
    var step: String
    /// The run folder holding the outputs.
    var folder: String
    /// JSON: `[CachedFile]`.
    var outputs: String
    /// JSON: the run variables the step set (`[String: Value?]`).
    var changes: String
    var createdAt: Double
}

struct FileHashRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "fileHash"
    var path: String
    var device: Int64
    var inode: Int64
    var size: Int64
    var modifiedAt: Int64
    var hash: String
}

extension JSONEncoder {
    static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}

func json<T: Encodable>(_ value: T) -> String {
    (try? String(decoding: JSONEncoder.sorted.encode(value), as: UTF8.self)) ?? "null"
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
    try? JSONDecoder().decode(type, from: Data(text.utf8))
}

/// Cache keys are hex SHA-256 digests in Swift and 32-byte blobs in the
/// database: a smaller index, whose pages are the only ones a new entry
/// lands on at random.
enum CacheKey {
    static func bytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let nibble: UInt8 = switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: 0
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    static func hex(_ data: Data) -> String {
        ContentHasher.hex(data)
    }
}
