import FlowEngine
import FlowModel
import Testing

@Suite("The run as a state machine: preparing steps, the cache, run variables, callbacks, restarts")
struct RunStatePreparationTests {
    @Test func aStepBeingPreparedHoldsItsSlotUntilItStartsOrIsReused() throws {
        var run = try Machine([step("a"), step("b"), step("c", after: ["a"])], jobs: 2, prepares: true)
        #expect(run.begin() == [.prepare(0), .prepare(1)])
        #expect(run.state.runningLocal == 2)
        #expect(started(run.on { $0.prepared(1) }) == [1])
        // An earlier result stands for 'a': its dependent is prepared next.
        let reused = run.on { $0.prepared(0, reusing: RunState.Reuse(runID: "r1", changes: ["n": .integer(3)])) }
        #expect(reused.contains(.observe(.stepCached(step: "a", index: 0, from: "r1"))))
        #expect(reused.contains(.observe(.varsChanged(["n": .integer(3)]))))
        #expect(reused.contains(.prepare(2)))
        #expect(started(reused).isEmpty)
        #expect(run.state.cachedFrom == [0: "r1"])
        #expect(run.status("a") == .success)
        _ = run.on { $0.prepared(2) }
        _ = run.end("b")
        #expect(run.end("c").last == .finish)
        #expect(run.state.vars == ["n": .integer(3)])
    }

    @Test func anAnswerToNoPrepareIsAViolationATestCanSee() throws {
        var run = try Machine([step("a")], prepares: true)
        _ = run.begin()
        _ = run.on { $0.prepared(0) }
        var copy = run.state
        #expect(copy.prepared(0).isEmpty)
        #expect(copy.violations == ["a: prepared but not being prepared"])
    }

    @Test func aStepStillBeingPreparedWhenTheRunIsCanceledNeverStarts() throws {
        var run = try Machine([step("a"), step("b"), step("c", after: ["a"])], jobs: 2, prepares: true)
        #expect(run.begin() == [.prepare(0), .prepare(1)])
        _ = run.on { $0.prepared(1) }
        let canceled = run.on { $0.cancel() }
        #expect(stops(canceled) == [1], "only what started is stopped")
        #expect(canceled.contains(.observe(.stepNotRun(step: "a", index: 0, status: .canceled,
                                                       reason: "canceled before it started"))),
                "the run does not wait for a's inputs to be hashed")
        #expect(run.state.runningLocal == 1)
        let ended = run.killed("b")
        #expect(finished(ended) == ["b": .canceled])
        #expect(ended.last == .finish)
        #expect(run.on { $0.prepared(0) }.isEmpty, "the late answer is no news, and no violation")
        #expect(run.close().status == .canceled)
        #expect(run.status("a") == .canceled && run.status("c") == .canceled)
    }

    @Test func aStepStillBeingPreparedWhenAnotherFailsStartsAsTakenStepsDo() throws {
        var run = try Machine([step("a"), step("b"), step("c", after: ["a"])], jobs: 2, prepares: true)
        _ = run.begin()
        _ = run.on { $0.prepared(1) }
        _ = run.fail("b")
        #expect(started(run.on { $0.prepared(0) }) == [0], "taken before b failed: it runs, as running steps finish")
        #expect(finished(run.end("a")) == ["a": .success])
        #expect(run.close().status == .error)
        #expect(run.status("c") == .notRun, "nothing new starts after the failure")
    }

    @Test func aSuccessMergesItsRunVariablesAndIsRememberedForResume() throws {
        var run = try Machine([step("a"), step("b", after: ["a"])], prepares: true)
        _ = run.begin()
        _ = run.on { $0.prepared(0) }
        let actions = run.end("a", changes: ["x": .string("1"), "gone": nil])
        #expect(actions.contains(.remember(0, changes: ["x": .string("1"), "gone": nil], resolveNow: false)))
        #expect(actions.contains(.observe(.varsChanged(["x": .string("1")]))))
        #expect(!run.fail("a").contains(.remember(0, changes: [:], resolveNow: false)), "an ended attempt is not ended again")
        // A failure is not remembered, and without a cache nothing is.
        var plain = try Machine([step("a")])
        _ = plain.begin()
        #expect(!plain.end("a").contains { if case .remember = $0 { true } else { false } })
    }

    @Test func stepCallbacksAreCalledForHowTheStepEnded() throws {
        let callbacks = Callbacks(onStart: function, onSuccess: function, onFailure: function, onCancel: function)
        var run = try Machine([step("a", retries: 1, callbacks: callbacks), step("b", callbacks: callbacks),
                               step("c", callbacks: callbacks)], jobs: 3, policy: .keepGoing)
        let launches = launches(run.begin())
        #expect(launches.map(\.callsOnStart) == [true, true, true])
        _ = run.fail("a")
        #expect(run.on { $0.retryDue(0) }.contains { if case .start(let launch) = $0 { !launch.callsOnStart } else { false } },
                "on_start is called for the first attempt only")
        let success = run.end("a")
        guard case .callback(let callback)? = success.first(where: { if case .callback = $0 { true } else { false } }) else {
            Issue.record("no callback in \(success)")
            return
        }
        #expect(callback.status == .success && callback.error == nil)
        #expect(callback.snapshot.name == "a" && callback.snapshot.attempt == 2 && callback.snapshot.status == .success)
        let failure = run.fail("b")
        #expect(failure.contains { if case .callback(let c) = $0 { c.status == .error && c.error != nil } else { false } })
        let cancel = run.on { $0.cancel() }
        #expect(!cancel.contains { if case .callback = $0 { true } else { false } }, "a running step ends when its attempt does")
        let canceled = run.killed("c")
        #expect(canceled.contains { if case .callback(let c) = $0 { c.status == .canceled } else { false } })
    }

    @Test func stepsThatSucceededBeforeARestartDoNotRunAndTheirJobsAreFollowedAgain() throws {
        let carryover = Carryover(completed: [0], vars: ["k": .boolean(true)], remote: [1: "900", 0: "800"])
        var run = try Machine([step("a", worker: "hpc"), step("b", after: ["a"], worker: "hpc"),
                               step("c", worker: "hpc")], workers: cluster, carryover: carryover)
        #expect(run.status("a") == .success)
        #expect(run.state.states[0].messages == ["succeeded before the restart"])
        #expect(run.state.vars == ["k": .boolean(true)])
        #expect(run.state.adoptable == [1: "900"], "the job of a step that succeeded is not followed")
        let launches = launches(run.begin())
        #expect(launches.map(\.index) == [1, 2])
        #expect(launches.map(\.adopted) == ["900", nil])
        #expect(run.state.adoptable.isEmpty)
    }

    @Test func theRunEndsWithTheFirstFailureAndItsError() throws {
        var run = try Machine([step("a"), step("b")], policy: .keepGoing)
        _ = run.begin()
        _ = run.end("b", exit: 2, error: "boom")
        _ = run.fail("a")
        let end = run.close()
        #expect(end.status == .error)
        #expect(end.failed == 0, "the first declared step that failed")
        #expect(run.state.run.messages == [end.error ?? ""])
    }
}
