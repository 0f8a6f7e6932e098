import FlowEngine
import FlowModel
import Testing

@Suite("The run as a state machine: steps added as it runs")
struct RunStateGrowthTests {
    static let parts = [step("p1"), step("p2"), step("p3")]

    @Test func addedStepsStartOnceTheirGeneratorSucceedsAndItsDependentsWaitForThemAll() throws {
        var run = try Machine([step("split"), step("gather", after: ["split"]), step("other")], jobs: 2)
        #expect(started(run.begin()) == [0, 2])
        let (grown, staged) = try run.state.plan.adding(Self.parts, by: 0)
        #expect(staged.isEmpty)
        #expect(grown.dependencies[3...].allSatisfy { $0 == [0] }, "an added step waits for its generator")
        #expect(grown.dependencies[1] == [0, 3, 4, 5], "the generator's dependent waits for what it added")
        #expect(grown.dependencies[2] == [], "other steps do not")
        let split = run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0), grown: grown) }
        #expect(split.contains(.observe(.stepsAdded(by: "split", index: 0, steps: Self.parts.map(StepEntry.init)))))
        #expect(started(split) == [3], "one slot is free: 'other' still runs")
        #expect(run.state.states.count == 6)
        _ = run.end("other")
        _ = run.end("p1")
        #expect(started(run.end("p2")).isEmpty, "the gather waits for p3 too")
        #expect(started(run.end("p3")) == [1])
        #expect(run.end("gather").last == .finish)
        #expect(run.close().status == .success)
    }

    @Test func addedStepsOfAFailedAttemptNeverJoinTheRun() throws {
        var run = try Machine([step("split", retries: 1), step("gather", after: ["split"])])
        _ = run.begin()
        let (grown, _) = try run.state.plan.adding(Self.parts, by: 0)
        let failed = run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 1), grown: grown) }
        #expect(!failed.contains { if case .observe(.stepsAdded) = $0 { true } else { false } })
        #expect(run.state.plan.workflow.steps.count == 2)
        _ = run.on { $0.retryDue(0) }
        #expect(started(run.end("split")) == [1], "the retry added nothing")
    }

    @Test func aFailedAddedStepBlocksTheGatherAndAKeepGoingRunFinishesTheRest() throws {
        var run = try Machine([step("split"), step("gather", after: ["split"])], jobs: 4, policy: .keepGoing)
        _ = run.begin()
        let (grown, _) = try run.state.plan.adding(Self.parts, by: 0)
        _ = run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0), grown: grown) }
        #expect(finished(run.fail("p2")) == ["p2": .error, "gather": .notRun])
        _ = run.end("p1")
        #expect(run.end("p3").last == .finish)
        #expect(run.close().failed == 3, "p2, the first added step that failed")
    }

    @Test func anAddedStepMayAddStepsAndTheGatherWaitsForThoseToo() throws {
        var run = try Machine([step("split"), step("gather", after: ["split"])])
        _ = run.begin()
        let (first, _) = try run.state.plan.adding([step("p1")], by: 0)
        _ = run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0), grown: first) }
        let (second, _) = try run.state.plan.adding([step("q1"), step("q2", after: ["q1"])], by: 2)
        #expect(second.dependencies[1] == [0, 2, 3, 4])
        #expect(started(run.on { $0.ended(2, attempt: 1, ExecResult(exitCode: 0), grown: second) }) == [3])
        #expect(started(run.end("q1")) == [4])
        #expect(started(run.end("q2")) == [1])
    }

    @Test func addedStepsThatSucceededBeforeARestartAreDoneWhenAddedAgain() throws {
        var run = try Machine([step("split"), step("gather", after: ["split"])], carryover: Carryover(added: ["p2"]))
        _ = run.begin()
        let (grown, _) = try run.state.plan.adding(Self.parts, by: 0)
        let split = run.on { $0.ended(0, attempt: 1, ExecResult(exitCode: 0), grown: grown) }
        #expect(split.contains(.observe(.stepNotRun(step: "p2", index: 3, status: .success,
                                                    reason: "succeeded before the restart"))))
        #expect(started(split) == [2, 4], "p2 does not run again")
        _ = run.end("p1")
        #expect(started(run.end("p3")) == [1])
    }

    @Test func addedStepsAreCheckedAsDeclaredOnesAre() throws {
        let plan = try Plan(Workflow(name: "w", steps: [step("split"), step("gather", after: ["split"])]), arguments: [:])
        func error(_ steps: [Step]) -> String {
            do { _ = try plan.adding(steps, by: 0); return "no error" } catch { return error.message }
        }
        #expect(error([step("gather")]).contains("duplicate step name 'gather'"))
        #expect(error([step("p", after: ["nope"])]).contains("after: unknown step 'nope'"))
        #expect(error([step("p", after: ["gather"])]) == "the steps form a cycle: 'gather' -> 'p' -> 'gather' "
            + "(a step 'split' added waits for one that waits for 'split')")
        #expect(error([step("a/b")]).contains("a/b"))
        let missing = ContainerStep(info: StepInfo(name: "p", inputs: ["absent.txt"]), commands: ["true"])
        #expect(error([.container(missing)]).contains("input 'absent.txt' does not exist"))
    }
}
