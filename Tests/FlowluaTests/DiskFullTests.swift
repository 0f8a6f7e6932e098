import FlowStore
import Foundation
import Testing

/// A small file system of its own (tmpfs) holding a workflow, its runs and
/// its database, filled on purpose: what flowlua prints is what the
/// database says, or the exit status says the record failed.
@Suite("A full disk", .serialized)
struct DiskFullTests {
    /// A mounted tmpfs of `size` with the workflow in it; unmounted by `close()`.
    final class SmallDisk {
        let folder: URL
        var database: String { folder.appending(path: "db/flowlua.db").path }
        var store: RunStore { get throws { try RunStore.reading(at: database) } }

        init(size: String, script: String, name: String = #function) throws {
            folder = try scratch(name)
            let mount = try executeBlocking("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", folder.path], in: folder)
            guard mount.status == 0 else {
                throw TestFailure("cannot mount a tmpfs (these tests need root and mount): \(mount.stderr)")
            }
            try script.write(to: folder.appending(path: "workflow.lua"), atomically: true, encoding: .utf8)
        }

        func flowlua(_ arguments: [String]) async throws -> Outcome {
            try await FlowluaTests.flowlua(arguments + ["--db", database, "--runs-dir", folder.appending(path: "runs").path],
                                           in: folder)
        }

        /// Fills what is left with a file of zeros.
        func fill() throws {
            _ = try executeBlocking("/bin/sh", ["-c", "cat /dev/zero > filler 2>/dev/null; true"], in: folder)
        }

        func free() { unlink(folder.appending(path: "filler").path) }

        func close() {
            _ = try? executeBlocking("/bin/umount", ["-l", folder.path], in: FileManager.default.temporaryDirectory)
            try? FileManager.default.removeItem(at: folder)
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let filling = """
        workflow { name = 'full', steps = {
          container "fill" { outputs = { "big" }, commands = { "head -c 8000000 /dev/zero > big" } },
          container "after" { inputs = { "big" }, commands = { "true" } },
        } }
        """

    @Test func aStepThatFillsTheDiskIsRecordedAsPrintedAndSaysWhy() async throws {
        let disk = try SmallDisk(size: "4m", script: Self.filling)
        defer { disk.close() }
        let outcome = try await disk.flowlua(["run", "workflow.lua"])
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("| head: error writing"), "the step's stderr, kept though its log could not be: \(outcome.stderr)")
        // Either the log could not take the line and flowlua says so, or the
        // log took it (space the database gave back came first: timing).
        let log = (try? String(contentsOfFile: disk.folder.path + "/runs/" + (outcome.stderr.firstMatch(of: /run ([0-9a-f]{12})/)
            .map { String($0.1) } ?? "?") + "/.logs/fill.stderr", encoding: .utf8)) ?? ""
        #expect(outcome.stderr.contains("no space left on \(disk.folder.path)") || log.contains("head: error writing"),
                "\(outcome.stderr)")
        #expect(outcome.stderr.contains("  fill   error") && outcome.stderr.contains("  after  not run"))
        // The database says what was printed, though the step filled its disk.
        let store = try disk.store
        let run = try #require(try store.runs().first)
        #expect(run.status == .error)
        #expect(try store.steps(of: run.id).map(\.status) == [.error, .notRun])
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func readCommandsWorkOnAFullDisk() async throws {
        let disk = try SmallDisk(size: "4m", script: """
            workflow { name = 'ok', steps = { container "hi" { commands = { "echo hello from the step" } } } }
            """)
        defer { disk.close() }
        #expect(try await disk.flowlua(["run", "workflow.lua", "-q"]).status == 0)
        // Closed by its last user, the database has no shared-memory file,
        // which SQLite must make (and cannot, on a full disk) to read it.
        do { _ = try RunStore(path: disk.database).runs() }
        #expect(!FileManager.default.fileExists(atPath: disk.database + "-shm"))
        try disk.fill()
        let list = try await disk.flowlua(["list"])
        #expect(list.status == 0, "\(list.stderr)")
        let id = try #require(list.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
        #expect(list.stdout.contains("success"))
        let status = try await disk.flowlua(["status", id])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("hi") && status.stdout.contains("success"))
        let logs = try await disk.flowlua(["logs", id, "hi"])
        #expect(logs.status == 0, "\(logs.stderr)")
        #expect(logs.stdout.contains("hello from the step"))
    }

    @Test func aRunStartedOnAFullDiskSaysWhereSpaceRanOutAndLeavesNothingHalfWritten() async throws {
        let disk = try SmallDisk(size: "4m", script: Self.filling)
        defer { disk.close() }
        _ = try RunStore(path: disk.database)  // made while there was room
        try disk.fill()
        let outcome = try await disk.flowlua(["run", "workflow.lua"])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("no space left on \(disk.folder.path)"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("SQLite error"), "\(outcome.stderr)")
        disk.free()
        #expect(try disk.store.runs().isEmpty, "no run recorded half")
    }

    @Test func aRunVariableThatDoesNotFitEndsWithTheExitStatusOfAnIncompleteRecord() async throws {
        let disk = try SmallDisk(size: "4m", script: """
            workflow { name = 'vars', steps = {
              code "big" { run = function(ctx) ctx.vars.blob = string.rep("x", 6000000) end },
              code "next" { after = { "big" }, run = function(ctx) print(#ctx.vars.blob) end },
            } }
            """)
        defer { disk.close() }
        let outcome = try await disk.flowlua(["run", "workflow.lua"])
        #expect(outcome.status == 3, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the run database could not record all of run"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("no space left on \(disk.folder.path)"), "\(outcome.stderr)")
        let run = try #require(try disk.store.runs().first)
        #expect(run.status != .success, "the record is incomplete, and the exit status said so")
    }
}
