import FlowStore
import Foundation
import Testing

/// A scratch folder with a workflow script and a runs folder; every command
/// runs in it, so its `.flowlua/flowlua.db` is its own.
struct Workspace {
    let folder: URL

    init(_ script: String, name: String = #function) throws {
        folder = try scratch(name)
        try script.write(to: folder.appending(path: "flow.lua"), atomically: true, encoding: .utf8)
    }

    func run(_ arguments: [String]) async throws -> Outcome {
        try await flowlua(arguments, in: folder)
    }

    /// The ids of the runs, newest first.
    func runIDs() async throws -> [String] {
        let list = try await run(["list", "--json"])
        let runs = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
        return runs.compactMap { $0["id"] as? String }
    }

    func status(_ id: String) async throws -> [String: Any] {
        let status = try await run(["status", id, "--json"])
        return try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func stepStates(_ id: String) async throws -> [String] {
        (try await status(id)["steps"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
    }

    func file(_ relative: String) -> String? {
        try? String(contentsOf: folder.appending(path: relative), encoding: .utf8)
    }

    var store: RunStore {
        get throws { try RunStore(path: folder.appending(path: ".flowlua/flowlua.db").path) }
    }
}

@Suite("The run database and the controller commands", .serialized)
struct ControllerTests {
    static let twoSteps = """
        workflow { name = "two", steps = {
          container "a" { commands = { "echo a-out; echo a-err >&2; echo ran >> ../../../a-count" } },
          container "b" { after = { "a" }, commands = { "echo b-out", "test -e ../../../b-may-pass" } },
        } }
        """

    @Test func runsAreRecordedListedAndShown() async throws {
        let space = try Workspace(Self.twoSteps)
        try "".write(to: space.folder.appending(path: "b-may-pass"), atomically: true, encoding: .utf8)
        #expect(try await space.run(["flow.lua", "-q"]).status == 0)
        let ids = try await space.runIDs()
        #expect(ids.count == 1)
        let id = try #require(ids.first)
        let list = try await space.run(["list"])
        #expect(list.stdout.hasPrefix("ID"))
        #expect(list.stdout.contains("\(id)  two       success"))
        let status = try await space.status(String(id.prefix(6)))
        #expect((status["run"] as? [String: Any])?["status"] as? String == "success")
        #expect(try await space.stepStates(id) == ["success", "success"])
        let text = try await space.run(["status", id])
        #expect(text.stdout.contains("run \(id): workflow 'two', success"))
        #expect(text.stdout.contains("b     success"))
        let store = try space.store
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.transitions(of: id).map(\.status) == ["pending", "running", "success"])
    }

    @Test func logsPrintWhatStepsWrote() async throws {
        let space = try Workspace(Self.twoSteps)
        try "".write(to: space.folder.appending(path: "b-may-pass"), atomically: true, encoding: .utf8)
        _ = try await space.run(["flow.lua", "-q"])
        let id = try #require(try await space.runIDs().first)
        let all = try await space.run(["logs", id])
        #expect(all.stdout == "==> a (stdout) <==\na-out\n==> a (stderr) <==\na-err\n==> b (stdout) <==\nb-out\n")
        #expect(try await space.run(["logs", id, "a", "--stderr"]).stdout == "a-err\n")
        let missing = try await space.run(["logs", id, "c"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "flowlua: error: run \(id) has no step 'c' (its steps: a, b)\n")
    }

    @Test func logsFollowARunningStepUntilTheRunEnds() async throws {
        let space = try Workspace("""
            workflow { name = "talk", steps = {
              container "talk" { commands = { "for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done" } },
            } }
            """)
        let started = try await space.run(["run", "--detach", "flow.lua"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let follow = try await space.run(["logs", id, "talk", "--follow"])
        #expect(follow.status == 0)
        #expect(follow.stdout == "==> talk (stdout) <==\nline 1\nline 2\nline 3\nline 4\nline 5\n"
            || follow.stdout == "line 1\nline 2\nline 3\nline 4\nline 5\n", "\(follow.stdout)")
        let status = try await space.status(id)
        #expect((status["run"] as? [String: Any])?["status"] as? String == "success", "--follow returned when the run ended")
    }

    @Test func waitReflectsTheOutcomeAndTimesOut() async throws {
        let space = try Workspace(Self.twoSteps)
        #expect(try await space.run(["flow.lua", "-q"]).status == 1)
        let failed = try #require(try await space.runIDs().first)
        #expect(try await space.run(["wait", failed]).status == 1)
        try "".write(to: space.folder.appending(path: "b-may-pass"), atomically: true, encoding: .utf8)
        #expect(try await space.run(["flow.lua", "-q"]).status == 0)
        let passed = try #require(try await space.runIDs().first)
        #expect(try await space.run(["wait", passed]).status == 0)
        let unknown = try await space.run(["wait", "nope"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "flowlua: error: no run 'nope' (flowlua list shows them)\n")
    }

    @Test func aDetachedRunGoesOnAndCanBeStopped() async throws {
        let marker = "30.\(Int.random(in: 100_000...999_999))"
        let space = try Workspace("""
            workflow { name = "long", steps = {
              container "first" { commands = { "echo first" } },
              container "sleeper" { after = { "first" }, commands = { "sleep \(marker)" } },
            } }
            """)
        let started = try await space.run(["run", "--detach", "flow.lua"])
        #expect(started.status == 0)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 12)
        let timeout = try await space.run(["wait", id, "--timeout", "1"])
        #expect(timeout.status == 124)
        #expect(try await space.stepStates(id) == ["success", "running"])
        #expect(living("sleep \(marker)").count == 1)
        let stop = try await space.run(["stop", id])
        #expect(stop.status == 0)
        #expect(stop.stdout == "run \(id) canceled\n")
        #expect(try await space.run(["wait", id]).status == 130)
        #expect(try await space.stepStates(id) == ["success", "canceled"])
        #expect(living("sleep \(marker)").isEmpty)
        #expect(space.file(".flowlua/runs/\(id)/.logs/flowlua.log")?.contains("cancel sleeper") == true)
    }

    @Test func restartRunsAgainOnlyWhatDidNotSucceed() async throws {
        let space = try Workspace(Self.twoSteps)
        #expect(try await space.run(["flow.lua", "-q"]).status == 1)
        let id = try #require(try await space.runIDs().first)
        #expect(try await space.stepStates(id) == ["success", "error"])
        try "".write(to: space.folder.appending(path: "b-may-pass"), atomically: true, encoding: .utf8)
        let restart = try await space.run(["restart", String(id.prefix(5)), "-q"])
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(try await space.runIDs() == [id], "a restart goes on in the same run")
        #expect(try await space.stepStates(id) == ["success", "success"])
        #expect(space.file("a-count") == "ran\n", "a succeeded before and did not run again")
        let again = try await space.run(["restart", id])
        #expect(again.stdout == "run \(id) succeeded: nothing to restart\n")
    }

    @Test func aRestartOfAFixedScriptListsItsStepsWhereTheScriptNowHasThem() async throws {
        let space = try Workspace(Self.twoSteps)
        #expect(try await space.run(["flow.lua", "-q"]).status == 1)
        let id = try #require(try await space.runIDs().first)
        // The fix: a step before b makes what b needs; a goes after it in the file.
        try """
            workflow { name = "two", steps = {
              container "prepare" { commands = { "touch ../../../b-may-pass" } },
              container "a" { commands = { "echo ran >> ../../../a-count" } },
              container "b" { after = { "a", "prepare" }, commands = { "test -e ../../../b-may-pass" } },
            } }
            """.write(to: space.folder.appending(path: "flow.lua"), atomically: true, encoding: .utf8)
        let restart = try await space.run(["restart", id, "-q"])
        #expect(restart.status == 0, "\(restart.stderr)")
        let steps = try await space.status(id)["steps"] as? [[String: Any]] ?? []
        #expect(steps.map { "\($0["name"] ?? "") \($0["status"] ?? "")" } == ["prepare success", "a success", "b success"])
        #expect(space.file("a-count") == "ran\n", "a succeeded before and did not run again")
    }

    /// Under a cgroup, what a dead flowlua's steps left running is ended by
    /// the next flowlua that starts a step (any, in any folder: tests run
    /// side by side), so only the subreaper tracking is sure to find it
    /// alive; under both, restart leaves nothing of it behind.
    @Test(arguments: ["cgroup", "subreaper"])
    func aKilledRunIsInterruptedAndRestartFinishesIt(tracking: String) async throws {
        let marker = "30.\(Int.random(in: 100_000...999_999))"
        let space = try Workspace("""
            workflow { name = "crash", steps = {
              container "first" { commands = { "echo first >> ../../../trace" } },
              code "second" { after = { "first" }, run = function(ctx) ctx.vars.mark = "kept" end },
              container "slow" { after = { "second" },
                commands = { "echo slow ${mark} >> ../../../trace; [ -e ../../../fast ] || sleep \(marker)" } },
              container "last" { after = { "slow" }, commands = { "echo last >> ../../../trace" } },
            } }
            """)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: flowluaBinary)
        process.arguments = ["flow.lua", "-q"]
        process.currentDirectoryURL = space.folder
        process.environment = ProcessInfo.processInfo.environment.merging(["FLOWLUA_PROCESS_TRACKING": tracking]) { $1 }
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && living("sleep \(marker)").isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        // Killed once the record shows where it was: the recorder writes
        // every 25 ms, later on a machine busy with other tests.
        while Date() < deadline {
            if let id = try await space.runIDs().first, try await space.stepStates(id) == ["success", "success", "running", "pending"] {
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        try await offPool { process.waitWithoutSpinning() }
        let id = try #require(try await space.runIDs().first)
        let status = try await space.status(id)
        #expect((status["run"] as? [String: Any])?["status"] as? String == "interrupted")
        #expect(try await space.stepStates(id) == ["success", "success", "interrupted", "pending"])
        if tracking == "subreaper" {
            #expect(living("sleep \(marker)").count == 1, "the step's process outlived flowlua")
        }

        try "".write(to: space.folder.appending(path: "fast"), atomically: true, encoding: .utf8)
        let restart = try await space.run(["restart", id, "-q"])
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(try await space.stepStates(id) == ["success", "success", "success", "success"])
        #expect(space.file("trace") == "first\nslow kept\nslow kept\nlast\n",
                "first and second did not run again; the run variable second set was kept")
        #expect(living("sleep \(marker)").isEmpty, "restart stopped what the dead run left behind")
        #expect(try space.store.integrityCheck() == "ok")
    }

    @Test func resumeReusesWhatIsUnchanged() async throws {
        let space = try Workspace("""
            workflow { name = "cached", parameters = { param.int "n" { default = 1 } }, steps = {
              container "make" { outputs = { "made.txt" }, commands = { "echo made >> ../../../trace; echo hello > made.txt" } },
              code "count" { inputs = { "made.txt" }, run = function(ctx)
                ctx.vars.size = #io.open(ctx:path "made.txt"):read("a")
                local f = io.open(ctx.run_dir .. "/../../../trace", "a"); f:write("count\\n"); f:close()
              end },
              container "use" { after = { "count" }, outputs = { "use.txt" },
                commands = { "echo use ${n} ${size} >> ../../../trace; echo ${n} > use.txt" } },
            } }
            """)
        #expect(try await space.run(["flow.lua", "-q"]).status == 0)
        #expect(space.file("trace") == "made\ncount\nuse 1 6\n")
        let resumed = try await space.run(["flow.lua", "--resume"])
        #expect(resumed.status == 0)
        #expect(space.file("trace") == "made\ncount\nuse 1 6\n", "a second --resume runs nothing")
        #expect(resumed.stderr.contains("cached make (from run "))
        #expect(resumed.stderr.contains("3 from the cache"))
        let newest = try #require(try await space.runIDs().first)
        #expect(space.file(".flowlua/runs/\(newest)/use.txt") == "1\n", "outputs are copied into the new run")
        #expect(try await space.run(["flow.lua", "--resume", "-q", "-p", "n=2"]).status == 0)
        #expect(space.file("trace") == "made\ncount\nuse 1 6\ncount\nuse 2 6\n",
                "only the steps the change reaches run (a code step sees every parameter)")
        // An output changed since: that result is not reused.
        let first = try #require(try await space.runIDs().last)
        try "tampered\n".write(to: space.folder.appending(path: ".flowlua/runs/\(first)/made.txt"), atomically: true,
                               encoding: .utf8)
        for id in try await space.runIDs().dropLast() { _ = try await space.run(["rm", id]) }
        #expect(try await space.run(["flow.lua", "--resume", "-q"]).status == 0)
        // make runs again; what it makes is what it made before, so the steps
        // after it find their results by content and do not run.
        #expect(space.file("trace")?.hasSuffix("use 2 6\nmade\n") == true, "\(space.file("trace") ?? "")")
    }

    @Test func rmAndGcDeleteRunsAndTheirFolders() async throws {
        let space = try Workspace(Self.twoSteps)
        for _ in 0..<3 { _ = try await space.run(["flow.lua", "-q"]) }
        let ids = try await space.runIDs()
        #expect(ids.count == 3)
        let removed = try await space.run(["rm", ids[0]])
        #expect(removed.stdout == "removed \(ids[0])\n")
        #expect(!FileManager.default.fileExists(atPath: space.folder.appending(path: ".flowlua/runs/\(ids[0])").path))
        #expect(try await space.runIDs() == Array(ids.dropFirst()))
        #expect(try await space.run(["gc", "--older-than", "1h"]).stdout == "nothing older than 1h\n")
        let gc = try await space.run(["gc", "--older-than", "0s"])
        #expect(gc.stdout.split(separator: "\n").count == 2)
        #expect(try await space.runIDs().isEmpty)
        #expect(try await space.run(["gc", "--older-than", "soon"]).status == 2)
        #expect(try space.store.integrityCheck() == "ok")
    }

    @Test func rmNeedsARunIDAndDeletesOnlyRunFolders() async throws {
        let space = try Workspace(Self.twoSteps)
        _ = try await space.run(["flow.lua", "-q"])
        let id = try #require(try await space.runIDs().first)
        let empty = try await space.run(["rm", ""])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("an empty run id names no run"), "\(empty.stderr)")
        #expect(try await space.runIDs() == [id])
        // A record whose folder was edited to point at a user's folder.
        let precious = space.folder.appending(path: "precious")
        try FileManager.default.createDirectory(at: precious, withIntermediateDirectories: true)
        let database = space.folder.appending(path: ".flowlua/flowlua.db").path
        let edit = try await execute("/usr/bin/sqlite3", [database, "UPDATE run SET folder = '\(precious.path)' WHERE id = '\(id)'"])
        try #require(edit.status == 0, "\(edit.stderr)")
        let removed = try await space.run(["rm", id])
        #expect(removed.status != 0)
        #expect(removed.stderr.contains("is not a run folder: nothing deleted"), "\(removed.stderr)")
        #expect(FileManager.default.fileExists(atPath: precious.path))
    }

    @Test func twentyProcessesShareOneDatabase() async throws {
        let space = try Workspace("""
            workflow { name = "busy", steps = {
              container "a" { commands = { "true" } }, container "b" { commands = { "true" } },
              code "c" { run = function(ctx) ctx.vars.x = 1 end },
              container "d" { after = { "a", "b", "c" }, commands = { "true" } },
            } }
            """)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for _ in 0..<20 { group.addTask { try await space.run(["flow.lua", "-q"]) } }
            var all: [Outcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.map(\.status) == Array(repeating: 0, count: 20), "\(outcomes.map(\.stderr).joined())")
        #expect(!outcomes.contains { $0.stderr.contains("locked") })
        let ids = try await space.runIDs()
        #expect(ids.count == 20)
        #expect(Set(ids).count == 20)
        for id in ids { #expect(try await space.stepStates(id) == ["success", "success", "success", "success"]) }
        #expect(try space.store.integrityCheck() == "ok")
    }

    @Test func scriptsSeeTheRunsThroughTheFlowTable() async throws {
        let space = try Workspace("""
            workflow { name = "look", steps = {
              code "look" { run = function(ctx)
                local runs = flow.runs()
                ctx.vars.seen = #runs
                ctx.vars.first = runs[#runs].workflow
                ctx.vars.missing = select(2, pcall(flow.status, "nope"))
              end },
            } }
            """)
        _ = try await space.run(["flow.lua", "-q"])
        #expect(try await space.run(["flow.lua", "-q"]).status == 0)
        let id = try #require(try await space.runIDs().first)
        let run = try space.store.run(id)
        #expect(run.vars["seen"] == .integer(2))
        #expect(run.vars["first"] == .string("look"))
        #expect(run.vars["missing"] == .string("no run 'nope' (flowlua list shows them)"))
    }

    /// Living processes whose command line starts with `prefix`.
    func living(_ prefix: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").hasPrefix(prefix),
                  RunStore.isAlive(pid)
            else { return nil }
            return pid
        }
    }
}
