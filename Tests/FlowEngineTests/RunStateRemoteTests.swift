import FlowEngine
import FlowModel
import Testing

@Suite("The run as a state machine: a cluster's jobs released, held and settled")
struct RunStateRemoteTests {
    static let steps = [step("a", worker: "hpc"), step("b", after: ["a"], worker: "hpc")]

    @Test func aDependentIsReleasedToTheClusterOnceTheJobItWaitsForIsSubmitted() throws {
        var run = try Machine(Self.steps, workers: cluster, jobs: 1)
        #expect(launches(run.begin()).map(\.timeout) == [nil], "a cluster enforces a job's time itself")
        let submitted = run.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }
        #expect(submitted.first == .observe(.stepSubmitted(step: "a", index: 0, remoteID: "101")))
        #expect(launches(submitted).map(\.after) == [["101"]])
        #expect(run.state.released == [1])
        #expect(run.status("b") == .pending, "released, not yet running")
        _ = run.on { $0.submitted(1, attempt: 1, remoteID: "102", adopted: false) }
        // Its job ended before a's did (one poll saw both): it is held until a ends.
        #expect(finished(run.end("b")).isEmpty)
        let settled = run.end("a")
        #expect(finished(settled) == ["a": .success, "b": .success])
        #expect(settled.last == .finish)
        #expect(run.state.states[1].startedAt != nil)
    }

    @Test func aReleasedStepWhoseDependencyFailedIsStoppedAndNotRun() throws {
        var run = try Machine(Self.steps, workers: cluster)
        _ = run.begin()
        _ = run.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }
        _ = run.on { $0.submitted(1, attempt: 1, remoteID: "102", adopted: false) }
        let failed = run.fail("a")
        #expect(stops(failed) == [1])
        #expect(finished(failed) == ["a": .error])
        let notRun = run.killed("b")
        #expect(finished(notRun) == ["b": .notRun])
        #expect(run.state.states[1].messages == ["not run: depends on 'a', which failed"])
        #expect(notRun.last == .finish)
    }

    @Test func aHeldStepIsNotRunWhenItsDependencyFailsAfterItsJobEnded() throws {
        var run = try Machine(Self.steps, workers: cluster)
        _ = run.begin()
        _ = run.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }
        _ = run.end("b")
        let failed = run.fail("a")
        #expect(finished(failed) == ["a": .error, "b": .notRun])
        #expect(failed.last == .finish)
    }

    @Test func nothingIsReleasedOnAJobThatMayBeRetriedOrWasAdoptedOrWhileStopping() throws {
        var retried = try Machine([step("a", worker: "hpc", retries: 1), step("b", after: ["a"], worker: "hpc")],
                                  workers: cluster)
        _ = retried.begin()
        #expect(started(retried.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }).isEmpty)

        var adopted = try Machine(Self.steps, workers: cluster)
        _ = adopted.begin()
        #expect(started(adopted.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: true) }).isEmpty)

        var canceling = try Machine(Self.steps, workers: cluster)
        _ = canceling.begin()
        _ = canceling.on { $0.cancel() }
        #expect(started(canceling.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }).isEmpty)
        #expect(canceling.on { $0.submitted(0, attempt: 2, remoteID: "1", adopted: false) }.isEmpty, "a stale submission")
    }

    @Test func nothingIsReleasedOnAJobWhoseValuesTheDependentMayUse() throws {
        var publisher = StepInfo(name: "a", worker: "hpc", values: ["n"])
        publisher.retryDelay = 0.5
        var run = try Machine([.container(ContainerStep(info: publisher, commands: ["true"])),
                               step("b", after: ["a"], worker: "hpc")], workers: cluster)
        _ = run.begin()
        #expect(started(run.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }).isEmpty)
        #expect(run.state.released.isEmpty)
        let ended = run.end("a", changes: ["n": .integer(3)])
        #expect(started(ended) == [1], "b starts once a's values are known")
        #expect(run.state.vars["n"] == .integer(3))
    }

    @Test func remoteStepsStartWithoutALocalSlot() throws {
        var run = try Machine([step("local"), step("r1", worker: "hpc"), step("r2", worker: "hpc")], workers: cluster,
                              jobs: 1)
        #expect(started(run.begin()) == [0, 1, 2])
        #expect(run.state.runningLocal == 1)
    }

    @Test func aCanceledRunEndsAHeldStepCanceled() throws {
        var run = try Machine(Self.steps, workers: cluster)
        _ = run.begin()
        _ = run.on { $0.submitted(0, attempt: 1, remoteID: "101", adopted: false) }
        _ = run.end("b")
        _ = run.on { $0.cancel() }
        let ended = run.killed("a")
        #expect(finished(ended) == ["a": .canceled, "b": .canceled])
        #expect(ended.last == .finish)
    }
}
