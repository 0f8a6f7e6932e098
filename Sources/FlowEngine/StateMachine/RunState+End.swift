import FlowModel
import Foundation

/// How a run begins and ends: what can never start, and the run's own state.
extension RunState {
    /// Refuses a plan with a local step that needs more than `capacity`
    /// offers: it could never start. A cluster's steps are the cluster's to fit.
    public static func checkCapacity(of plan: Plan, against capacity: Resources) throws(PlanError) {
        for (index, step) in plan.workflow.steps.enumerated() where !plan.workers[index].isRemote {
            let needs = Resources(step.info)
            if needs.cpus > capacity.cpus {
                throw PlanError.at(step, index, "cpus: needs \(number(needs.cpus)), but only "
                    + "\(number(capacity.cpus)) can be reserved (--cpus)")
            }
            if needs.memory > capacity.memory {
                throw PlanError.at(step, index, "memory: needs \(ByteCount.format(needs.memory)), but only "
                    + "\(ByteCount.format(capacity.memory)) can be reserved (--memory)")
            }
        }
    }

    /// After `finish`: closes the steps that never started (canceled, or
    /// not run after a failure or because nothing could start them) and
    /// says how the run ends.
    public mutating func closePending() -> (end: RunEnd, actions: [RunAction]) {
        let failed = schedule.status.firstIndex(of: .error)
        if canceling {
            for index in schedule.closePending(as: .canceled, reason: "canceled before it started") {
                markNotRun(index, as: .canceled, reason: "canceled before it started")
            }
        } else {
            let reason = failed.map { "not started: step '\(name($0))' failed" } ?? "not started"
            for index in schedule.closePending(reason: reason) { markNotRun(index, as: .notRun, reason: reason) }
        }
        let status: Status = canceling ? .canceled : failed != nil ? .error : .success
        let error = failed.flatMap { results[$0]?.error }
        return (RunEnd(status: status, failed: failed, error: error), take())
    }

    /// The run is over (its step callbacks have returned): its own state
    /// moves to how it ended.
    public mutating func runEnded(_ end: RunEnd, at time: Date = Date()) {
        do { try run.move(to: end.status, at: time, message: canceling ? "canceled" : end.error) } catch {
            violations.append("run: \(error)")
        }
    }

    /// How a run ended.
    public struct RunEnd: Sendable, Equatable {
        public var status: Status
        /// The first step that failed, if one did.
        public var failed: Int?
        public var error: String?

        public init(status: Status, failed: Int? = nil, error: String? = nil) {
            self.status = status
            self.failed = failed
            self.error = error
        }
    }
}
