import FlowModel
import Testing

@Suite("The pure schedule")
struct ScheduleTests {
    /// Runs the schedule one step at a time, failing the steps in `failing`;
    /// returns the order steps started in.
    func drain(_ schedule: inout Schedule, failing: Set<Int> = []) -> [Int] {
        var order: [Int] = []
        while let step = schedule.next() {
            order.append(step)
            schedule.finish(step, as: failing.contains(step) ? .error : .success)
        }
        return order
    }

    @Test func independentStepsRunInDeclarationOrder() {
        var schedule = Schedule(dependencies: [[], [], [], []])
        #expect(drain(&schedule) == [0, 1, 2, 3])
        #expect(schedule.isFinished)
    }

    @Test func dependenciesAreHonoured() {
        // 0 waits for 2, 1 waits for 0, 3 is free.
        var schedule = Schedule(dependencies: [[2], [0], [], []])
        #expect(drain(&schedule) == [2, 0, 1, 3])
    }

    @Test func aReadyStepTakenOutOfTurnRunsOnceEvenWhileStopping() {
        // 1 and 2 wait for 0; 1 is taken as it becomes ready (a code chain's next link).
        var schedule = Schedule(dependencies: [[], [0], [0]])
        #expect(schedule.next() == 0)
        schedule.finish(0, as: .success)
        schedule.take(2)
        #expect(schedule.status[2] == .running)
        #expect(schedule.next() == 1, "the step taken is not handed out again")
        #expect(schedule.next() == nil)
        schedule.cancel()
        schedule.finish(1, as: .canceled)
        schedule.finish(2, as: .success)
        #expect(schedule.isFinished)

        var stopping = Schedule(dependencies: [[], [0]])
        #expect(stopping.next() == 0)
        stopping.cancel()
        stopping.finish(0, as: .success)
        stopping.take(1)  // it began before the cancel: it runs, and ends
        #expect(stopping.status[1] == .running && !stopping.isFinished)
        stopping.finish(1, as: .canceled)
        #expect(stopping.isFinished)
    }

    @Test func manyStepsMayBeRunningAtOnce() {
        var schedule = Schedule(dependencies: [[], [], [0, 1]])
        #expect(schedule.next() == 0)
        #expect(schedule.next() == 1)
        #expect(schedule.next() == nil)  // 2 waits for both
        #expect(schedule.runningCount == 2)
        schedule.finish(1, as: .success)
        #expect(schedule.next() == nil)
        schedule.finish(0, as: .success)
        #expect(schedule.next() == 2)
    }

    @Test func aFailureMarksDownstreamNotRunAndStopsNewStarts() {
        // 0 -> 1 -> 2, and 3 independent.
        var schedule = Schedule(dependencies: [[], [0], [1], []])
        #expect(schedule.next() == 0)
        let blocked = schedule.finish(0, as: .error)
        #expect(blocked == [1, 2])
        #expect(schedule.blockedBy[2] == 0)
        #expect(schedule.next() == nil)  // 3 does not start after a failure
        #expect(schedule.isFinished)
        #expect(schedule.closePending(reason: "stopped") == [3])
        #expect(schedule.status == [.error, .notRun, .notRun, .notRun])
    }

    @Test func keepGoingRunsWhatDoesNotDependOnTheFailure() {
        var schedule = Schedule(dependencies: [[], [0], [1], []], policy: .keepGoing)
        #expect(drain(&schedule, failing: [0]) == [0, 3])
        #expect(schedule.status == [.error, .notRun, .notRun, .success])
    }

    @Test func admissionCanHoldAStepBack() {
        var schedule = Schedule(dependencies: [[], []])
        #expect(schedule.next(admit: { _ in false }) == nil)
        #expect(schedule.next() == 0)
    }

    @Test func aStepThatDoesNotFitDoesNotHoldBackLaterOnes() {
        var schedule = Schedule(dependencies: [[], [], []])
        #expect(schedule.next(admit: { $0 != 0 }) == 1)
        #expect(schedule.next(admit: { $0 != 0 }) == 2)
        #expect(schedule.next() == 0, "the refused step is offered again")
        #expect(schedule.next() == nil)
    }

    @Test func aCanceledRunClosesPendingStepsAsCanceled() {
        var schedule = Schedule(dependencies: [[], [0], [1]])
        let first = schedule.next()
        #expect(first == 0)
        schedule.cancel()
        #expect(schedule.next() == nil)
        schedule.finish(0, as: .canceled)
        #expect(schedule.closePending(as: .canceled, reason: "canceled before it started") == [1, 2])
        #expect(schedule.status == [.canceled, .canceled, .canceled])
        #expect(schedule.reasons[1] == "canceled before it started")
        #expect(schedule.isFinished)
    }

    @Test func completedStepsNeverStartAndReleaseTheirDependents() {
        var schedule = Schedule(dependencies: [[], [0], [1], []], completed: [0, 3])
        #expect(schedule.status == [.success, .pending, .pending, .success])
        #expect(drain(&schedule) == [1, 2])
        #expect(schedule.isFinished)
    }
}
