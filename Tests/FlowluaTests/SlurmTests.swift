import Foundation
import Testing

/// The slurm worker on the real single-node cluster that scripts/slurm.sh
/// starts (scripts/test.sh runs it): sbatch, squeue and scancel for real.
@Suite("Slurm worker, on a real cluster")
struct SlurmTests {
    /// A workspace whose workflow has a slurm worker `hpc` polling often.
    private func workspace(_ steps: String, name: String = #function) throws -> Workspace {
        try Workspace("""
            workflow { name = "cluster",
              workers = { hpc = worker.slurm { poll_interval = 0.2 }, box = worker.slurm { image = "local/busybox:1", poll_interval = 0.2 } },
              steps = {
            \(steps)
              },
            }
            """, name: name)
    }

    /// squeue's lines for the jobs of run `id` still in the queue (not ended).
    private func queued(_ id: String) async throws -> [String] {
        // Off the cooperative pool: a busy controller answers late, and a
        // blocked pool thread would hold up every test alongside.
        let listed = try await execute(try slurm("squeue"), ["-h", "-o", "%i %T %j"])
        #expect(listed.status == 0, Comment(rawValue: listed.stderr))
        return listed.stdout.split(separator: "\n").map(String.init).filter { $0.contains("flowlua-\(id)-") }
    }

    /// A Slurm command; the cluster must be there (scripts/slurm.sh), or the test fails.
    private func slurm(_ command: String) throws -> String {
        for folder in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(folder)/\(command)") {
            return "\(folder)/\(command)"
        }
        Issue.record("\(command) is not installed: run scripts/slurm.sh (scripts/test.sh does)")
        throw TerminalError("no \(command)")
    }

    private func remoteIDs(_ space: Workspace, _ id: String) async throws -> [String: String] {
        let steps = try await space.status(id)["steps"] as? [[String: Any]] ?? []
        var ids: [String: String] = [:]
        for step in steps {
            if let name = step["name"] as? String, let job = step["remoteID"] as? String { ids[name] = job }
        }
        return ids
    }

    @Test func partitionAccountAndOptionsTakeParameters() async throws {
        let tag = "flowlua-\(Int.random(in: 100_000...999_999))"
        let space = try Workspace("""
            workflow { name = "cluster",
              parameters = { param.string "queue" { default = "nope" }, param.string "tag" {} },
              workers = { q = worker.slurm { partition = "${queue}", options = { "--comment=${tag}" }, poll_interval = 0.2 } },
              steps = { container "a" { worker = "q", outputs = { "p.txt" }, commands = { "echo $SLURM_JOB_PARTITION > p.txt" } } },
            }
            """)
        let outcome = try await space.run(["flow.lua", "-p", "queue=debug", "-p", "tag=\(tag)"])
        #expect(outcome.status == 0, Comment(rawValue: outcome.stderr))
        let id = try #require(try await space.runIDs().first)
        #expect(space.file(".flowlua/runs/\(id)/p.txt") == "debug\n")
        let job = try #require(try await remoteIDs(space, id)["a"])
        let shown = try await execute(try slurm("scontrol"), ["show", "job", job])
        #expect(shown.stdout.contains("Comment=\(tag)"), Comment(rawValue: shown.stdout + shown.stderr))
    }

    @Test func dependentSlurmStepsSucceedWithTheirOutputsInTheRunFolder() async throws {
        let space = try workspace("""
                container "a" { worker = "hpc", outputs = { "a.txt" }, commands = { "echo job $SLURM_JOB_ID > a.txt" } },
                container "b" { worker = "hpc", inputs = { "a.txt" }, outputs = { "b.txt" }, cpus = 1, memory = "64M",
                                commands = { "cat a.txt > b.txt", "echo b in job $SLURM_JOB_ID >> b.txt" } },
                container "c" { worker = "hpc", inputs = { "b.txt" }, outputs = { "c.txt" }, commands = { "wc -l < b.txt > c.txt" } },
            """)
        let outcome = try await space.run(["flow.lua"])
        #expect(outcome.status == 0, Comment(rawValue: outcome.stderr))
        let id = try #require(try await space.runIDs().first)
        let folder = ".flowlua/runs/\(id)/"
        let jobs = try await remoteIDs(space, id)
        #expect(jobs.count == 3, "every step ran as a Slurm job")
        let a = try #require(jobs["a"]), b = try #require(jobs["b"])
        #expect(space.file(folder + "a.txt") == "job \(a)\n")
        #expect(space.file(folder + "b.txt") == "job \(a)\nb in job \(b)\n")
        #expect(space.file(folder + "c.txt")?.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        // b and c went to the cluster before a ended: Slurm held them (afterok).
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        let submittedB = try #require(lines.firstIndex { $0.contains("submit b (job \(b))") })
        let doneA = try #require(lines.firstIndex { $0.contains("done   a") })
        #expect(submittedB < doneA, Comment(rawValue: outcome.stderr))
        let script = space.file(folder + ".logs/b.sbatch") ?? ""
        #expect(script.contains("/bin/sh -c 'cat a.txt > b.txt'"))
    }

    @Test func aJobsValuesReachItsDependentWhichIsSubmittedOnlyOnceTheyAreKnown() async throws {
        let space = try workspace("""
                container "a" { worker = "hpc", values = { "job" }, commands = {
                  [[printf '{"job": "%s"}' "$SLURM_JOB_ID" > "$FLOWLUA_VALUES"]] } },
                container "b" { worker = "hpc", after = { "a" }, outputs = { "b.txt" }, commands = { "echo ${job} > b.txt" } },
            """)
        let outcome = try await space.run(["flow.lua"])
        #expect(outcome.status == 0, Comment(rawValue: outcome.stderr))
        let id = try #require(try await space.runIDs().first)
        let a = try #require(try await remoteIDs(space, id)["a"])
        #expect(space.file(".flowlua/runs/\(id)/b.txt") == "\(a)\n")
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        let submittedB = try #require(lines.firstIndex { $0.contains("submit b") })
        let doneA = try #require(lines.firstIndex { $0.contains("done   a") })
        #expect(doneA < submittedB, "b's command needs a's values: \(outcome.stderr)")
    }

    @Test func aFailingJobFailsItsStepWithItsStderrAndWhatWaitsOnItIsNotRun() async throws {
        let space = try workspace("""
                container "bad" { worker = "hpc", outputs = { "x" }, commands = { "echo fine", "echo it broke >&2; exit 3" } },
                container "after" { worker = "hpc", inputs = { "x" }, commands = { "touch should-not-exist" } },
            """)
        let outcome = try await space.run(["flow.lua", "-q"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("FAILED bad"))
        #expect(outcome.stderr.contains("command 2 exited with status 3: echo it broke >&2; exit 3"))
        #expect(outcome.stderr.contains("| it broke"), "the job's stderr is shown")
        let id = try #require(try await space.runIDs().first)
        #expect(try await space.stepStates(id) == ["error", "not run"])
        #expect(space.file(".flowlua/runs/\(id)/should-not-exist") == nil)
        #expect(try await queued(id).isEmpty, "the dependent job was canceled, not left pending")
    }

    @Test(.timeLimit(.minutes(1)))
    func aJobTheClusterCannotTakeFailsItsStepAtOnce() async throws {
        // More cores than this machine has: the cluster's business, not --cpus's.
        let space = try workspace("""
                container "big" { worker = "hpc", cpus = 512, commands = { "true" } },
            """)
        let outcome = try await space.run(["flow.lua", "-q"])
        #expect(outcome.status == 1)
        // flowlua's own judgement: a cluster that accepts the job (EnforcePartLimits=NO,
        // or a node not yet registered) would leave it pending as Priority for ever.
        #expect(outcome.stderr.contains("Slurm cannot start this job: it asks for 512 CPUs and the largest node of partition"),
                Comment(rawValue: outcome.stderr))
        let id = try #require(try await space.runIDs().first)
        #expect(try await queued(id).isEmpty, "the job does not wait in the queue for ever")
        #expect(!outcome.stderr.contains("--cpus"), "local limits do not apply to cluster steps")
    }

    @Test func aJobOverItsMemoryEndsOutOfMemory() async throws {
        let space = try workspace(#"""
                container "hog" { worker = "hpc", memory = "64M",
                                  commands = { "python3 -c 'x = bytearray(400 * 1024 * 1024); print(len(x))'" } },
            """#)
        let outcome = try await space.run(["flow.lua", "-q"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("ran out of memory (OUT_OF_MEMORY): it used more than its memory of 64M"),
                Comment(rawValue: outcome.stderr))
    }

    @Test(.timeLimit(.minutes(4)))
    func aJobPastItsTimeLimitShowsAsATimeout() async throws {
        let space = try workspace("""
                container "slow" { worker = "hpc", timeout = 5, commands = { "sleep 300" } },
            """)
        let outcome = try await space.run(["flow.lua", "-q"])
        #expect(outcome.status == 1)
        let id = try #require(try await space.runIDs().first)
        let job = try #require(try await remoteIDs(space, id)["slow"])
        #expect(outcome.stderr.contains("timed out: Slurm stopped job \(job) at its time limit of 1 min (TIMEOUT)"),
                Comment(rawValue: outcome.stderr))
        #expect(try await space.stepStates(id) == ["error"])
    }

    @Test func cancelLeavesNoJobInTheQueue() async throws {
        let space = try workspace("""
                container "first" { worker = "hpc", commands = { "sleep 120" } },
                container "second" { worker = "hpc", after = { "first" }, commands = { "sleep 120" } },
                container "local" { commands = { "sleep 120" } },
            """)
        var id: String?
        var signaled: Date?
        let outcome = try await interrupt(["flow.lua", "--grace", "1"], in: space.folder) {
            if id == nil { id = (try? FileManager.default.contentsOfDirectory(atPath: space.folder.appending(path: ".flowlua/runs").path))?.first }
            guard let id, let jobs = try? await queued(id), jobs.count == 2, jobs.contains(where: { $0.contains("RUNNING") })
            else { return false }
            signaled = Date()
            return true
        }
        let run = try #require(id)
        #expect(outcome.status == 130, Comment(rawValue: outcome.stderr))
        let took = Date().timeIntervalSince(try #require(signaled, "the jobs never queued"))
        #expect(took < 60, "flowlua ended \(took) s after Ctrl-C; the jobs sleep 120 s")
        #expect(try await queued(run).isEmpty, "no job of the run is left in squeue")
        #expect(try await space.stepStates(run) == ["canceled", "canceled", "canceled"])
    }

    @Test func localDockerAndSlurmStepsMixInOneWorkflow() async throws {
        let space = try workspace("""
                container "prepare" { outputs = { "n.txt" }, commands = { "echo 21 > n.txt" } },
                container "double" { worker = "hpc", inputs = { "n.txt" }, outputs = { "m.txt" },
                                     commands = { "echo $(( $(cat n.txt) * 2 )) > m.txt" } },
                container "inside" { worker = "box", inputs = { "m.txt" }, outputs = { "where.txt" },
                                     commands = { "test -f /.dockerenv && echo container $(cat m.txt) > where.txt" } },
                code "read" { inputs = { "where.txt" }, run = function(ctx)
                  ctx.vars.answer = io.open(ctx:path "where.txt"):read("l")
                end },
                container "report" { after = { "read" }, commands = { "echo '${answer}' > report.txt" } },
            """)
        let outcome = try await space.run(["flow.lua", "-q"])
        #expect(outcome.status == 0, Comment(rawValue: outcome.stderr))
        let id = try #require(try await space.runIDs().first)
        #expect(space.file(".flowlua/runs/\(id)/report.txt") == "container 42\n", "a Docker container inside a Slurm job")
        let jobs = try await remoteIDs(space, id)
        #expect(Set(jobs.keys) == ["double", "inside"], "only the slurm steps were jobs")
        #expect(living { $0.contains("flowlua-\(id)-inside") }.isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func aDetachedRunFollowsItsJobsAgainAcrossARestart() async throws {
        let space = try workspace("""
                container "long" { worker = "hpc", outputs = { "long.txt" },
                                   commands = { "echo ran >> runs.log",
                                                -- Working in the run folder without SLURM_JOB_ID: still the job's.
                                                "env -u SLURM_JOB_ID sleep 12", "echo done > long.txt" } },
                container "next" { worker = "hpc", inputs = { "long.txt" }, commands = { "echo next ran >> runs.log" } },
            """)
        let started = try await space.run(["run", "--detach", "flow.lua"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Once both jobs are with Slurm, the process that follows them dies.
        let deadline = Date().addingTimeInterval(30)
        var before: [String: String] = [:]
        while before.count < 2 && Date() < deadline {
            before = try await remoteIDs(space, id)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(before.count == 2, "both jobs submitted")
        #expect(Date() < deadline, "seen within \(30 - deadline.timeIntervalSinceNow) s")
        let pid = try #require(try await space.status(id)["run"].flatMap { ($0 as? [String: Any])?["pid"] as? Int })
        kill(pid_t(pid), SIGKILL)
        while RunStoreProbe.alive(pid_t(pid)) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await queued(id).count == 2, "the jobs go on without flowlua")

        let restart = try await space.run(["restart", id])
        #expect(restart.status == 0, Comment(rawValue: restart.stderr))
        #expect(restart.stderr.contains("2 cluster jobs followed again"), Comment(rawValue: restart.stderr))
        #expect(try await space.stepStates(id) == ["success", "success"])
        #expect(try await remoteIDs(space, id) == before, "no job was submitted again")
        let log = space.file(".flowlua/runs/\(id)/runs.log")
        #expect(log == "ran\nnext ran\n", "each job ran once")
    }
}

extension SlurmTests {
    @Test func theSlurmExampleRuns() async throws {
        let runs = try scratch().appending(path: "runs")
        let result = try await flowlua(["examples/slurm/workflow.lua", "-p", "n=4", "--runs-dir", runs.path])
        #expect(result.status == 0, Comment(rawValue: result.stderr))
        #expect(result.stdout == "sum of squares: 30\n")
        #expect(result.stderr.contains("submit square (job "))
    }
}

/// Whether a process is alive (not a zombie), from /proc.
enum RunStoreProbe {
    static func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}
