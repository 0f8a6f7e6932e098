import Foundation

/// The state of a run or a step (flowserv's states, plus "not run" for steps
/// that a failure upstream kept from starting, and "interrupted" for a run
/// whose process died while it ran).
public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
    case pending
    case running
    case success
    case error
    case canceled
    case notRun = "not run"
    case interrupted

    /// Whether the state is final.
    public var isFinished: Bool { self != .pending && self != .running }

    /// flowserv's legal transitions: pending -> running, and pending or
    /// running -> success, error or canceled; pending -> not run; pending or
    /// running -> interrupted.
    public func canMove(to next: Status) -> Bool {
        switch (self, next) {
        case (.pending, .running), (.pending, .success), (.pending, .error), (.pending, .canceled),
             (.pending, .notRun), (.running, .success), (.running, .error), (.running, .canceled),
             (.pending, .interrupted), (.running, .interrupted):
            true
        default:
            false
        }
    }
}

/// An illegal change of state, such as success -> running.
public struct TransitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var from: Status
    public var to: Status
    public var description: String { "illegal state change \(from.rawValue) -> \(to.rawValue)" }
}

/// A state with the times it was entered: created always, started when it
/// ran, finished when it ended; messages say why it failed or did not run.
public struct StateRecord: Sendable, Hashable {
    public private(set) var status: Status
    public private(set) var createdAt: Date
    public private(set) var startedAt: Date?
    public private(set) var finishedAt: Date?
    public private(set) var messages: [String]

    public init(createdAt: Date = Date()) {
        status = .pending
        self.createdAt = createdAt
        messages = []
    }

    /// Moves to `next`, stamping the time; throws on an illegal transition.
    public mutating func move(to next: Status, at time: Date = Date(), message: String? = nil) throws(TransitionError) {
        guard status.canMove(to: next) else { throw TransitionError(from: status, to: next) }
        status = next
        if next == .running { startedAt = time } else { finishedAt = time }
        if let message { messages.append(message) }
    }

    /// Seconds from start to finish (or to `now` while running); nil if it never ran.
    public func duration(now: Date = Date()) -> TimeInterval? {
        guard let startedAt else { return nil }
        return (finishedAt ?? now).timeIntervalSince(startedAt)
    }
}
