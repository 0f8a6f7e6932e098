import FlowEngine
import Foundation
import Testing

@Suite("Child processes: spawn, wait, stop the group")
struct ChildProcessTests {
    @Test func exitCodesAndSignalsAreReported() async throws {
        let ok = try ChildProcess.spawn(.shell("exit 0"))
        #expect(await ok.termination() == .exited(0))
        let three = try ChildProcess.spawn(.shell("exit 3"))
        #expect(await three.termination() == .exited(3))
        let killed = try ChildProcess.spawn(.shell("kill -KILL $$"))
        let termination = await killed.termination()
        #expect(termination == .signaled(SIGKILL))
        #expect(termination.code == 137)
    }

    @Test func aMissingExecutableOrFolderIsAClearError() throws {
        #expect(throws: SpawnError.self) { try ChildProcess.spawn(ProcessSpec(executable: "/no/such/program")) }
        do {
            _ = try ChildProcess.spawn(.shell("true", workingDirectory: "/no/such/folder"))
            Issue.record("spawned in a missing folder")
        } catch {
            #expect(error.description == "cannot start /bin/sh: working folder /no/such/folder does not exist")
        }
    }

    @Test func theProcessRunsInItsOwnSessionWithDefaultSignals() throws {
        let run = try ChildProcess.runCapturing(.shell("ps -o sid=,pgid= -p $$; grep SigIgn /proc/$$/status"),
                                                grace: .seconds(1)) { false }
        let lines = run.stdout.split(separator: "\n")
        let ids = lines.first?.split(separator: " ") ?? []
        #expect(ids.count == 2 && ids[0] == ids[1], "session and group led by the shell")
        #expect(Int32(ids.first ?? "") != getsid(0))
        // Signals 32 and 33 belong to glibc, which keeps them out of reach.
        let ignored = UInt64(lines.last?.split(separator: "\t").last ?? "", radix: 16) ?? .max
        #expect(ignored & 0x7FFF_FFFF == 0, "no standard signal ignored: \(run.stdout)")
    }

    @Test func terminateStopsTheWholeGroup() async throws {
        let marker = uniqueSleep()
        let child = try ChildProcess.spawn(.shell("sleep \(marker) & sleep \(marker) & wait"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(livingProcesses(matching: "sleep \(marker)").count == 2)
        child.terminate(grace: .seconds(2))
        #expect(await child.termination() == .signaled(SIGTERM))
        await child.sweep(grace: .seconds(2))
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func sweepEndsWhatTheLeaderLeftBehind() async throws {
        let marker = uniqueSleep()
        let child = try ChildProcess.spawn(.shell("sleep \(marker) > /dev/null 2>&1 & exit 0"))
        #expect(await child.termination() == .exited(0))
        // The shell may exit before its background child has become `sleep`.
        for _ in 0..<100 where livingProcesses(matching: "sleep \(marker)").isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(livingProcesses(matching: "sleep \(marker)").count == 1)
        #expect(child.groupIsAlive)
        await child.sweep(grace: .seconds(2))
        #expect(!child.groupIsAlive)
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func sweepEndsProcessesThatLeftTheGroup() async throws {
        let marker = uniqueSleep()
        // A new session (setsid) and a double fork: neither is in the group any more.
        let child = try ChildProcess.spawn(.shell(
            "setsid sleep \(marker) >/dev/null 2>&1 </dev/null & (setsid sleep \(marker) >/dev/null 2>&1 </dev/null &); exit 0"))
        #expect(await child.termination() == .exited(0))
        for _ in 0..<200 where livingProcesses(matching: "sleep \(marker)").count < 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(livingProcesses(matching: "sleep \(marker)").count == 2)
        #expect(child.groupIsAlive, "a process that left the group still counts as the child's")
        await child.sweep(grace: .seconds(2))
        #expect(!child.groupIsAlive)
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func terminateReachesProcessesThatLeftTheGroup() async throws {
        let marker = uniqueSleep()
        let child = try ChildProcess.spawn(.shell("setsid sleep \(marker) >/dev/null 2>&1 </dev/null & sleep \(marker)"))
        for _ in 0..<200 where livingProcesses(matching: "sleep \(marker)").count < 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        child.terminate(grace: .seconds(2))
        #expect(await child.termination() == .signaled(SIGTERM))
        await child.sweep(grace: .seconds(2))
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func anUntrackedProcessIsLeftRunning() async throws {
        let marker = uniqueSleep()
        var spec = ProcessSpec.shell("setsid sleep \(marker) >/dev/null 2>&1 </dev/null & exit 0")
        spec.tracked = false
        let child = try ChildProcess.spawn(spec)
        #expect(await child.termination() == .exited(0))
        for _ in 0..<200 where livingProcesses(matching: "sleep \(marker)").isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        await child.sweep(grace: .seconds(1))
        let left = livingProcesses(matching: "sleep \(marker)")
        #expect(left.count == 1, "a detached run's process outlives its starter")
        for pid in left { kill(pid, SIGKILL) }
    }

    @Test func runCapturingKeepsOutputAndStopsWhenAsked() throws {
        let run = try ChildProcess.runCapturing(.shell("echo out; echo err >&2; exit 4"), grace: .seconds(1)) { false }
        #expect(run.termination == .exited(4))
        #expect(run.stdout == "out\n")
        #expect(run.stderr == "err\n")
        #expect(!run.stopped)
        let marker = uniqueSleep()
        let clock = ContinuousClock()
        let started = clock.now
        let stopped = try ChildProcess.runCapturing(.shell("sleep \(marker)"), grace: .seconds(1)) {
            clock.now - started > .milliseconds(200)
        }
        #expect(stopped.stopped)
        #expect(clock.now - started < .seconds(60))
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func manyShortProcessesAreAllReaped() async throws {
        try await withThrowingTaskGroup(of: Termination.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let child = try ChildProcess.spawn(.shell("exit \(i % 7)"))
                    return await child.termination()
                }
            }
            var total: Int32 = 0, count = 0
            for try await termination in group {
                total += termination.code
                count += 1
            }
            let expected = (0..<200).reduce(Int32(0)) { $0 + Int32($1 % 7) }
            #expect(count == 200)
            #expect(total == expected)
        }
    }
}
