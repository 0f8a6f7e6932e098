import Foundation
import GRDB

/// Opens the run database: SQLite in WAL mode, shared by every flowlua
/// process working in the same folder.
///
/// Writers wait for each other (a busy timeout; GRDB opens write
/// transactions IMMEDIATE), so many processes at once never fail with
/// "database is locked", soma-workflow's known weakness. Opening and
/// migrating happen under a file lock, because several processes may create
/// the database at the same moment.
enum RunDatabase {
    /// How long a writer waits for another before giving up.
    static let busyTimeout: TimeInterval = 60

    static func open(at path: String) throws -> DatabasePool {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = try FileLock(path + ".lock")
        defer { lock.release() }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "flowlua.runs"
        configuration.prepareDatabase { db in
            // Durable enough: a crash loses at most the last transactions,
            // never the database; a commit does not wait for the disk.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Checkpoints (each an fsync) every 4000 pages rather than 1000: a
            // run of many short steps writes often.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
        return pool
    }
}

/// An exclusive `flock` on a file, held until released.
struct FileLock {
    private let fd: Int32

    init(_ path: String) throws {
        fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError("cannot open \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let code = errno
                Glibc.close(fd)
                throw StoreError("cannot lock \(path): \(String(cString: strerror(code)))")
            }
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        Glibc.close(fd)
    }
}

/// A problem with the run database or a run it should hold.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
