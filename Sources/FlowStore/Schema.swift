import GRDB

/// The run database's schema, one migration per version. Never edit a
/// migration that has shipped: add the next one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs, steps, transitions, cache") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("workflow", .text).notNull()
                t.column("script", .text).notNull()
                t.column("workingDirectory", .text).notNull()
                t.column("arguments", .text).notNull()
                t.column("options", .text).notNull()
                t.column("folder", .text).notNull()
                t.column("status", .text).notNull()
                t.column("message", .text)
                t.column("createdAt", .double).notNull()
                t.column("startedAt", .double)
                t.column("finishedAt", .double)
                t.column("pid", .integer)
                t.column("heartbeatAt", .double)
                t.column("vars", .text).notNull().defaults(to: "{}")
                t.column("stepCount", .integer).notNull().defaults(to: 0)
            }
            try db.create(index: "run_on_createdAt", on: "run", columns: ["createdAt"])
            // Steps, cache entries and file hashes are only ever found by their
            // keys: tables clustered on them, one B-tree per write, not two.
            try db.create(table: "step", options: [.withoutRowID]) { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("startedAt", .double)
                t.column("finishedAt", .double)
                t.column("exitCode", .integer)
                t.column("message", .text)
                t.column("cacheKey", .text)
                t.column("fromCache", .boolean).notNull().defaults(to: false)
                t.primaryKey(["runId", "position"])
            }
            try db.create(table: "transition") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("position", .integer)
                t.column("status", .text).notNull()
                t.column("at", .double).notNull()
                t.column("message", .text)
            }
            try db.create(index: "transition_on_runId", on: "transition", columns: ["runId"])
            try db.create(table: "cache", options: [.withoutRowID]) { t in
                t.primaryKey("key", .text)
                t.column("runId", .text).notNull()
                t.column("step", .text).notNull()
                t.column("folder", .text).notNull()
                t.column("outputs", .text).notNull()
                t.column("changes", .text).notNull()
                t.column("createdAt", .double).notNull()
            }
            try db.create(table: "fileHash", options: [.withoutRowID]) { t in
                t.primaryKey("path", .text)
                t.column("device", .integer).notNull()
                t.column("inode", .integer).notNull()
                t.column("size", .integer).notNull()
                t.column("modifiedAt", .integer).notNull()
                t.column("hash", .text).notNull()
            }
        }
        // A v1 cache clustered on 64-character hex keys rewrote nearly every
        // page of itself with each batch of new entries. Its entries are
        // dropped (a cache: those steps run once more under --resume).
        migrator.registerMigration("v2: cache rows appended, keyed by 32-byte digests") { db in
            try db.drop(table: "cache")
            // Rows in the order steps end (appended, not scattered by key);
            // only the index on the 32-byte key is in key order.
            try db.create(table: "cache") { t in
                t.column("key", .blob).notNull().unique(onConflict: .replace)
                t.column("runId", .text).notNull()
                t.column("step", .text).notNull()
                t.column("folder", .text).notNull()
                t.column("outputs", .text).notNull()
                t.column("changes", .text).notNull()
                t.column("createdAt", .double).notNull()
            }
            try db.create(index: "cache_on_runId", on: "cache", columns: ["runId"])
            // The step row no longer repeats its cache key (databases of
            // development builds never had the column).
            if try db.columns(in: "step").contains(where: { $0.name == "cacheKey" }) {
                try db.alter(table: "step") { t in t.drop(column: "cacheKey") }
            }
        }
        migrator.registerMigration("v3: the remote job of a step") { db in
            // The job a cluster runs for the step (a Slurm job id), so that a
            // restart follows it rather than submitting it again.
            try db.alter(table: "step") { t in t.add(column: "remoteId", .text) }
        }
        // A run of 10,000 short steps inserted a pending row per step before
        // the first one started (15 to 20 ms of a 300 ms run) and updated
        // each when its step ended. The run now keeps its step list, and a
        // step's row is written when the step first changes: no row reads as
        // pending.
        migrator.registerMigration("v4: a run's step list; step rows from a step's first change") { db in
            try db.create(table: "plan", options: [.withoutRowID]) { t in
                t.primaryKey("runId", .text).references("run", onDelete: .cascade)
                // JSON: [[name, kind], ...] in declaration order.
                t.column("steps", .text).notNull()
            }
            var lists: [String: [(name: String, kind: String)]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT runId, name, kind FROM step ORDER BY runId, position")
            while let row = try rows.next() { lists[row[0], default: []].append((row[1], row[2])) }
            for (runID, steps) in lists {
                try db.execute(sql: "INSERT INTO plan (runId, steps) VALUES (?, ?)", arguments: [runID, JSONText.steps(steps)])
            }
        }
        // The index moved each cache entry that a run wrote again (the same
        // step, run again) from the old run to the new one: two B-tree writes
        // more than the entry itself, a third of a code step's recording. It
        // served only deleting a run, which now reads the table through.
        migrator.registerMigration("v5: cache entries without an index of their runs") { db in
            try db.drop(index: "cache_on_runId")
        }
        return migrator
    }
}
