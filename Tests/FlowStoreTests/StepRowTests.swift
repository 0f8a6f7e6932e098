import FlowEngine
import FlowModel
@testable import FlowStore
import Foundation
import GRDB
import Testing

/// A step's row is written when the step first changes; until then the
/// run's step list says it is there, pending.
@Suite("Step rows")
struct StepRowTests {
    private func rowCount(_ store: RunStore, _ runID: String) throws -> Int {
        try DatabaseQueue(path: store.path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM step WHERE runId = ?", arguments: [runID]) ?? -1
        }
    }

    /// Records a step's start and, unless it is still running, its end.
    private func ran(_ recorder: RunRecorder, _ name: String, at index: Int, attempt: Int = 1,
                     ending status: Status? = .success, exitCode: Int32 = 0) {
        recorder.record(.stepStarted(step: name, index: index, attempt: attempt))
        guard let status else { return }
        recorder.record(.stepFinished(step: name, index: index, status: status, duration: 0, result: ExecResult(exitCode: exitCode)))
    }

    @Test func aNewRunsStepsHaveNoRowsYetAndReadAsPending() throws {
        let store = try temporaryStore()
        try store.create(storedRun("r1", steps: 3), steps: [("a", "container"), ("b \"quoted\"\n", "code"), ("c", "notebook")])
        #expect(try rowCount(store, "r1") == 0)
        let steps = try store.steps(of: "r1")
        #expect(steps.map(\.position) == [0, 1, 2])
        #expect(steps.map(\.name) == ["a", "b \"quoted\"\n", "c"])
        #expect(steps.map(\.kind) == ["container", "code", "notebook"])
        #expect(steps.allSatisfy { $0.status == .pending && $0.attempts == 0 && $0.startedAt == nil })
    }

    @Test func aStepsFirstChangeWritesItsRowAndLaterOnesUpdateIt() throws {
        let store = try temporaryStore()
        try store.create(storedRun("r1", steps: 3), steps: [("a", "container"), ("b", "code"), ("c", "container")])
        // Steps given to the recorder, as a run gives them.
        let first = store.recorder(for: "r1", steps: [("a", "container"), ("b", "code"), ("c", "container")])
        ran(first, "b", at: 1)
        ran(first, "c", at: 2, ending: nil)
        #expect(first.finish() == nil)
        #expect(try rowCount(store, "r1") == 2)
        var steps = try store.steps(of: "r1")
        #expect(steps.map(\.status) == [.pending, .success, .running])
        #expect(steps[1].name == "b" && steps[1].kind == "code" && steps[1].attempts == 1 && steps[1].exitCode == 0)
        #expect(steps[1].startedAt != nil && steps[1].finishedAt != nil)
        let started = try #require(steps[2].startedAt)

        // Another recorder of the same run (a restart's): the steps read from
        // the database; step c's row is updated, not replaced.
        let second = store.recorder(for: "r1")
        second.record(.stepSubmitted(step: "c", index: 2, remoteID: "4242"))
        second.record(.stepFinished(step: "c", index: 2, status: .error, duration: 1, result: ExecResult(exitCode: 3, error: "exit 3")))
        second.record(.stepNotRun(step: "a", index: 0, status: .notRun, reason: "not started"))
        #expect(second.finish() == nil)
        #expect(try rowCount(store, "r1") == 3)
        steps = try store.steps(of: "r1")
        #expect(steps.map(\.status) == [.notRun, .success, .error])
        #expect(steps[0].name == "a" && steps[0].message == "not started")
        #expect(steps[2].startedAt == started, "the start of the first batch stays")
        #expect(steps[2].remoteID == "4242" && steps[2].exitCode == 3 && steps[2].message == "exit 3")
    }

    @Test func endingARunNoProcessRunsEndsItsStepsWithAndWithoutRows() throws {
        let store = try temporaryStore()
        try store.create(storedRun("r1", steps: 3), steps: [("a", "container"), ("b", "code"), ("c", "container")])
        let recorder = store.recorder(for: "r1")
        ran(recorder, "a", at: 0)
        ran(recorder, "b", at: 1, ending: nil)
        #expect(recorder.finish() == nil)
        try store.finish("r1", as: .canceled, message: "stopped")
        let steps = try store.steps(of: "r1")
        #expect(steps.map(\.status) == [.success, .canceled, .canceled])
        #expect(steps[2].name == "c" && steps[2].message == "stopped" && steps[2].finishedAt != nil)
        #expect(try rowCount(store, "r1") == 3)
    }

    @Test func aRestartForgetsTheRowsOfStepsThatDidNotSucceed() throws {
        let store = try temporaryStore()
        try store.create(storedRun("r1", steps: 3), steps: [("a", "container"), ("b", "code"), ("c", "container")])
        let recorder = store.recorder(for: "r1")
        ran(recorder, "a", at: 0)
        ran(recorder, "b", at: 1, attempt: 2, ending: .error, exitCode: 1)
        recorder.record(.stepNotRun(step: "c", index: 2, status: .notRun, reason: "after b"))
        recorder.record(.runFinished(status: .error, duration: 0, message: nil))
        #expect(recorder.finish() == nil)
        #expect(try store.prepareRestart("r1", steps: [("a", "container"), ("b", "code"), ("c", "container")]) == ["a"])
        #expect(try rowCount(store, "r1") == 1)
        let steps = try store.steps(of: "r1")
        #expect(steps.map(\.status) == [.success, .pending, .pending])
        #expect(steps[1].attempts == 0 && steps[1].exitCode == nil && steps[1].finishedAt == nil)
        #expect(try store.run("r1").status == .pending)
    }

    @Test func aRestartMovesTheRowsOfSucceededStepsToWhereTheScriptNowHasThem() throws {
        let store = try temporaryStore()
        try store.create(storedRun("r1", steps: 3), steps: [("a", "container"), ("b", "code"), ("c", "container")])
        let recorder = store.recorder(for: "r1")
        for (index, name, status) in [(0, "a", Status.success), (1, "b", .error), (2, "c", .success)] {
            ran(recorder, name, at: index, ending: status)
        }
        #expect(recorder.finish() == nil)
        // The fixed script: a is gone, x is new, c moved before b.
        let fixed: [(name: String, kind: String)] = [("x", "code"), ("c", "container"), ("b", "code")]
        #expect(try store.prepareRestart("r1", steps: fixed) == ["c"])
        var steps = try store.steps(of: "r1")
        #expect(steps.map { "\($0.name) \($0.status.rawValue)" } == ["x pending", "c success", "b pending"])
        #expect(try store.run("r1").stepCount == 3)
        #expect(try rowCount(store, "r1") == 1)

        let again = store.recorder(for: "r1", steps: fixed)
        ran(again, "b", at: 2)
        #expect(again.finish() == nil)
        steps = try store.steps(of: "r1")
        #expect(steps.map { "\($0.name) \($0.status.rawValue)" } == ["x pending", "c success", "b success"])
    }
}
