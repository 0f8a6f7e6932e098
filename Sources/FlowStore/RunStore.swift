import FlowEngine
import FlowModel
import Foundation
import GRDB

/// The run database: every run and step, their state changes, and the cache
/// of step results that `--resume` reuses.
///
/// Shared by every flowlua process working in the same folder: one runs a
/// workflow and records it, others list, inspect, wait for or stop it.
public final class RunStore: Sendable {
    let pool: any DatabaseWriter
    public let path: String
    /// Opened as it was on the disk, for reading only (see `reading(at:)`).
    public let isReadOnly: Bool

    /// Opens (creating and migrating if need be) the database at `path`.
    public convenience init(path: String) throws {
        do {
            self.init(path: path, pool: try RunDatabase.open(at: path), readOnly: false)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("cannot open the run database \(path): \(Self.describe(error, path: path))")
        }
    }

    private init(path: String, pool: any DatabaseWriter, readOnly: Bool) {
        self.path = path
        self.pool = pool
        self.isReadOnly = readOnly
    }

    /// Opens the database at `path` for commands that only read it. On a
    /// full disk, where SQLite cannot make the files it shares between
    /// processes, it reads the database file as it is: runs in progress
    /// keep those files open, so nothing they recorded is missed.
    public static func reading(at path: String) throws -> RunStore {
        do {
            return try RunStore(path: path)
        } catch where DiskSpace.isFull(at: path) {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.label = "flowlua.runs"
            let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
            do {
                return RunStore(path: path, pool: try DatabaseQueue(path: uri, configuration: configuration), readOnly: true)
            } catch {
                throw StoreError("cannot open the run database \(path): \(Self.describe(error, path: path))")
            }
        }
    }

    /// A database error as the user can act on it: a full disk says where.
    static func describe(_ error: any Error, path: String) -> String {
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR && DiskSpace.isFull(at: path) {
                return DiskSpace.noSpace(at: path)
            }
            return error.message ?? error.description
        }
        return "\(error)"
    }

    /// Where the database of a runs folder lives: `FLOWLUA_DB`, else
    /// `flowlua.db` beside the runs folder (`.flowlua/flowlua.db` for the
    /// default `.flowlua/runs`).
    public static func defaultPath(runsDirectory: URL,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["FLOWLUA_DB"], !path.isEmpty { return path }
        return runsDirectory.deletingLastPathComponent().appending(path: "flowlua.db").path
    }

    // MARK: Creating runs

    /// Records a new run, pending, with its steps (which get rows of their
    /// own as they change: see `steps(of:)`).
    public func create(_ run: StoredRun, steps: [(name: String, kind: String)]) throws {
        try write { db in
            try RunRow(run).insert(db)
            try PlanRow(runId: run.id, steps: JSONText.steps(steps)).insert(db)
            try TransitionRow(runId: run.id, position: nil, status: run.status.rawValue, at: Self.now, message: nil).insert(db)
        }
    }

    /// Rows for the steps of a run that have none, all in `status`.
    private static func insertMissingSteps(of runID: String, as status: Status, at time: Double, message: String,
                                           in db: Database) throws {
        guard let plan = try PlanRow.fetchOne(db, key: runID) else { return }
        let present = Set(try Int.fetchAll(db, sql: "SELECT position FROM step WHERE runId = ?", arguments: [runID]))
        let steps = plan.list
        let missing = steps.indices.filter { !present.contains($0) }
        try BoundStatement.inChunks(missing.count, of: 64, in: db, sql: { n in
            "INSERT INTO step (runId, position, name, kind, status, finishedAt, message) VALUES "
                + BoundStatement.values("(?, ?, ?, ?, ?, ?, ?)", n)
        }, row: { statement, i in
            let position = missing[i]
            statement.bind(runID)
            statement.bind(position)
            statement.bind(steps[position].name)
            statement.bind(steps[position].kind)
            statement.bind(status.rawValue)
            statement.bind(time)
            statement.bind(message)
        })
    }

    /// Records which process runs a run (a detached one).
    public func update(pid: Int32, of runID: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE run SET pid = ?, heartbeatAt = ? WHERE id = ?", arguments: [pid, Self.now, runID])
        }
    }

    /// Ends a run that no process runs (stopped before it started, or
    /// interrupted): it and its unfinished steps take `status`.
    public func finish(_ runID: String, as status: Status, message: String) throws {
        let now = Self.now
        try write { db in
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, message = ? WHERE id = ?",
                           arguments: [status.rawValue, now, message, runID])
            try db.execute(sql: "UPDATE step SET status = ?, finishedAt = ?, message = ? WHERE runId = ? AND status IN (?, ?)",
                           arguments: [status.rawValue, now, message, runID, Status.pending.rawValue, Status.running.rawValue])
            try Self.insertMissingSteps(of: runID, as: status, at: now, message: message, in: db)
            try TransitionRow(runId: runID, position: nil, status: status.rawValue, at: now, message: message).insert(db)
        }
    }

    /// Gets a finished run ready to run again in its own folder, as its
    /// script now declares it (`steps`: a script fixed for the restart may
    /// have added, removed or moved steps). The steps that succeeded keep
    /// their rows, moved to where the script now has them; the others lose
    /// theirs and are pending; the run is pending with this process as its
    /// owner. Returns the names of the steps that succeeded and are still
    /// declared, which do not run again.
    public func prepareRestart(_ runID: String, steps: [(name: String, kind: String)]) throws -> Set<String> {
        let now = Self.now
        return try write { db in
            let succeeded = try StepRow.filter(Column("runId") == runID && Column("status") == Status.success.rawValue)
                .fetchAll(db)
            try db.execute(sql: "DELETE FROM step WHERE runId = ?", arguments: [runID])
            let positions = Dictionary(steps.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
            var kept = Set<String>()
            for var row in succeeded {
                guard let position = positions[row.name] else { continue }
                row.position = position
                try row.insert(db)
                kept.insert(row.name)
            }
            try PlanRow(runId: runID, steps: JSONText.steps(steps)).save(db)
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = NULL, message = NULL, pid = ?, heartbeatAt = ?, stepCount = ? WHERE id = ?",
                           arguments: [Status.pending.rawValue, getpid(), now, steps.count, runID])
            try TransitionRow(runId: runID, position: nil, status: "restarted", at: now, message: nil).insert(db)
            return kept
        }
    }

    /// A recorder that writes a run's events as the driver reports them.
    /// - Parameter steps: the run's steps, as given to `create` (read from
    ///   the database when nil).
    public func recorder(for runID: String, steps: [(name: String, kind: String)]? = nil) -> RunRecorder {
        RunRecorder(store: self, runID: runID, steps: steps)
    }

    // MARK: Reading runs

    /// Every run, newest first. Runs whose process died are marked
    /// interrupted first.
    public func runs() throws -> [StoredRun] {
        try markInterrupted()
        return try pool.read { db in
            try RunRow.order(Column("createdAt").desc, Column("id").desc).fetchAll(db).map(StoredRun.init)
        }
    }

    /// The run whose id is `prefix` or the only one starting with it, as git
    /// accepts a unique prefix of a commit.
    public func run(_ prefix: String) throws -> StoredRun {
        // An empty prefix would match every run, and pick the only one.
        guard !prefix.trimmingCharacters(in: .whitespaces).isEmpty else { throw StoreError("an empty run id names no run") }
        try markInterrupted()
        let matches = try pool.read { db in
            if let exact = try RunRow.fetchOne(db, key: prefix) { return [exact] }
            return try RunRow.filter(Column("id").like(Self.escape(prefix) + "%", escape: "\\")).limit(6).fetchAll(db)
        }
        switch matches.count {
        case 0: throw StoreError("no run '\(prefix)' (flowlua list shows them)")
        case 1: return StoredRun(matches[0])
        default:
            let ids = matches.prefix(5).map(\.id).joined(separator: ", ")
            throw StoreError("run id '\(prefix)' is ambiguous: \(ids)\(matches.count > 5 ? ", ..." : "")")
        }
    }

    /// The steps of a run, in declaration order: a step without a row of
    /// its own has not changed yet, and is pending.
    public func steps(of runID: String) throws -> [StoredStep] {
        try pool.read { db in
            let rows = try StepRow.filter(Column("runId") == runID).order(Column("position")).fetchAll(db)
            guard let plan = try PlanRow.fetchOne(db, key: runID) else { return rows.map(StoredStep.init) }
            var steps = plan.list.enumerated().map { position, step in
                StoredStep(position: position, name: step.name, kind: step.kind, status: .pending, attempts: 0,
                           fromCache: false)
            }
            for row in rows {
                if row.position < steps.count { steps[row.position] = StoredStep(row) } else { steps.append(StoredStep(row)) }
            }
            return steps
        }
    }

    /// The state changes of a run (and its steps), in order.
    public func transitions(of runID: String) throws -> [StoredTransition] {
        try pool.read { db in
            try TransitionRow.filter(Column("runId") == runID).order(Column("id")).fetchAll(db).map(StoredTransition.init)
        }
    }

    /// How long a run's heartbeat may be silent before its process counts as
    /// gone, even if a process with its pid exists (a reused pid).
    public static let heartbeatTimeout: TimeInterval = 10

    /// The same when the process with that pid is a flowlua: only a hang is
    /// that silent. (The heartbeat comes from the low-priority thread that
    /// also hashes outputs, which a busy machine may hold back for seconds.)
    public static let hangTimeout: TimeInterval = 600

    /// Marks interrupted every pending or running run whose process is gone
    /// (or silent for `heartbeatTimeout`), and its running steps: no run
    /// stays "running" forever after a kill -9 or a power loss.
    public func markInterrupted(now: Double = Date().timeIntervalSince1970) throws {
        guard !isReadOnly else { return }
        let live = try pool.read { db in
            try RunRow.filter([Status.pending.rawValue, Status.running.rawValue].contains(Column("status"))).fetchAll(db)
        }
        let dead = live.filter { run in
            guard let pid = run.pid else { return now - run.createdAt > Self.heartbeatTimeout }
            guard Self.isAlive(pid) else { return true }
            let timeout = Self.isFlowlua(pid) ? Self.hangTimeout : Self.heartbeatTimeout
            return now - (run.heartbeatAt ?? run.createdAt) > timeout
        }
        guard !dead.isEmpty else { return }
        try write { db in
            for run in dead {
                // Re-read under the write lock: the run may have ended meanwhile.
                guard var row = try RunRow.fetchOne(db, key: run.id),
                      row.status == Status.pending.rawValue || row.status == Status.running.rawValue
                else { continue }
                let message = "the flowlua process\(row.pid.map { " (pid \($0))" } ?? "") stopped without finishing the run"
                row.status = Status.interrupted.rawValue
                row.finishedAt = now
                row.message = message
                try row.update(db)
                try TransitionRow(runId: row.id, position: nil, status: row.status, at: now, message: message).insert(db)
                try db.execute(sql: "UPDATE step SET status = ?, finishedAt = ?, message = ? WHERE runId = ? AND status = ?",
                               arguments: [Status.interrupted.rawValue, now, "interrupted with the run", row.id,
                                           Status.running.rawValue])
            }
        }
    }

    // MARK: Deleting

    /// Forgets a run (its rows and cache entries; the caller removes its folder).
    public func delete(_ runID: String) throws {
        try write { db in
            // A scan of the cache: an index of entries by run cost every step
            // that ran again two more writes (Schema v5).
            _ = try CacheRow.filter(Column("runId") == runID).deleteAll(db)
            _ = try RunRow.deleteOne(db, key: runID)
        }
    }

    /// Finished runs created before `date`.
    public func finishedRuns(before date: Date) throws -> [StoredRun] {
        try runs().filter { $0.status.isFinished && $0.createdAt < date }
    }

    // MARK: The cache

    /// The result of an earlier successful step with this key.
    public func cached(_ key: String) throws -> CacheEntry? {
        try pool.read { db in
            try CacheRow.filter(Column("key") == Data(CacheKey.bytes(key))).fetchOne(db).map(CacheEntry.init)
        }
    }

    /// The cache entries for many keys at once (for a run about to start).
    public func cached(_ keys: [String]) throws -> [String: CacheEntry] {
        try pool.read { db in
            var found: [String: CacheEntry] = [:]
            for chunk in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0 ..< min($0 + 500, keys.count)]) }) {
                for row in try CacheRow.filter(chunk.map { Data(CacheKey.bytes($0)) }.contains(Column("key"))).fetchAll(db) {
                    let entry = CacheEntry(row)
                    found[entry.key] = entry
                }
            }
            return found
        }
    }

    func store(_ entry: CacheEntry, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO cache (key, runId, step, folder, outputs, changes, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [Data(CacheKey.bytes(entry.key)), entry.runID, entry.step, entry.folder, JSONText.files(entry.outputs),
                                     JSONText.changes(entry.changes), Self.now])
    }

    // MARK: Helpers

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError where isFull(error) && unlink(reservePath) == 0 {
            // The reserve given back, this write (the end of a run that
            // filled the disk, most likely) gets its room.
            do { return try pool.write(body) } catch let error as DatabaseError {
                throw StoreError("run database \(path): \(Self.describe(error, path: path))")
            }
        } catch let error as DatabaseError {
            throw StoreError("run database \(path): \(Self.describe(error, path: path))")
        }
    }

    private func isFull(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR && DiskSpace.isFull(at: path)
    }

    // MARK: Space for the record

    /// Space held beside the database, `<db>.reserve`, for the record of a
    /// run that fills the disk: a write that finds the disk full gives it
    /// back and tries again.
    static let reserveSize: off_t = 2 << 20

    var reservePath: String { path + ".reserve" }

    /// Makes the reserve if it is not there and there is room for it; a
    /// run calls this before it starts.
    public func reserveSpace() {
        let fd = Glibc.open(reservePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }  // there already, or no room
        let reserved = posix_fallocate(fd, 0, Self.reserveSize) == 0
        Glibc.close(fd)
        if !reserved { unlink(reservePath) }
    }

    /// A consistency check of the database file: "ok", or what is wrong.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    static var now: Double { Date().timeIntervalSince1970 }

    /// Whether a process exists and is not a zombie (an orphan nobody reaps
    /// stays a zombie where PID 1 does not reap, as on these machines).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return ProcessStatus(pid)?.state != "Z"
    }

    /// Whether process `pid` runs a program named flowlua.
    static func isFlowlua(_ pid: Int32) -> Bool {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "flowlua\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
