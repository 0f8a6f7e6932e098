@testable import FlowStore
import Foundation
import GRDB
import Testing

@Suite("Schema migrations")
struct SchemaMigrationTests {
    /// A new database in a folder of its own, migrated up to `version` only.
    private func database(upTo version: String) throws -> (path: String, queue: DatabaseQueue) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-schema-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appending(path: "flowlua.db").path
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: version)
        return (path, queue)
    }

    /// A database as the first release left it: v1 only, with a run, a step
    /// and a cache entry in v1's shapes.
    private func v1Database() throws -> String {
        let (path, queue) = try database(upTo: "v1: runs, steps, transitions, cache")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO run (id, workflow, script, workingDirectory, arguments, options, folder, status, createdAt)
                VALUES ('old1', 'w', '/w.lua', '/', '{}', '{}', '/runs/old1', 'success', 1);
                INSERT INTO step (runId, position, name, kind, status, cacheKey) VALUES ('old1', 0, 'a', 'code', 'success', 'k');
                INSERT INTO cache (key, runId, step, folder, outputs, changes, createdAt)
                VALUES ('\(String(repeating: "ab", count: 32))', 'old1', 'a', '/runs/old1', '[]', '{}', 1);
                """)
        }
        return path
    }

    @Test func aVersion1DatabaseKeepsItsRunsAndGetsTheNewCache() throws {
        let path = try v1Database()
        let store = try RunStore(path: path)
        #expect(try store.run("old1").status == .success)
        #expect(try store.steps(of: "old1").map(\.name) == ["a"])
        #expect(try store.integrityCheck() == "ok")
        let key = String(repeating: "cd", count: 32)
        #expect(try store.cached(String(repeating: "ab", count: 32)) == nil, "v1's entries are dropped")
        let recorder = store.recorder(for: "old1")
        recorder.remember(CacheEntry(key: key, runID: "old1", step: "a", folder: "/runs/old1", outputs: [],
                                     changes: ["n": .some(.integer(2))]))
        #expect(recorder.finish() == nil)
        let entry = try #require(try store.cached(key))
        #expect(entry.step == "a" && entry.changes == ["n": .some(.integer(2))])
        let columns = try DatabaseQueue(path: path).read { db in try db.columns(in: "step").map(\.name) }
        #expect(!columns.contains("cacheKey"))
    }

    @Test func migratingTwiceChangesNothing() throws {
        let path = try v1Database()
        _ = try RunStore(path: path)
        let again = try RunStore(path: path)
        #expect(try again.run("old1").workflow == "w")
        let applied = try DatabaseQueue(path: path).read { db in try Schema.migrator.appliedIdentifiers(db) }
        #expect(applied.count == 5)
    }

    @Test func aVersion3DatabaseGetsEachRunsStepListFromItsRows() throws {
        let (path, queue) = try database(upTo: "v3: the remote job of a step")
        try queue.write { db in
            for id in ["old1", "old2"] {
                try db.execute(sql: """
                    INSERT INTO run (id, workflow, script, workingDirectory, arguments, options, folder, status, createdAt)
                    VALUES (?, 'w', '/w.lua', '/', '{}', '{}', '/runs/x', 'failed', 1)
                    """, arguments: [id])
            }
            // v3 wrote a row for every step at once, pending until it changed.
            try db.execute(sql: """
                INSERT INTO step (runId, position, name, kind, status) VALUES
                  ('old1', 1, 'b', 'code', 'pending'), ('old1', 0, 'a', 'container', 'success'),
                  ('old2', 0, 'x', 'notebook', 'error')
                """)
        }
        let store = try RunStore(path: path)
        #expect(try store.steps(of: "old1").map { "\($0.name) \($0.kind) \($0.status.rawValue)" }
            == ["a container success", "b code pending"])
        // A restart of an old run: b loses its row and still reads as pending, by its name.
        #expect(try store.prepareRestart("old1", steps: [("a", "container"), ("b", "code")]) == ["a"])
        #expect(try store.steps(of: "old1").map { "\($0.name) \($0.status.rawValue)" } == ["a success", "b pending"])
        #expect(try store.steps(of: "old2").map(\.name) == ["x"])
        #expect(try store.integrityCheck() == "ok")
    }
}
