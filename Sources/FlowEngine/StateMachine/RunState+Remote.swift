import FlowModel
import Foundation

/// Steps on a cluster: a dependent's job is submitted as soon as the jobs
/// it waits for are, the cluster holding it until they succeed (`afterok`),
/// without a poll between. Such a *released* step is settled by the steps it
/// waits for: not run if one of them failed, else as its own job ended.
extension RunState {
    /// A remote step's job was submitted (or, `adopted`, an earlier
    /// process's job is followed again): its remote dependents whose other
    /// dependencies are done or submitted too are released to the cluster.
    public mutating func submitted(_ index: Int, attempt: Int, remoteID: String, adopted: Bool,
                                   at time: Date = Date()) -> [RunAction] {
        guard attempt == attempts[index], running.contains(index) else { return [] }
        remoteIDs[index] = (remoteID, time)
        emit(.observe(.stepSubmitted(step: name(index), index: index, remoteID: remoteID)))
        // A job followed again may have ended long ago, and Slurm forgets
        // ended jobs: nothing new waits on it through the cluster.
        guard !canceling, !adopted else { return take() }
        for dependent in schedule.dependents[index]
        where isRemote[dependent] && schedule.status[dependent] == .pending {
            let waitsOnJobs = plan.dependencies[dependent].allSatisfy { dependency in
                switch schedule.status[dependency] {
                case .success: true
                // A step that may be retried gets a new job: nothing may wait
                // on this one; nor on one whose values the dependent may use.
                case .running:
                    remoteIDs[dependency] != nil && plan.workflow.steps[dependency].info.retries == 0
                        && plan.workflow.steps[dependency].info.values.isEmpty
                default: false
                }
            }
            guard waitsOnJobs, schedule.release(dependent) else { continue }
            released.insert(dependent)
            start(dependent, reserved: false)
        }
        return take()
    }

    /// The job of a released step ended.
    mutating func endReleased(_ index: Int, _ result: ExecResult, changes: [String: Value?], submitted: Date?) {
        if let reason = notRunBecause.removeValue(forKey: index) {
            released.remove(index)
            closeNotRun(index, result: result, reason: reason)
            return
        }
        // Its job may end first (sbatch refused the dependency, or one poll
        // saw both end): the steps it waits for decide.
        if plan.dependencies[index].contains(where: { schedule.status[$0] == .running }) {
            held[index] = (result, changes, submitted)
            return
        }
        settle(index, result, changes: changes, submitted: submitted)
    }

    /// Released steps downstream of `index`, which failed: their jobs are
    /// canceled, and they end as not run.
    mutating func stopReleased(after index: Int, reason: String) {
        for dependent in schedule.dependents[index] where released.contains(dependent) && running.contains(dependent) {
            guard notRunBecause[dependent] == nil else { continue }
            notRunBecause[dependent] = reason
            emit(.stop(dependent))
        }
    }

    /// Ends a released step whose dependencies have all ended: not run if
    /// one did not succeed, else as its own result says (from here on an
    /// ordinary step: a retry waits on nothing).
    mutating func settle(_ index: Int, _ result: ExecResult, changes: [String: Value?], submitted: Date?) {
        released.remove(index)
        if let failed = plan.dependencies[index].first(where: { schedule.status[$0] != .success }) {
            if canceling {
                close(index, as: .canceled, result: result, reason: "canceled")
            } else {
                closeNotRun(index, result: result, reason: "not run: depends on '\(name(failed))', which failed")
            }
            return
        }
        // It did start once the cluster had what it waited for.
        if states[index].status == .pending { move(index, to: .running, at: submitted ?? Date()) }
        conclude(index, result, changes: changes, wasReleased: true)
    }

    /// Held steps downstream of `index`, which has ended, that can be settled now.
    mutating func settleHeld(after index: Int) {
        guard !held.isEmpty else { return }
        for dependent in schedule.dependents[index] {
            guard let end = held[dependent],
                  !plan.dependencies[dependent].contains(where: { schedule.status[$0] == .running })
            else { continue }
            held[dependent] = nil
            settle(dependent, end.result, changes: end.changes, submitted: end.submitted)
        }
    }

    /// Ends a released step that never ran: a step it waits for failed.
    mutating func closeNotRun(_ index: Int, result: ExecResult, reason: String) {
        var result = result
        result.error = reason
        move(index, to: .notRun, message: reason)
        results[index] = result
        let blocked = schedule.finish(index, as: .notRun)
        emit(.observe(.stepNotRun(step: name(index), index: index, status: .notRun, reason: reason)))
        for dependent in blocked { markNotRun(dependent, as: .notRun, reason: reason) }
        stopReleased(after: index, reason: reason)
        settleHeld(after: index)
    }
}
