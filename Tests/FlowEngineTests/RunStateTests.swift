import FlowEngine
import FlowModel
import Testing

/// The run's state machine alone: every event in the states it can arrive
/// in, with no process, file or timer.
@Suite("The run as a state machine: order, slots, failures, retries, timeouts, cancel")
struct RunStateTests {
    @Test func nothingStartsBeforeTheStepsMayStartAndEachStartsOnceItsDependenciesSucceed() throws {
        var run = try Machine([step("a"), step("b", after: ["a"]), step("c", after: ["a", "b"])])
        #expect(run.state.running.isEmpty)
        #expect(started(run.begin()) == [0])
        #expect(started(run.end("a")) == [1])
        let actions = run.end("b")
        #expect(started(actions) == [2])
        #expect(finished(actions) == ["b": .success])
        let last = run.end("c")
        #expect(last.last == .finish)
        #expect(run.close() == RunState.RunEnd(status: .success, failed: nil, error: nil))
        #expect(run.state.run.status == .success)
    }

    @Test func jobsAndReservedResourcesBoundWhatRunsAtOnce() throws {
        var run = try Machine([step("a"), step("b"), step("c")], jobs: 2)
        #expect(started(run.begin()) == [0, 1])
        #expect(started(run.end("b")) == [2])
        #expect(started(run.end("a")).isEmpty)

        var cpus = try Machine([step("big", cpus: 2), step("small", cpus: 1), step("other", cpus: 2)],
                               capacity: Resources(cpus: 3, memory: 1 << 30))
        // The earliest declared step that fits starts; a later one that fits may pass one that does not.
        #expect(started(cpus.begin()) == [0, 1])
        #expect(started(cpus.end("small")).isEmpty, "2 of 3 cpus are held: 'other' needs 2")
        #expect(started(cpus.end("big")) == [2])
    }

    @Test func aFailureBlocksItsDependentsAndStopsNewStartsUnlessKeepGoing() throws {
        let steps = [step("a"), step("b", after: ["a"]), step("c")]
        var stop = try Machine(steps, jobs: 1)
        #expect(started(stop.begin()) == [0])
        let actions = stop.fail("a")
        #expect(finished(actions) == ["a": .error, "b": .notRun])
        #expect(started(actions).isEmpty, "stop on failure: 'c' does not start")
        #expect(actions.last == .finish)
        #expect(stop.close().failed == 0)
        #expect(stop.status("c") == .notRun)
        #expect(stop.state.states[2].messages == ["not started: step 'a' failed"])

        var going = try Machine(steps, jobs: 1, policy: .keepGoing)
        _ = going.begin()
        #expect(started(going.fail("a")) == [2])
        #expect(going.end("c").last == .finish)
        #expect(going.close().status == .error)
        #expect(going.status("b") == .notRun)
    }

    @Test func aFailedStepWithRetriesWaitsItsDelayThenRunsAgain() throws {
        var run = try Machine([step("a", retries: 2), step("b", after: ["a"])])
        _ = run.begin()
        let first = run.fail("a")
        #expect(first.contains(.waitToRetry(0, seconds: 0.5)))
        #expect(!first.contains(.finish), "a step waiting to retry keeps the run going")
        #expect(run.status("a") == .running)
        let again = run.on { $0.retryDue(0) }
        #expect(launches(again).map(\.attempt) == [2])
        #expect(run.on { $0.retryDue(0) }.isEmpty, "a retry comes due once")
        #expect(run.fail("a").contains(.waitToRetry(0, seconds: 1)), "the delay doubles")
        _ = run.on { $0.retryDue(0) }
        #expect(started(run.end("a")) == [1])
        #expect(run.state.attempts[0] == 3)
    }

    @Test func aRetryDueWaitsForASlot() throws {
        var run = try Machine([step("a", retries: 1), step("b"), step("c")], jobs: 2)
        #expect(started(run.begin()) == [0, 1])
        #expect(started(run.fail("a")) == [2], "the slot of a step waiting to retry is free")
        #expect(started(run.on { $0.retryDue(0) }).isEmpty, "no slot: it waits in the queue")
        #expect(run.state.retryQueue == [0])
        #expect(launches(run.end("b")).map(\.attempt) == [2])
    }

    @Test func aStepThatRanOutOfTimeIsStoppedAndFailsAsTimedOut() throws {
        var run = try Machine([step("slow", retries: 1, timeout: 2)])
        let launch = try #require(launches(run.begin()).first)
        #expect(launch.timeout == 2)
        #expect(run.on { $0.timedOut(0, attempt: 1) } == [.stop(0)])
        let ended = run.killed("slow")
        #expect(ended.first == .cancelTimer(0))
        #expect(ended.contains(.waitToRetry(0, seconds: 0.5)))
        _ = run.on { $0.retryDue(0) }
        #expect(run.on { $0.timedOut(0, attempt: 1) }.isEmpty, "the first attempt's timer came late")
        // An attempt that exits well after its stop was asked for still timed out.
        _ = run.on { $0.timedOut(0, attempt: 2) }
        let last = run.end("slow")
        #expect(finished(last) == ["slow": .error])
        #expect(run.state.results[0]?.error == "timed out after 2s")
        #expect(run.on { $0.timedOut(0, attempt: 2) }.isEmpty, "a timer after the end does nothing")
    }

    @Test func endsOfAttemptsThatAreNotRunningAreIgnored() throws {
        var run = try Machine([step("a", retries: 1), step("b")])
        _ = run.begin()
        #expect(run.on { $0.ended(0, attempt: 2, ExecResult(exitCode: 0)) }.isEmpty, "an attempt not made")
        _ = run.fail("a")
        #expect(run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0)) }.isEmpty, "an attempt that ended")
        #expect(run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0)) }.isEmpty)
        #expect(run.status("a") == .running, "still waiting to retry")
    }

    @Test func aCancelStopsWhatRunsAndEndsWhatWaits() throws {
        var run = try Machine([step("a"), step("b", retries: 1), step("c", after: ["a"]), step("d", retries: 1)],
                              jobs: 3)
        #expect(started(run.begin()) == [0, 1, 3])
        _ = run.fail("b")
        _ = run.fail("d")
        _ = run.on { $0.retryDue(3) }  // a slot is free: it runs again
        #expect(run.state.running == [0, 3])
        let cancel = run.on { $0.cancel() }
        #expect(cancel.first == .observe(.runCanceling))
        #expect(stops(cancel) == [0, 3])
        #expect(cancel.contains(.cancelTimer(1)))
        #expect(finished(cancel) == ["b": .canceled])
        #expect(run.state.states[1].messages.last == "canceled while waiting to retry")
        #expect(run.on { $0.cancel() }.isEmpty, "a second cancel changes nothing")
        #expect(finished(run.end("a")) == ["a": .success], "an attempt that succeeds while the run stops succeeded")
        let last = run.fail("d")
        #expect(finished(last) == ["d": .canceled], "no retry once the run stops")
        #expect(last.last == .finish)
        #expect(run.close().status == .canceled)
        #expect(run.status("c") == .canceled)
        #expect(run.state.states[2].messages == ["canceled before it started"])
        #expect(run.on { $0.cancel() }.isEmpty, "after the end a cancel comes too late")
    }

    @Test func aCancelBeforeTheStepsMayStartIsKeptAndNothingStarts() throws {
        var run = try Machine([step("a"), step("b")])
        #expect(run.on { $0.cancel() } == [.observe(.runCanceling)])
        #expect(run.begin() == [.finish])
        #expect(run.close().status == .canceled)
        #expect(run.state.states.allSatisfy { $0.status == .canceled })
    }

    @Test func aRetryTimerThatFiresAfterACancelDoesNothing() throws {
        var run = try Machine([step("a", retries: 1), step("b")], jobs: 2)
        _ = run.begin()
        _ = run.fail("a")
        // A cancel while an attempt runs, then a timer that fired before it was canceled.
        _ = run.on { $0.cancel() }
        #expect(run.status("a") == .canceled)
        #expect(run.on { $0.retryDue(0) }.isEmpty)
        #expect(run.end("b").last == .finish)
    }

    @Test func anEmptyPlanFinishesAtOnce() throws {
        var run = try Machine([])
        #expect(run.begin() == [.finish])
        #expect(run.close().status == .success)
    }
}
