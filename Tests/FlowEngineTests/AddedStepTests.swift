import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Steps added as a run goes, through the driver")
struct AddedStepTests {
    static func run(_ steps: [Step], adds: [String: [Step]], failing: Set<String> = [],
                    policy: Schedule.Policy = .stopOnFailure) async throws -> (RunReport, [String], [RunEvent]) {
        let runner = RecordingRunner(failing: failing, adds: adds)
        var registry = WorkerRegistry(remote: RecordingEngine())
        registry.register(runner, for: .subprocess)
        let events = EventLog()
        let plan = try Plan(Workflow(name: "w", steps: steps), arguments: [:])
        let driver = RunDriver(plan: plan, options: RunOptions(runsDirectory: try temporaryFolder(), jobs: 1, policy: policy,
                                                               workers: registry),
                               code: nil, logger: .init(label: "test"), observe: { events.append($0) })
        return (try await driver.run(), runner.steps.map { String($0.prefix { $0 != "@" }) }, events.events)
    }

    static let parts = (1...3).map { container("part\($0)", ["true"]) }

    @Test func aGatherRunsAfterEveryStepItsGeneratorAdded() async throws {
        let (report, ran, events) = try await Self.run(
            [container("split", ["true"]), container("gather", ["true"], after: ["split"])],
            adds: ["split": Self.parts, "part2": [container("deeper", ["true"])]])
        #expect(report.status == .success)
        #expect(ran == ["split", "part1", "part2", "part3", "deeper", "gather"])
        #expect(report.steps.map(\.name) == ["split", "gather", "part1", "part2", "part3", "deeper"])
        #expect(events.contains(.stepsAdded(by: "split", index: 0, steps: Self.parts.map(StepEntry.init))))
    }

    @Test func whatAStepAddsIsCheckedAndAProblemFailsThatStep() async throws {
        let steps = [container("split", ["true"]), container("gather", ["true"], after: ["split"])]
        for (added, message) in [
            ([container("gather", ["true"])], "duplicate step name 'gather'"),
            ([container("p", ["true"], after: ["gather"])], "the steps form a cycle: 'gather' -> 'p' -> 'gather'"),
            ([container("p", ["true"], inputs: ["missing.txt"])], "input 'missing.txt' does not exist"),
        ] {
            let (report, ran, _) = try await Self.run(steps, adds: ["split": added])
            let error = report.step("split")?.result?.error ?? ""
            #expect(error.hasPrefix("the steps it added: ") && error.contains(message), "\(error)")
            #expect(report.step("gather")?.state.status == .notRun)
            #expect(ran == ["split"])
            #expect(report.steps.count == 2, "nothing of what failed joins the run")
        }
    }

    @Test func aFailedGeneratorAddsNothing() async throws {
        let (report, ran, _) = try await Self.run([container("split", ["true"])], adds: ["split": Self.parts],
                                                  failing: ["split"])
        #expect(report.status == .error)
        #expect(ran == ["split"])
        #expect(report.steps.count == 1)
    }
}
