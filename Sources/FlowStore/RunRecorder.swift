import FlowEngine
import FlowModel
import Foundation
import GRDB

/// Writes one run's events to the database, off the driver's path.
///
/// Events queue up under a lock; a thread of its own writes whatever has
/// queued in one transaction (a group commit), so a no-op step costs the
/// driver an append and the database a share of a transaction, and a crash
/// loses at most the transaction being written. The same thread beats a
/// heartbeat every two seconds, which tells other processes that the run's
/// process is alive.
public final class RunRecorder: @unchecked Sendable {
    // `queue`, `closed`, `written` and `failure` are guarded by `condition`.
    private let store: RunStore
    public let runID: String
    private let condition = NSCondition()
    private var queue: [(Operation, Double)] = []
    private var closed = false
    private var written = 0
    private var failure: String?
    private var enqueued = 0
    static let heartbeatInterval: TimeInterval = 2
    /// Hashes files for the cache: the outputs of entries before they are
    /// written, and (through `RunCache`) the inputs of steps.
    let hasher: ContentHasher

    enum Operation {
        case event(RunEvent)
        case cache(CacheEntry, position: Int)
        case heartbeat
    }

    init(store: RunStore, runID: String) {
        self.store = store
        self.runID = runID
        hasher = ContentHasher(store: store)
        let thread = Thread { [self] in loop() }
        thread.name = "flowlua.recorder"
        thread.start()
    }

    /// Queues an event of the run (any thread; returns at once).
    public func record(_ event: RunEvent) {
        enqueue(.event(event))
    }

    /// Queues a step result for the cache (its outputs are hashed on the
    /// recorder's thread), and marks the step's key.
    public func remember(_ entry: CacheEntry, position: Int) {
        enqueue(.cache(entry, position: position))
    }

    /// Waits until everything queued is written, and stops the thread.
    /// - Returns: the first write error, if any.
    @discardableResult
    public func finish() -> String? {
        condition.lock()
        closed = true
        condition.broadcast()
        while written < enqueued && failure == nil { condition.wait() }
        let failure = self.failure
        condition.unlock()
        return failure
    }

    private func enqueue(_ operation: Operation) {
        condition.lock()
        queue.append((operation, RunStore.now))
        enqueued += 1
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        var lastBeat = RunStore.now
        while true {
            condition.lock()
            while queue.isEmpty && !closed {
                if !condition.wait(until: Date(timeIntervalSince1970: lastBeat + Self.heartbeatInterval)) { break }
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let done = closed && batch.isEmpty
            condition.unlock()
            if done { return }
            let now = RunStore.now
            var work = batch
            if now - lastBeat >= Self.heartbeatInterval {
                work.append((.heartbeat, now))
                lastBeat = now
            }
            // Hash cache entries' outputs before taking the write lock.
            for (i, (operation, at)) in work.enumerated() {
                if case .cache(var entry, let position) = operation {
                    entry.outputs = entry.outputs.map { file in
                        let path = entry.folder + "/" + (file.path.hasSuffix("/") ? String(file.path.dropLast()) : file.path)
                        return CachedFile(path: file.path, hash: hasher.hash(path) ?? "missing")
                    }
                    work[i] = (.cache(entry, position: position), at)
                }
            }
            let hashes = hasher.takeFresh()
            var problem: String?
            do {
                try store.write { db in
                    for (operation, at) in work { try apply(operation, at: at, in: db) }
                    for row in hashes { try row.save(db) }
                }
            } catch {
                problem = "\(error)"
            }
            condition.lock()
            written += batch.count
            if let problem, failure == nil { failure = problem }
            condition.broadcast()
            condition.unlock()
        }
    }

    private func apply(_ operation: Operation, at: Double, in db: Database) throws {
        switch operation {
        case .heartbeat:
            try db.execute(sql: "UPDATE run SET heartbeatAt = ? WHERE id = ?", arguments: [at, runID])
        case .cache(let entry, let position):
            try store.store(entry, in: db)
            try db.execute(sql: "UPDATE step SET cacheKey = ? WHERE runId = ? AND position = ?",
                           arguments: [entry.key, runID, position])
        case .event(let event):
            try apply(event, at: at, in: db)
        }
    }

    private func apply(_ event: RunEvent, at: Double, in db: Database) throws {
        func transition(_ position: Int?, _ status: String, _ message: String? = nil) throws {
            try TransitionRow(runId: runID, position: position, status: status, at: at, message: message).insert(db)
        }
        switch event {
        case .runStarted:
            try db.execute(sql: """
                UPDATE run SET status = ?, startedAt = COALESCE(startedAt, ?), finishedAt = NULL, message = NULL,
                  pid = ?, heartbeatAt = ? WHERE id = ?
                """, arguments: [Status.running.rawValue, at, getpid(), at, runID])
            try transition(nil, Status.running.rawValue)
        case .stepStarted(_, let index, let attempt):
            try db.execute(sql: """
                UPDATE step SET status = ?, attempts = ?, startedAt = CASE WHEN ? = 1 THEN ? ELSE COALESCE(startedAt, ?) END,
                  finishedAt = NULL, exitCode = NULL, message = NULL, fromCache = 0 WHERE runId = ? AND position = ?
                """, arguments: [Status.running.rawValue, attempt, attempt, at, at, runID, index])
            try transition(index, Status.running.rawValue, attempt > 1 ? "attempt \(attempt)" : nil)
        case .stepRetrying(_, let index, let attempt, let delay, let result):
            try transition(index, "retrying", "attempt \(attempt) failed (\(result.error ?? "exit \(result.exitCode ?? -1)")); "
                + "again in \(delay)s")
        case .stepFinished(_, let index, let status, _, let result):
            try db.execute(sql: "UPDATE step SET status = ?, finishedAt = ?, exitCode = ?, message = ? WHERE runId = ? AND position = ?",
                           arguments: [status.rawValue, at, result.exitCode, status == .success ? nil : result.error, runID, index])
            try transition(index, status.rawValue, status == .success ? nil : result.error)
        case .stepCached(_, let index, let from):
            try db.execute(sql: """
                UPDATE step SET status = ?, startedAt = ?, finishedAt = ?, exitCode = 0, message = ?, fromCache = 1
                WHERE runId = ? AND position = ?
                """, arguments: [Status.success.rawValue, at, at, "from the cache (run \(from))", runID, index])
            try transition(index, Status.success.rawValue, "from the cache (run \(from))")
        case .stepNotRun(_, let index, let status, let reason):
            try db.execute(sql: "UPDATE step SET status = ?, finishedAt = ?, message = ? WHERE runId = ? AND position = ?",
                           arguments: [status.rawValue, at, reason, runID, index])
            try transition(index, status.rawValue, reason)
        case .varsChanged(let vars):
            try db.execute(sql: "UPDATE run SET vars = ? WHERE id = ?", arguments: [json(vars), runID])
        case .callbackFailed(let name, let error):
            try transition(nil, "callback failed", "\(name): \(error)")
        case .runCanceling:
            try transition(nil, "canceling")
        case .runFinished(let status, _, let message):
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, message = ?, heartbeatAt = ? WHERE id = ?",
                           arguments: [status.rawValue, at, message, at, runID])
            try transition(nil, status.rawValue, message)
        }
    }
}
