import Foundation
import Testing

/// A run folder is a boundary: inputs come in as copies, outputs are files
/// and folders inside it, and nothing a step leaves there (a FIFO, a link
/// leading out) can hang flowlua or reach files outside.
@Suite("The run folder's boundary: staged copies, outputs inside, nothing that blocks")
struct RunFolderBoundaryTests {
    static func isLink(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    /// `flowlua arguments...`, killed after 30 s: flowlua used to block for
    /// ever opening a FIFO.
    static func bounded(_ arguments: [String], in folder: URL) async throws -> Outcome {
        try await execute("/usr/bin/timeout", ["-s", "KILL", "30", flowluaBinary] + arguments, in: folder)
    }

    @Test func aFIFOOutputIsAStepErrorNamingItAndFlowluaEnds() async throws {
        let folder = try workflowFolder("""
            workflow { name = "fifo", steps = {
              container "s" { outputs = { "out.txt" }, commands = { "mkfifo out.txt" } },
              container "after" { after = { "s" }, commands = { "touch after.txt" } },
            } }
            """)
        let outcome = try await Self.bounded(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("declared output 'out.txt' is a FIFO, not a file or folder"), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: try onlyRun(in: folder).appending(path: "after.txt").path))
    }

    @Test func aFIFOInAnInputFolderIsAStagingErrorNamingIt() async throws {
        let folder = try workflowFolder("""
            workflow { name = "fifo-in", steps = {
              container "s" { inputs = { "data/" }, commands = { "cat data/*" } },
            } }
            """, files: ["data/a.txt": "a\n"])
        try #require(mkfifo(folder.appending(path: "data/pipe").path, 0o644) == 0)
        let outcome = try await Self.bounded(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("data/pipe: a FIFO, not a file or folder"), "\(outcome.stderr)")
    }

    /// An input that is a link, one inside a staged folder, and a staged
    /// folder that is itself a link: the step gets copies, and what it
    /// writes to them stays in the run folder.
    @Test func linkedInputsAreStagedAsCopiesAndTheOriginalsStayUntouched() async throws {
        let folder = try workflowFolder("""
            workflow { name = "links", steps = {
              container "write" { inputs = { "one.txt", "data/", "linked/" }, commands = {
                "cat one.txt data/two.txt linked/three.txt > seen.txt",
                "echo changed > one.txt; echo changed > data/two.txt; echo changed > linked/three.txt",
              } },
            } }
            """, files: ["originals/one.txt": "one\n", "originals/two.txt": "two\n", "originals/dir/three.txt": "three\n"])
        let manager = FileManager.default
        try manager.createSymbolicLink(atPath: folder.appending(path: "one.txt").path, withDestinationPath: "originals/one.txt")
        try manager.createDirectory(at: folder.appending(path: "data"), withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: folder.appending(path: "data/two.txt").path,
                                       withDestinationPath: folder.appending(path: "originals/two.txt").path)
        try manager.createSymbolicLink(atPath: folder.appending(path: "linked").path, withDestinationPath: "originals/dir")
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "seen.txt")) == "one\ntwo\nthree\n")
        for original in ["one.txt", "two.txt", "dir/three.txt"] {
            let text = try contents(folder.appending(path: "originals/\(original)"))
            #expect(text != "changed\n", "the step wrote through to originals/\(original)")
        }
        for staged in ["one.txt", "data/two.txt", "linked", "linked/three.txt"] {
            #expect(!Self.isLink(run.appending(path: staged)), "\(staged) was staged as a link")
        }
    }

    @Test func anOutputLeadingOutOfTheRunFolderIsRefused() async throws {
        let outside = try scratch()
        try "secret\n".write(to: outside.appending(path: "secret.txt"), atomically: true, encoding: .utf8)
        for (output, command) in [("out.txt", "ln -s \(outside.path)/secret.txt out.txt"),
                                  ("res/", "ln -s \(outside.path) res")] {
            let folder = try workflowFolder("""
                workflow { name = "leak", steps = {
                  container "s" { outputs = { "\(output)" }, commands = { "\(command)" } },
                } }
                """)
            let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
            #expect(outcome.status == 1, "\(output): \(outcome.stderr)")
            let name = output.hasSuffix("/") ? String(output.dropLast()) : output
            #expect(outcome.stderr.contains("declared output '\(name)") && outcome.stderr.contains("leads out of the run folder"),
                    "\(outcome.stderr)")
        }
    }

    /// `--resume` copies an earlier run's outputs: a link inside them that
    /// stays inside is kept, one leading out is not followed or copied (the
    /// step runs again instead).
    @Test func resumeNeverCopiesALinkLeadingOut() async throws {
        let outside = try scratch()
        let counter = outside.appending(path: "runs.log").path
        let folder = try workflowFolder("""
            workflow { name = "resume", steps = {
              container "inside" { outputs = { "kept/" }, commands = {
                "mkdir -p kept && echo ok > kept/file && ln -s file kept/alias && echo inside >> \(counter)" } },
              container "outside" { outputs = { "leaky/" }, commands = {
                "mkdir -p leaky && ln -s \(outside.path) leaky/out && echo outside >> \(counter)" } },
            } }
            """)
        let first = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        try #require(first.status == 0, "\(first.stderr)")
        let second = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "--resume", "-q"], in: folder)
        #expect(second.status == 0, "\(second.stderr)")
        let ran = try contents(URL(fileURLWithPath: counter)).split(separator: "\n").map(String.init)
        #expect(ran.sorted() == ["inside", "outside", "outside"], "steps that ran: \(ran)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: folder.appending(path: "runs").path)
            .filter { !$0.hasPrefix(".") }.map { folder.appending(path: "runs/\($0)") }
        for run in runs {
            #expect(Self.isLink(run.appending(path: "kept/alias")), "\(run.lastPathComponent): kept/alias is not a link")
            #expect(try contents(run.appending(path: "kept/alias")) == "ok\n")
        }
        #expect(runs.count == 2)
    }

    /// Nothing keeps flowlua alive after it was told to stop: an
    /// `on_cancel` callback that never returns is cut short `--grace` plus
    /// a margin after the signal.
    @Test func sigtermEndsFlowluaEvenWhenACallbackHangs() async throws {
        let folder = try workflowFolder("""
            workflow { name = "hang", steps = {
              container "slow" { commands = { "touch started; sleep 120" },
                on_cancel = function() while true do end end },
            } }
            """)
        var signaled: Date?
        let outcome = try await interrupt(["run", "workflow.lua", "--runs-dir", "runs", "--grace", "1"], in: folder,
                                          signal: SIGTERM) {
            guard anyRun(in: folder.appending(path: "runs"), has: "started") else { return false }
            signaled = Date()
            return true
        }
        let took = Date().timeIntervalSince(try #require(signaled, "the step never started"))
        #expect(outcome.status == 143, "\(outcome.stderr)")
        #expect(took < 60, "flowlua ended \(took) s after SIGTERM; the step sleeps 120 s")
        #expect(outcome.stderr.contains("stopping at once"), "\(outcome.stderr)")
    }
}
