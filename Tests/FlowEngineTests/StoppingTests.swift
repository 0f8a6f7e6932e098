import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Retries, timeouts and cancel stop whole process trees")
struct StoppingTests {
    @Test func aFlakyStepIsRetriedWithBackoffUntilItSucceeds() async throws {
        let flaky = "n=$(cat tries 2>/dev/null || echo 0); n=$((n+1)); echo $n > tries; echo try $n; date +%s%N >> times; [ $n -ge 3 ]"
        let workflow = Workflow(name: "w", steps: [container("flaky", [flaky], retries: 3, retryDelay: 0.1)])
        let (report, events) = try await run(workflow)
        #expect(report.status == .success)
        #expect(report.step("flaky")?.attempts == 3)
        #expect(report.step("flaky")?.result?.stdout == "try 3\n", "the result holds the last attempt's output")
        let retries = events.compactMap { if case .stepRetrying(_, _, let attempt, let delay, _) = $0 { (attempt, delay) } else { nil } }
        #expect(retries.map(\.0) == [1, 2])
        #expect(retries.map(\.1) == [0.1, 0.2], "each retry waits twice as long")
        let times = (report.file("times") ?? "").split(separator: "\n").compactMap { Int($0) }
        #expect(times.count == 3)
        if times.count == 3 {
            #expect(times[1] - times[0] >= 100_000_000)
            #expect(times[2] - times[1] >= 200_000_000)
        }
        let log = report.file(".logs/flaky.stdout") ?? ""
        #expect(log == "try 1\n--- flowlua: attempt 2 of 4 ---\ntry 2\n--- flowlua: attempt 3 of 4 ---\ntry 3\n")
    }

    @Test func retriesRunOutAndTheStepFails() async throws {
        let workflow = Workflow(name: "w", steps: [container("never", ["echo no >&2; exit 5"], retries: 2, retryDelay: 0.01)])
        let (report, _) = try await run(workflow)
        #expect(report.status == .error)
        #expect(report.step("never")?.attempts == 3)
        #expect(report.step("never")?.result?.exitCode == 5)
        #expect(report.step("never")?.result?.stderr == "no\n")
    }

    @Test func aTimeoutKillsTheWholeTreeAndFailsTheStep() async throws {
        let marker = uniqueSleep()
        let workflow = Workflow(name: "w", steps: [
            container("slow", ["sleep \(marker) & sleep \(marker); echo never > never.txt"], timeout: 0.5),
        ])
        let started = ContinuousClock.now
        let (report, _) = try await run(workflow)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.status == .error)
        #expect(report.step("slow")?.result?.error == "timed out after 0.5s")
        #expect(report.file("never.txt") == nil)
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func aProcessIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let marker = uniqueSleep()
        let stubborn = "trap '' TERM; sh -c \"trap '' TERM; sleep \(marker)\" & trap '' TERM; sleep \(marker); wait"
        let workflow = Workflow(name: "w", steps: [container("stubborn", [stubborn], timeout: 0.3)])
        let started = ContinuousClock.now
        let (report, _) = try await run(workflow, killGrace: .milliseconds(300))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(550), "SIGKILL waits for the grace")
        #expect(took < .seconds(60))
        #expect(report.step("stubborn")?.result?.error == "timed out after 0.3s")
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func aTimedOutStepIsRetried() async throws {
        let slowFirst = "if [ -e tried ]; then echo ok; else touch tried; sleep \(uniqueSleep()); fi"
        let workflow = Workflow(name: "w", steps: [container("slow-first", [slowFirst], retries: 1, retryDelay: 0, timeout: 0.3)])
        let (report, _) = try await run(workflow)
        #expect(report.status == .success)
        #expect(report.step("slow-first")?.attempts == 2)
    }

    @Test func processesLeftRunningBySuccessfulCommandsAreStoppedWithTheStep() async throws {
        let marker = uniqueSleep()
        let workflow = Workflow(name: "w", steps: [container("leaky", ["sleep \(marker) > /dev/null 2>&1 &", "echo next"])])
        let (report, _) = try await run(workflow)
        #expect(report.status == .success)
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }

    @Test func cancelStopsRunningStepsAndMarksEverythingCanceled() async throws {
        let marker = uniqueSleep()
        let workflow = Workflow(name: "w", steps: [
            container("running", ["sleep \(marker) & sleep \(marker)"]),
            container("retrying", ["exit 1"], retries: 5, retryDelay: 10),
            container("waiting", ["true"], after: ["running"]),
        ])
        let started = ContinuousClock.now
        let (report, events) = try await run(workflow, jobs: 2, cancelAfter: 0.5)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.status == .canceled)
        #expect(report.steps.map(\.state.status) == [.canceled, .canceled, .canceled])
        #expect(report.step("running")?.state.finishedAt != nil)
        #expect(report.step("waiting")?.state.messages == ["canceled before it started"])
        #expect(report.run.finishedAt != nil)
        #expect(events.contains { if case .runCanceling = $0 { true } else { false } })
        #expect(livingProcesses(matching: "sleep \(marker)").isEmpty)
    }
}
