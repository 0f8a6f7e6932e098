import FlowEngine
import FlowModel
import Foundation
import GRDB

/// Writes one run's events to the database, off the driver's path.
///
/// Events queue up under a lock; a thread of its own wakes every 25 ms (or
/// when many have queued) and writes them all in one transaction, so a
/// no-op step costs the driver an append, and a crash loses at most the
/// last 25 ms of events. The same thread beats a heartbeat every two
/// seconds, which tells other processes that the run's process is alive.
public final class RunRecorder: @unchecked Sendable {
    // `events`, `entries`, `closed`, `written` and `failure` are guarded by
    // `condition`.
    private let store: RunStore
    public let runID: String
    private let condition = NSCondition()
    private var events: [(RunEvent, Double)] = []
    private var entries: [Remembered] = []
    private var closed = false
    private var written = 0
    /// The last write error; cleared by a write that succeeds.
    private var failure: String?
    /// Closed, and the last tries failed too: what is queued is lost.
    private var gaveUp = false
    private var enqueued = 0
    /// Entries whose outputs are being hashed, to be queued when they are;
    /// and whether they are to be dropped instead (a canceled run).
    private var hashing = 0
    private var dropsHashing = false
    /// Hashes entries' outputs, which may be gigabytes: on a queue of its
    /// own, so that meanwhile events are written and the heartbeat beats.
    private let outputHashing = DispatchQueue(label: "flowlua.recorder.outputs", qos: .utility)
    // Only the writer's thread touches these.
    /// The run's steps, for the rows of steps that change for the first time
    /// (read from the database at the first write when not given).
    private var steps: [(name: String, kind: String)]?
    /// The positions of the steps that have a row (see `writeSteps`), read
    /// at the first write: a restarted run keeps the rows of its successes.
    private var rowed: Set<Int>?
    /// Rows the transaction being written inserts (in `rowed` already):
    /// taken out again if it fails.
    private var inserting: [Int] = []
    /// The transition of a step that added steps as it ran.
    public static let added = "added steps"
    static let heartbeatInterval: TimeInterval = 2
    /// How long events may wait to be written.
    static let flushInterval: TimeInterval = 0.025
    /// Events that wake the writer at once, however recent.
    static let batchSize = 256
    /// After a failed write, how long until the next try (a full disk may
    /// get space back), and how many tries a closed recorder makes.
    static let retryInterval: TimeInterval = 0.25
    static let lastTries = 3
    /// Hashes files for the cache: the outputs of entries before they are
    /// written, and (through `RunCache`) the inputs of steps.
    let hasher: ContentHasher

    /// A step result for the cache, as queued.
    private struct Remembered {
        var entry: CacheEntry
        /// Works out the entry's key (its bytes) when it has none yet.
        var key: (@Sendable () -> [UInt8])?
        var at: Double
    }

    init(store: RunStore, runID: String, steps: [(name: String, kind: String)]?) {
        self.store = store
        self.runID = runID
        self.steps = steps
        hasher = ContentHasher(store: store)
        let thread = Thread { [self] in
            ThreadName.set("flowlua.recorder")
            loop()
        }
        thread.name = "flowlua.recorder"
        thread.start()
    }

    /// Queues an event of the run (any thread; returns at once).
    public func record(_ event: RunEvent) {
        condition.lock()
        events.append((event, RunStore.now))
        queued()
    }

    /// Queues a step result for the cache (its outputs are hashed off the
    /// caller's thread; its key too, when `key` is given).
    public func remember(_ entry: CacheEntry, key: (@Sendable () -> [UInt8])? = nil) {
        condition.lock()
        entries.append(Remembered(entry: entry, key: key, at: RunStore.now))
        queued()
    }

    /// Hashes an entry's large outputs on the output queue, and queues the
    /// entry again once they are (counted as queued, not yet written).
    private func hashLater(_ remembered: Remembered, _ paths: [String]) {
        condition.lock()
        hashing += 1
        condition.unlock()
        outputHashing.async { [self] in
            var remembered = remembered
            remembered.entry.outputs = Self.hashed(remembered.entry.outputs, hasher.hashes(paths))
            condition.lock()
            guard !dropsHashing else { return condition.unlock() }  // counted out by `finish`
            hashing -= 1
            entries.append(remembered)
            wake()
        }
    }

    /// Waits until everything queued is written, and stops the thread.
    ///
    /// - Parameter waitingForOutputs: false for a canceled run, which must
    ///   end at once: results whose outputs are still being hashed are not
    ///   kept for the cache (a later `--resume` runs their steps again).
    /// - Returns: why some of it could not be written (after the last
    ///   tries), or nil when all of it was.
    @discardableResult
    public func finish(waitingForOutputs: Bool = true) -> String? {
        condition.lock()
        if !waitingForOutputs, hashing > 0 {
            dropsHashing = true
            enqueued -= hashing
            hashing = 0
        }
        closed = true
        condition.broadcast()
        while written < enqueued && !gaveUp { condition.wait() }
        let failure = gaveUp ? self.failure : nil
        condition.unlock()
        return failure
    }

    private static func hashed(_ outputs: [CachedFile], _ hashes: [String?]) -> [CachedFile] {
        zip(outputs, hashes).map { CachedFile(path: $0.path, hash: $1 ?? "missing") }
    }

    /// Counts what was just queued, under the lock, and lets go of it.
    private func queued() {
        enqueued += 1
        wake()
    }

    /// Wakes the writer for what was just queued, and lets go of the lock.
    private func wake() {
        let count = events.count + entries.count
        // The first item starts the writer's flush window; a full batch ends it.
        if count == 1 || count >= Self.batchSize || closed { condition.signal() }
        condition.unlock()
    }

    private func loop() {
        // Behind the steps and the threads driving them: on a machine with
        // few cores, writing the record must not take a core from them.
        ThreadPriority.lowest()
        var lastBeat = RunStore.now
        var events: [(RunEvent, Double)] = []
        var entries: [Remembered] = []
        var keys: [[UInt8]] = []
        var triesSinceClosed = 0
        while true {
            condition.lock()
            // With nothing queued, sleep until something comes (or the next
            // heartbeat); then give the batch a flush interval to fill (or,
            // after a failure, the retry interval).
            var count: Int { self.events.count + self.entries.count }
            while count == 0 && (!closed || hashing > 0) {
                if !condition.wait(until: Date(timeIntervalSince1970: lastBeat + Self.heartbeatInterval)) { break }
            }
            let deadline = Date(timeIntervalSinceNow: failure == nil ? Self.flushInterval : Self.retryInterval)
            while count > 0 && (count < Self.batchSize || failure != nil) && !closed {
                if !condition.wait(until: deadline) { break }
            }
            // Swapped, not copied: the queues keep the buffers of the last batch.
            swap(&events, &self.events)
            swap(&entries, &self.entries)
            var taken = events.count + entries.count
            let done = closed && taken == 0 && hashing == 0
            condition.unlock()
            if done { return }
            let now = RunStore.now
            let beat = now - lastBeat >= Self.heartbeatInterval
            if beat { lastBeat = now }
            // Output hashes and keys before taking the write lock, worked out
            // in place (an entry is a dozen references: copies cost); large
            // outputs on the output queue, so that events go on being written.
            keys.removeAll(keepingCapacity: true)
            var later = 0
            for i in entries.indices {
                let outputs = entries[i].entry.outputs
                if !outputs.isEmpty, outputs.allSatisfy({ $0.hash.isEmpty }) {
                    let paths = outputs.map { RunCache.path(of: $0.path, in: entries[i].entry.folder) }
                    guard FileSizes.areSmall(paths) else {
                        hashLater(entries[i], paths)
                        later += 1
                        continue
                    }
                    entries[i].entry.outputs = Self.hashed(outputs, hasher.hashes(paths))
                }
                if later > 0 { entries[i - later] = entries[i] }
                keys.append(entries[i].entry.key.isEmpty ? entries[i].key?() ?? [] : CacheKey.bytes(entries[i].entry.key))
            }
            entries.removeLast(later)
            taken -= later  // counted when they come back, hashed
            let hashes = hasher.takeFresh()
            var problem: String?
            inserting.removeAll(keepingCapacity: true)
            do {
                try store.write { db in
                    // A transaction tried again starts over.
                    rowed?.subtract(inserting)
                    inserting.removeAll(keepingCapacity: true)
                    if beat { try db.cachedStatement(sql: "UPDATE run SET heartbeatAt = ? WHERE id = ?").execute(arguments: [now, runID]) }
                    try write(events, in: db)
                    try writeCache(entries, keys: keys, in: db)
                    try Self.remember(hashes, in: db)
                }
            } catch {
                rowed?.subtract(inserting)
                problem = "\(error)"
            }
            condition.lock()
            if let problem {
                // Kept, in order, before what came since: a transaction that
                // failed changed nothing, so writing them again is exact.
                failure = problem
                if closed { triesSinceClosed += 1 }
                if triesSinceClosed >= Self.lastTries {
                    gaveUp = true
                    written += taken
                } else {
                    self.events.insert(contentsOf: events, at: 0)
                    self.entries.insert(contentsOf: entries, at: 0)
                    if closed {
                        condition.unlock()
                        Thread.sleep(forTimeInterval: Self.retryInterval)
                        condition.lock()
                    }
                }
            } else {
                failure = nil
                written += taken
            }
            events.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
            condition.broadcast()
            condition.unlock()
            if gaveUp { return }
        }
    }

    /// What a batch changes in one step's row: written once, however many
    /// events touched the step.
    private struct StepChange {
        var status: String?
        var attempts: Int?
        var startedAt: Double?
        var finishedAt: Double?
        var clearsEnd = false
        var exitCode: Int32?
        var message: String??
        var fromCache: Bool?
        var remoteID: String?

        // Changed in place in a batch's dictionary: one lookup, no copy.
        mutating func started(attempt: Int, at time: Double) {
            status = Status.running.rawValue
            attempts = attempt
            if attempt == 1 { startedAt = time }
            finishedAt = nil
            clearsEnd = true
            exitCode = nil
            message = .some(nil)
            fromCache = false
        }

        mutating func finished(as final: Status, _ result: ExecResult, at time: Double) {
            status = final.rawValue
            finishedAt = time
            clearsEnd = false
            exitCode = result.exitCode
            message = .some(final == .success ? nil : result.error)
        }

        mutating func cached(from run: String, at time: Double) {
            status = Status.success.rawValue
            startedAt = time
            finishedAt = time
            exitCode = 0
            message = .some("from the cache (run \(run))")
            fromCache = true
        }

        mutating func notRun(as final: Status, _ reason: String, at time: Double) {
            status = final.rawValue
            finishedAt = time
            message = .some(reason)
        }
    }

    /// Writes a batch: run-level events and unusual step changes as they
    /// come (with a transition row each), and one update per step for the
    /// rest. A step's ordinary changes (it started, it succeeded) are kept in
    /// its row's times rather than as transition rows: a code step is then
    /// one statement, not seven.
    private func write(_ events: [(RunEvent, Double)], in db: Database) throws {
        var steps: [Int: StepChange] = [:]
        steps.reserveCapacity(events.count / 2)
        // Only the last list of run variables in a batch needs writing.
        let lastVars = events.lastIndex { if case .varsChanged = $0.0 { true } else { false } }
        func execute(_ sql: String, _ arguments: StatementArguments) throws {
            try db.cachedStatement(sql: sql).execute(arguments: arguments)
        }
        func transition(_ position: Int?, _ status: String, _ message: String?, at: Double) throws {
            try execute("INSERT INTO transition (runId, position, status, at, message) VALUES (?, ?, ?, ?, ?)",
                        [runID, position, status, at, message])
        }
        for (position, (event, at)) in events.enumerated() {
            switch event {
            case .runStarted:
                try execute("""
                    UPDATE run SET status = ?, startedAt = COALESCE(startedAt, ?), finishedAt = NULL, message = NULL,
                      pid = ?, heartbeatAt = ? WHERE id = ?
                    """, [Status.running.rawValue, at, getpid(), at, runID])
                try transition(nil, Status.running.rawValue, nil, at: at)
            case .stepStarted(_, let index, let attempt):
                steps[index, default: StepChange()].started(attempt: attempt, at: at)
                if attempt > 1 { try transition(index, Status.running.rawValue, "attempt \(attempt)", at: at) }
            case .stepRetrying(_, let index, let attempt, let delay, let result):
                try transition(index, "retrying", "attempt \(attempt) failed (\(result.error ?? "exit \(result.exitCode ?? -1)")); "
                    + "again in \(delay)s", at: at)
            case .stepSubmitted(_, let index, let remoteID):
                steps[index, default: StepChange()].remoteID = remoteID
                try transition(index, "submitted", "job \(remoteID)", at: at)
            case .stepFinished(_, let index, let status, _, let result):
                steps[index, default: StepChange()].finished(as: status, result, at: at)
                if status != .success { try transition(index, status.rawValue, result.error, at: at) }
            case .stepCached(_, let index, let from):
                steps[index, default: StepChange()].cached(from: from, at: at)
                try transition(index, Status.success.rawValue, "from the cache (run \(from))", at: at)
            case .stepNotRun(_, let index, let status, let reason):
                steps[index, default: StepChange()].notRun(as: status, reason, at: at)
                try transition(index, status.rawValue, reason, at: at)
            case .varsChanged(let vars):
                guard position == lastVars else { continue }
                try execute("UPDATE run SET vars = ? WHERE id = ?", [json(vars), runID])
            case .stepsAdded(_, let index, let added):
                // The run's list of steps grows; a restart runs the generator again.
                if self.steps == nil { self.steps = try PlanRow.fetchOne(db, key: runID)?.list ?? [] }
                self.steps?.append(contentsOf: added.map { ($0.name, $0.kind) })
                let list = self.steps ?? []
                try execute("UPDATE plan SET steps = ? WHERE runId = ?", [JSONText.steps(list), runID])
                try execute("UPDATE run SET stepCount = ? WHERE id = ?", [list.count, runID])
                try transition(index, Self.added, "added \(added.count) step\(added.count == 1 ? "" : "s")", at: at)
            case .callbackFailed(let name, let error):
                try transition(nil, "callback failed", "\(name): \(error)", at: at)
            case .runCanceling:
                try transition(nil, "canceling", nil, at: at)
            case .runFinished(let status, _, let message):
                // Steps first: the run's end comes after theirs.
                try writeSteps(steps, in: db)
                steps.removeAll()
                try execute("UPDATE run SET status = ?, finishedAt = ?, message = ?, heartbeatAt = ? WHERE id = ?",
                            [status.rawValue, at, message, at, runID])
                try transition(nil, status.rawValue, message, at: at)
            }
        }
        try writeSteps(steps, in: db)
    }

    /// Writes a batch's step changes: a step's first change inserts its row
    /// (the steps of a run of short steps start and end in one batch: one
    /// row written once), later ones update it.
    private func writeSteps(_ changes: [Int: StepChange], in db: Database) throws {
        guard !changes.isEmpty else { return }
        if rowed == nil {
            rowed = Set(try Int.fetchAll(db, sql: "SELECT position FROM step WHERE runId = ?", arguments: [runID]))
        }
        // In row order: neighbouring steps share pages.
        var fresh: [(key: Int, value: StepChange)] = []
        var changed: [(key: Int, value: StepChange)] = []
        for change in changes.sorted(by: { $0.key < $1.key }) {
            if rowed?.insert(change.key).inserted == true {
                fresh.append(change)
                inserting.append(change.key)
            } else {
                changed.append(change)
            }
        }
        if !fresh.isEmpty {
            if steps == nil { steps = try PlanRow.fetchOne(db, key: runID)?.list ?? [] }
            try insertSteps(fresh, in: db)
        }
        try updateSteps(changed, in: db)
    }

    /// The content hashes worked out since the last batch, for later runs.
    private static func remember(_ hashes: [FileHashRow], in db: Database) throws {
        try BoundStatement.inChunks(hashes.count, of: 64, in: db, sql: { n in
            "INSERT OR REPLACE INTO fileHash (path, device, inode, size, modifiedAt, hash) VALUES "
                + BoundStatement.values("(?, ?, ?, ?, ?, ?)", n)
        }, row: { statement, i in
            let row = hashes[i]
            statement.bind(row.path)
            statement.bind(row.device)
            statement.bind(row.inode)
            statement.bind(row.size)
            statement.bind(row.modifiedAt)
            statement.bind(row.hash)
        })
    }

    private func insertSteps(_ changes: [(key: Int, value: StepChange)], in db: Database) throws {
        let steps = steps ?? []
        try BoundStatement.inChunks(changes.count, of: 64, in: db, sql: { n in
            "INSERT OR REPLACE INTO step (runId, position, name, kind, status, attempts, startedAt, finishedAt, exitCode,"
                + " message, fromCache, remoteId) VALUES " + BoundStatement.values("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n)
        }, row: { statement, i in
            let (position, change) = changes[i]
            let step = position < steps.count ? steps[position] : (name: "", kind: "")
            statement.bind(runID)
            statement.bind(position)
            statement.bind(step.name)
            statement.bind(step.kind)
            statement.bind(change.status ?? Status.pending.rawValue)
            statement.bind(change.attempts ?? 0)
            statement.bind(change.startedAt)
            statement.bind(change.clearsEnd ? nil : change.finishedAt)
            statement.bind(change.exitCode)
            statement.bind(change.message ?? nil)
            statement.bind(change.fromCache ?? false)
            statement.bind(change.remoteID)
        })
    }

    private func updateSteps(_ changes: [(key: Int, value: StepChange)], in db: Database) throws {
        try BoundStatement.inChunks(changes.count, of: 64, in: db, sql: { n in
            """
            UPDATE step SET
              status = COALESCE(v.column2, status), attempts = COALESCE(v.column3, attempts),
              startedAt = COALESCE(v.column4, startedAt),
              finishedAt = CASE WHEN v.column5 THEN NULL ELSE COALESCE(v.column6, finishedAt) END,
              exitCode = CASE WHEN v.column7 THEN v.column8 ELSE exitCode END,
              message = CASE WHEN v.column9 THEN v.column10 ELSE message END,
              fromCache = COALESCE(v.column11, fromCache), remoteId = COALESCE(v.column12, remoteId)
            FROM (VALUES \(BoundStatement.values("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n))) AS v
            WHERE runId = ? AND position = v.column1
            """
        }, row: { statement, i in
            let (position, change) = changes[i]
            statement.bind(position)
            statement.bind(change.status)
            statement.bind(change.attempts)
            statement.bind(change.startedAt)
            statement.bind(change.clearsEnd)
            statement.bind(change.finishedAt)
            statement.bind(change.status != nil)
            statement.bind(change.exitCode)
            statement.bind(change.message != nil)
            statement.bind(change.message ?? nil)
            statement.bind(change.fromCache)
            statement.bind(change.remoteID)
        }, rest: { $0.bind(runID) })
    }

    /// An entry whose key is known already (the same step run again) is
    /// updated where it is: its row and index entry stay, so a run that
    /// repeats an earlier one writes the cache's pages in order rather than
    /// the key index's at random.
    private func writeCache(_ entries: [Remembered], keys: [[UInt8]], in db: Database) throws {
        try BoundStatement.inChunks(entries.count, of: 64, in: db, sql: { n in
            "INSERT INTO cache (key, runId, step, folder, outputs, changes, createdAt) VALUES "
                + BoundStatement.values("(?, ?, ?, ?, ?, ?, ?)", n)
                + " ON CONFLICT (key) DO UPDATE SET runId = excluded.runId, step = excluded.step, folder = excluded.folder,"
                + " outputs = excluded.outputs, changes = excluded.changes, createdAt = excluded.createdAt"
        }, row: { statement, i in
            statement.bind(keys[i])
            statement.bind(entries[i].entry.runID)
            statement.bind(entries[i].entry.step)
            statement.bind(entries[i].entry.folder)
            statement.bind(JSONText.files(entries[i].entry.outputs))
            statement.bind(JSONText.changes(entries[i].entry.changes))
            statement.bind(entries[i].at)
        })
    }
}
