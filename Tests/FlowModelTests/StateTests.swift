import Foundation
import FlowModel
import Testing

@Suite("Run and step states")
struct StateTests {
    @Test func legalTransitionsFollowFlowserv() {
        #expect(Status.pending.canMove(to: .running))
        for end in [Status.success, .error, .canceled] {
            #expect(Status.pending.canMove(to: end))
            #expect(Status.running.canMove(to: end))
        }
        #expect(Status.pending.canMove(to: .notRun))
        #expect(!Status.running.canMove(to: .notRun))
        #expect(!Status.running.canMove(to: .pending))
        for end in [Status.success, .error, .canceled, .notRun] {
            for next in Status.allCases { #expect(!end.canMove(to: next), "\(end) -> \(next)") }
        }
    }

    @Test func recordsTimestampsAndMessages() throws {
        let created = Date(timeIntervalSince1970: 100)
        var state = StateRecord(createdAt: created)
        #expect(state.status == .pending)
        #expect(state.startedAt == nil)
        try state.move(to: .running, at: Date(timeIntervalSince1970: 101))
        try state.move(to: .error, at: Date(timeIntervalSince1970: 104), message: "exit 1")
        #expect(state.createdAt == created)
        #expect(state.startedAt == Date(timeIntervalSince1970: 101))
        #expect(state.finishedAt == Date(timeIntervalSince1970: 104))
        #expect(state.duration() == 3)
        #expect(state.messages == ["exit 1"])
    }

    @Test func illegalTransitionsThrowAndChangeNothing() throws {
        var state = StateRecord()
        try state.move(to: .running)
        try state.move(to: .success)
        let error = try #require(throws: TransitionError.self) { try state.move(to: .running) }
        #expect(error.description == "illegal state change success -> running")
        #expect(state.status == .success)
    }
}
