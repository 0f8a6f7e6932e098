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
/// Cache entries' outputs are hashed there too, unless they are large:
/// those on a queue of their own, so that events go on being written.
public final class RunRecorder: @unchecked Sendable {
    // `events`, `entries`, `closed`, `written` and `failure` are guarded by
    // `condition`.
    let store: RunStore
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
    var steps: [(name: String, kind: String)]?
    /// The positions of the steps that have a row (see `writeSteps`), read
    /// at the first write: a restarted run keeps the rows of its successes.
    var rowed: Set<Int>?
    /// Rows the transaction being written inserts (in `rowed` already):
    /// taken out again if it fails.
    var inserting: [Int] = []
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
    struct Remembered {
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
        // The first item starts the writer's flush window; a full batch ends
        // it. Once closed, `finish` waits too: both are woken.
        if closed {
            condition.broadcast()
        } else if count == 1 || count >= Self.batchSize {
            condition.signal()
        }
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
                    let paths = outputs.map { RunFolder.path(of: $0.path, in: entries[i].entry.folder) }
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
}
