import FlowEngine
import FlowModel
import FlowStore
import Foundation
import Testing

/// A store in a fresh temporary folder.
func temporaryStore(_ name: String = #function) throws -> RunStore {
    let folder = FileManager.default.temporaryDirectory
        .appending(path: "flowlua-store-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return try RunStore(path: folder.appending(path: "flowlua.db").path)
}

func storedRun(_ id: String, pid: Int32? = getpid(), steps: Int = 0) -> StoredRun {
    StoredRun(id: id, workflow: "w", script: "/tmp/w.lua", workingDirectory: "/tmp", folder: "/tmp/runs/\(id)",
              pid: pid, arguments: RunArguments(assignments: ["n=1"]), settings: RunSettings(jobs: 2), stepCount: steps)
}

@Suite("The run database")
struct RunStoreTests {
    @Test func aNewDatabaseHasTheSchemaAndPassesTheIntegrityCheck() throws {
        let store = try temporaryStore()
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.runs().isEmpty)
        // Opening it again migrates nothing and loses nothing.
        try store.create(storedRun("aaa111"), steps: [])
        let again = try RunStore(path: store.path)
        #expect(try again.runs().map(\.id) == ["aaa111"])
    }

    @Test func runsAreFoundByAUniquePrefix() throws {
        let store = try temporaryStore()
        for id in ["abc123", "abd456", "xyz789"] { try store.create(storedRun(id), steps: []) }
        #expect(try store.run("abc123").id == "abc123")
        #expect(try store.run("abc").id == "abc123")
        #expect(try store.run("x").id == "xyz789")
        #expect(throws: StoreError.self) { try store.run("ab") }
        do { _ = try store.run("ab") } catch { #expect("\(error)".hasPrefix("run id 'ab' is ambiguous: ab")) }
        do { _ = try store.run("q") } catch { #expect("\(error)" == "no run 'q' (flowlua list shows them)") }
        do { _ = try store.run("a%") } catch { #expect("\(error)".hasPrefix("no run 'a%'"), "% is not a wildcard") }
    }

    @Test func theRecorderWritesEveryStateChange() throws {
        let store = try temporaryStore()
        try store.create(storedRun("run1", steps: 2), steps: [("a", "container"), ("b", "code")])
        let recorder = store.recorder(for: "run1")
        recorder.record(.runStarted(id: "run1", folder: "/tmp/runs/run1", steps: 2))
        recorder.record(.stepStarted(step: "a", index: 0, attempt: 1))
        recorder.record(.stepRetrying(step: "a", index: 0, attempt: 1, delay: 1, result: ExecResult(exitCode: 1, error: "boom")))
        recorder.record(.stepStarted(step: "a", index: 0, attempt: 2))
        recorder.record(.stepFinished(step: "a", index: 0, status: .success, duration: 1, result: ExecResult()))
        recorder.record(.varsChanged(["n": .integer(3)]))
        recorder.record(.stepNotRun(step: "b", index: 1, status: .notRun, reason: "not started"))
        recorder.record(.runFinished(status: .success, duration: 1, message: nil))
        #expect(recorder.finish() == nil)
        let run = try store.run("run1")
        #expect(run.status == .success)
        #expect(run.startedAt != nil && run.finishedAt != nil)
        #expect(run.pid == getpid())
        #expect(run.vars == ["n": .integer(3)])
        #expect(run.arguments.assignments == ["n=1"])
        let rows = try store.steps(of: "run1")
        #expect(rows.map(\.name) == ["a", "b"])
        #expect(rows.map(\.status) == [.success, .notRun])
        #expect(rows[0].attempts == 2)
        #expect(rows[0].exitCode == 0)
        #expect(rows[1].message == "not started")
        #expect(rows[0].startedAt != nil && rows[0].finishedAt != nil, "a step's start and end are in its row")
        let changes = try store.transitions(of: "run1").map { "\($0.position.map(String.init) ?? "run") \($0.status)" }
        #expect(changes == ["run pending", "run running", "0 retrying", "0 running", "1 not run", "run success"],
                "transitions hold what the rows do not: retries, later attempts, failures, the run")
    }

    @Test func aRunWhoseProcessIsGoneIsMarkedInterrupted() throws {
        let store = try temporaryStore()
        // A pid that cannot be alive: a child that exited and was reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        try store.create(storedRun("gone", pid: child.processIdentifier, steps: 1), steps: [("a", "container")])
        let recorder = store.recorder(for: "gone")
        recorder.record(.runStarted(id: "gone", folder: "/tmp", steps: 1))
        recorder.record(.stepStarted(step: "a", index: 0, attempt: 1))
        recorder.finish()
        // The recorder wrote this process's pid; make it the dead one again.
        try store.create(storedRun("alive", steps: 0), steps: [])
        var dead = try store.run("gone")
        #expect(dead.status == .running, "this process is alive")
        try store.markInterrupted(now: Date().timeIntervalSince1970 + RunStore.heartbeatTimeout + 1)
        dead = try store.run("gone")
        #expect(dead.status == .interrupted)
        #expect(dead.message?.contains("stopped without finishing the run") == true)
        #expect(try store.steps(of: "gone").map(\.status) == [.interrupted])
    }

    @Test func aLiveFlowluaProcessIsTrustedUntilItsSilenceIsAHang() throws {
        let store = try temporaryStore()
        // A process named flowlua: a copy of sleep.
        let folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-comm-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let program = folder.appending(path: "flowlua")
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: program.path)
        let sleeper = Process()
        sleeper.executableURL = program
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { sleeper.terminate() }
        try store.create(storedRun("busy", pid: sleeper.processIdentifier, steps: 0), steps: [])
        try store.markInterrupted(now: Date().timeIntervalSince1970 + RunStore.heartbeatTimeout + 1)
        #expect(try store.run("busy").status == .pending, "a silent flowlua may be busy hashing, not gone")
        try store.markInterrupted(now: Date().timeIntervalSince1970 + RunStore.hangTimeout + 1)
        #expect(try store.run("busy").status == .interrupted)
    }

    @Test func theDefaultDatabaseSitsBesideTheRunsFolder() {
        #expect(RunStore.defaultPath(runsDirectory: URL(fileURLWithPath: "/w/.flowlua/runs"), environment: [:])
            == "/w/.flowlua/flowlua.db")
        #expect(RunStore.defaultPath(runsDirectory: URL(fileURLWithPath: "/w/runs"), environment: ["FLOWLUA_DB": "/x.db"])
            == "/x.db")
    }
}

@Suite("The run database's cache")
struct RunStoreCacheTests {
    @Test func deletingARunForgetsItsCacheEntriesAndKeepsOthers() throws {
        let store = try temporaryStore()
        let keys = (0..<3).map { String(repeating: String(format: "%02x", $0 + 1), count: 32) }
        for (id, key) in zip(["r1", "r2", "r1"], keys) {
            if (try? store.run(id)) == nil { try store.create(storedRun(id), steps: []) }
            let recorder = store.recorder(for: id)
            recorder.remember(CacheEntry(key: key, runID: id, step: "s", folder: "/tmp/runs/\(id)", outputs: [], changes: [:]))
            #expect(recorder.finish() == nil)
        }
        try store.delete("r1")
        #expect(try store.cached(keys[0]) == nil && store.cached(keys[2]) == nil)
        #expect(try store.cached(keys[1])?.runID == "r2")
        #expect(throws: StoreError.self) { try store.run("r1") }
        #expect(try store.integrityCheck() == "ok")
    }
}
