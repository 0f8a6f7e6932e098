@testable import FlowEngine
import FlowModel
import Foundation
import Synchronization
import Testing

/// An engine whose jobs end when the test says so, counting its calls.
private final class ScriptedEngine: RemoteEngine {
    struct Calls {
        var polls: [[String]] = []
        var stops: [[String]] = []
    }

    let states = Mutex<[String: RemoteState]>([:])
    let calls = Mutex(Calls())

    func submit(_ job: RemoteJob) async throws(RemoteError) -> String { "1" }

    func poll(_ ids: [String]) async throws(RemoteError) -> [String: RemoteState] {
        calls.withLock { $0.polls.append(ids.sorted()) }
        return states.withLock { states in states.filter { ids.contains($0.key) } }
    }

    func stop(_ ids: [String]) async {
        calls.withLock { $0.stops.append(ids.sorted()) }
        states.withLock { states in for id in ids { states[id] = .canceled(reason: "") } }
    }

    func stopNow(_ ids: [String]) {}

    func fetch(_ handle: RemoteHandle, logs: StepLogPaths, from offsets: (stdout: off_t, stderr: off_t),
               keep: Int) async -> RemoteResult { RemoteResult() }
}

@Suite("Following remote jobs")
struct RemoteMonitorTests {
    @Test func onePollAskedForEveryActiveJobAndEachWaiterGetsItsEnd() async throws {
        let engine = ScriptedEngine()
        engine.states.withLock { $0 = ["1": .running, "2": .pending(reason: "Dependency"), "3": .running] }
        let monitor = RemoteMonitor(engine: engine, interval: .milliseconds(20))
        async let one = monitor.wait(for: "1")
        async let two = monitor.wait(for: "2")
        async let three = monitor.wait(for: "3")
        while engine.calls.withLock({ $0.polls.count }) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        engine.states.withLock { $0["1"] = .completed; $0["2"] = .failed(reason: "NonZeroExitCode") }
        #expect(await one == .completed)
        #expect(await two == .failed(reason: "NonZeroExitCode"))
        engine.states.withLock { $0["3"] = .timedOut }
        #expect(await three == .timedOut)
        let polls = engine.calls.withLock { $0.polls }
        #expect(polls.count >= 2)
        #expect(polls.first == ["1", "2", "3"], "one call asks for all of them")
        #expect(polls.allSatisfy { Set($0).count == $0.count })
        #expect(polls.last == ["3"], "ended jobs are asked about no more")
    }

    @Test func aJobMissingFromSeveralPollsHasVanished() async {
        let engine = ScriptedEngine()
        let monitor = RemoteMonitor(engine: engine, interval: .milliseconds(10))
        #expect(await monitor.wait(for: "77") == .vanished)
        #expect(engine.calls.withLock { $0.polls.count } == RemoteMonitor.missingLimit)
    }

    @Test func stopsBetweenTwoPollsGoOutInOneCall() async throws {
        let engine = ScriptedEngine()
        engine.states.withLock { $0 = ["5": .running, "6": .running] }
        let monitor = RemoteMonitor(engine: engine, interval: .milliseconds(50))
        async let five = monitor.wait(for: "5")
        async let six = monitor.wait(for: "6")
        try await Task.sleep(for: .milliseconds(10))
        monitor.stop("5")
        monitor.stop("6")
        #expect(await five == .canceled(reason: ""))
        #expect(await six == .canceled(reason: ""))
        #expect(engine.calls.withLock { $0.stops } == [["5", "6"]])
    }
}

@Suite("Slurm's commands")
struct SlurmEngineTests {
    @Test func squeueLinesBecomeStates() {
        let states = SlurmEngine.states(fromQueue: """
            32|COMPLETED|None
            33|FAILED|NonZeroExitCode
            34|OUT_OF_MEMORY|OutOfMemory
            50|PENDING|Dependency
            49|RUNNING|None
            12|CANCELLED|DependencyNeverSatisfied
            2|TIMEOUT|TimeLimit
            7|NODE_FAIL|None
            8|COMPLETING|None
            9|PREEMPTED|None
            10|PENDING|PartitionConfig
            """)
        #expect(states["10"] == .unrunnable(reason: "PartitionConfig"), "a job that would wait for ever")
        #expect(states["32"] == .completed)
        #expect(states["33"] == .failed(reason: "NonZeroExitCode"))
        #expect(states["34"] == .outOfMemory)
        #expect(states["50"] == .pending(reason: "Dependency"))
        #expect(states["49"] == .running)
        #expect(states["12"] == .canceled(reason: "DependencyNeverSatisfied"))
        #expect(states["2"] == .timedOut)
        #expect(states["7"] == .nodeFailed)
        #expect(states["8"] == .running, "still completing")
        #expect(states["9"] == .other(state: "PREEMPTED", reason: ""))
    }

    @Test func sbatchGetsTheStepsResourcesLimitDependenciesAndTheWorkersOptionsLast() {
        let job = RemoteJob(name: "flowlua-r1-s", script: "", workingDirectory: "/runs/r1", stdout: "/runs/r1/.logs/s.stdout",
                            stderr: "/runs/r1/.logs/s.stderr", cpus: 2, memory: 64 << 20, timeLimit: 61, after: ["10", "11"],
                            cluster: ClusterOptions(partition: "debug", account: "lab", options: ["--qos=low", "--time=5"]))
        let arguments = SlurmEngine.arguments(job)
        for expected in ["--parsable", "--job-name=flowlua-r1-s", "--chdir=/runs/r1", "--output=/runs/r1/.logs/s.stdout",
                         "--error=/runs/r1/.logs/s.stderr", "--cpus-per-task=2", "--mem=64M", "--time=2",
                         "--dependency=afterok:10:11", "--partition=debug", "--account=lab"] {
            #expect(arguments.contains(expected), "\(expected)")
        }
        #expect(arguments.suffix(2) == ["--qos=low", "--time=5"], "the worker's own options come last, and win")
        #expect(Slurm.minutes(5) == 1 && Slurm.minutes(60) == 1 && Slurm.minutes(60.5) == 2)
    }

    @Test func endStatesReadAsTheStepsResult() {
        let commands = ["echo a", "exit 3"]
        let info = StepInfo(name: "s", memory: 64 << 20, timeout: 90)
        func error(_ end: RemoteState, exit: (Int, Int32)? = nil) -> String? {
            SlurmWorker.result(of: end, job: "42", exit: exit.map { (command: $0.0, status: $0.1) }, commands: commands,
                               info: info).error
        }
        #expect(error(.completed, exit: (0, 0)) == nil)
        #expect(error(.failed(reason: "NonZeroExitCode"), exit: (2, 3)) == "command 2 exited with status 3: exit 3")
        #expect(error(.timedOut) == "timed out: Slurm stopped job 42 at its time limit of 2 min (TIMEOUT)")
        #expect(error(.outOfMemory)?.contains("ran out of memory (OUT_OF_MEMORY)") == true)
        #expect(error(.nodeFailed) == "the node running Slurm job 42 failed (NODE_FAIL)")
        #expect(error(.canceled(reason: "DependencyNeverSatisfied"))?.hasPrefix("not run: a step it waits for failed") == true)
        #expect(error(.vanished, exit: (0, 0)) == nil, "a job gone from the queue ended as its exit file says")
        #expect(error(.vanished)?.contains("left no exit status") == true)
    }
}
