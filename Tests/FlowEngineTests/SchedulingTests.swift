import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Scheduling: order, parallelism, resources, failure policy")
struct SchedulingTests {
    @Test func afterOrdersStepsEvenWhenJobsAllowMore() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("c", [traced("c", "sleep 0.05")], after: ["b"]),
            container("b", [traced("b", "sleep 0.05")], after: ["a"]),
            container("a", [traced("a", "sleep 0.05")]),
        ])
        let (report, _) = try await run(workflow, jobs: 4)
        #expect(report.status == .success)
        let spans = report.intervals()
        let (a, b, c) = (try #require(spans["a"]), try #require(spans["b"]), try #require(spans["c"]))
        #expect(a.end <= b.start)
        #expect(b.end <= c.start)
    }

    @Test func jobsBoundHowManyStepsRunAtOnce() async throws {
        let steps = (1...6).map { container("s\($0)", [traced("s\($0)", "sleep 0.2")]) }
        let (two, _) = try await run(Workflow(name: "w", steps: steps), jobs: 2)
        #expect(two.status == .success)
        #expect(two.maxConcurrency() == 2)
        let (one, _) = try await run(Workflow(name: "w", steps: Array(steps.prefix(3))), jobs: 1)
        #expect(one.maxConcurrency() == 1)
    }

    @Test func declaredCpusAreReservedAgainstTheCapacity() async throws {
        let big = (1...3).map { container("big\($0)", [traced("big\($0)", "sleep 0.2")], cpus: 2) }
        let (report, _) = try await run(Workflow(name: "w", steps: big), jobs: 8,
                                        capacity: Resources(cpus: 2, memory: 1 << 30))
        #expect(report.status == .success)
        #expect(report.maxConcurrency() == 1, "each step takes both cores")
        let small = (1...4).map { container("small\($0)", [traced("small\($0)", "sleep 0.2")], cpus: 1) }
        let (shared, _) = try await run(Workflow(name: "w", steps: small), jobs: 8,
                                        capacity: Resources(cpus: 2, memory: 1 << 30))
        #expect(shared.maxConcurrency() == 2)
    }

    @Test func declaredMemoryIsReservedAgainstTheCapacity() async throws {
        let steps = (1...3).map { container("m\($0)", [traced("m\($0)", "sleep 0.2")], memory: 600 << 20) }
        let (report, _) = try await run(Workflow(name: "w", steps: steps), jobs: 8,
                                        capacity: Resources(cpus: 8, memory: 1 << 30))
        #expect(report.status == .success)
        #expect(report.maxConcurrency() == 1)
    }

    @Test func aStepThatDoesNotFitWaitsWhileSmallerOnesRun() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("first", [traced("first", "sleep 0.3")], cpus: 1),
            container("wide", [traced("wide", "sleep 0.05")], cpus: 2),
            container("narrow", [traced("narrow", "sleep 0.05")], cpus: 1),
        ])
        let (report, _) = try await run(workflow, jobs: 4, capacity: Resources(cpus: 2, memory: 1 << 30))
        let spans = report.intervals()
        let (first, wide, narrow) = (try #require(spans["first"]), try #require(spans["wide"]), try #require(spans["narrow"]))
        #expect(narrow.start < first.end, "narrow fits beside first")
        #expect(wide.start >= first.end, "wide needs both cores")
    }

    @Test func aStepNeedingMoreThanTheCapacityIsAnErrorBeforeAnythingRuns() async throws {
        let workflow = Workflow(name: "w", steps: [container("huge", ["touch ran.txt"], cpus: 16)])
        await #expect(throws: PlanError.self) {
            _ = try await run(workflow, capacity: Resources(cpus: 2, memory: 1 << 30))
        }
        do {
            _ = try await run(workflow, capacity: Resources(cpus: 2, memory: 1 << 30))
        } catch {
            #expect("\(error)" == "steps[1] (container 'huge'): cpus: needs 16, but only 2 can be reserved (--cpus)")
        }
    }

    @Test func byDefaultAFailureLetsRunningStepsFinishAndStartsNothingNew() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("fails", ["sleep 0.1; exit 2"]),
            container("running", ["sleep 0.5; touch running.txt"]),
            container("later", ["touch later.txt"]),
            container("downstream", ["true"], after: ["fails"]),
        ])
        let (report, _) = try await run(workflow, jobs: 2)
        #expect(report.status == .error)
        #expect(report.step("running")?.state.status == .success)
        #expect(report.file("running.txt") != nil)
        #expect(report.step("later")?.state.status == .notRun)
        #expect(report.step("later")?.state.messages == ["not started: step 'fails' failed"])
        #expect(report.step("downstream")?.state.messages == ["not run: depends on 'fails', which failed"])
        #expect(report.file("later.txt") == nil)
    }

    @Test func keepGoingRunsEverythingThatDoesNotDependOnAFailure() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("fails", ["exit 2"]),
            container("independent", ["touch independent.txt"]),
            container("downstream", ["touch downstream.txt"], after: ["fails"]),
            container("further", ["touch further.txt"], after: ["downstream"]),
            container("after-independent", ["touch ai.txt"], after: ["independent"]),
        ])
        let (report, _) = try await run(workflow, jobs: 1, policy: .keepGoing)
        #expect(report.status == .error)
        #expect(report.steps.map(\.state.status) == [.error, .success, .notRun, .notRun, .success])
        #expect(report.file("ai.txt") != nil)
        #expect(report.file("downstream.txt") == nil)
    }

    @Test func everyStepEndsWithItsStateAndTimes() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("ok", ["sleep 0.05"]), container("bad", ["exit 1"], after: ["ok"]),
            container("never", ["true"], after: ["bad"]),
        ])
        let (report, _) = try await run(workflow)
        let ok = try #require(report.step("ok")?.state)
        #expect(ok.status == .success)
        #expect((ok.duration() ?? 0) >= 0.05)
        #expect(report.step("bad")?.state.finishedAt != nil)
        #expect(report.step("never")?.state.startedAt == nil)
        #expect(report.run.finishedAt != nil)
    }
}
