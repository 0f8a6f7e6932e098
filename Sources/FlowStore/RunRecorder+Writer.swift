import FlowEngine
import FlowModel
import Foundation
import GRDB

/// The SQL side of the recorder: one batch of events and cache entries
/// written in the writer thread's transaction.
extension RunRecorder {
    /// What a batch changes in one step's row: written once, however many
    /// events touched the step.
    struct StepChange {
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
    func write(_ events: [(RunEvent, Double)], in db: Database) throws {
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
    func writeSteps(_ changes: [Int: StepChange], in db: Database) throws {
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
    static func remember(_ hashes: [FileHashRow], in db: Database) throws {
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

    func insertSteps(_ changes: [(key: Int, value: StepChange)], in db: Database) throws {
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

    func updateSteps(_ changes: [(key: Int, value: StepChange)], in db: Database) throws {
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
    func writeCache(_ entries: [Remembered], keys: [[UInt8]], in db: Database) throws {
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
