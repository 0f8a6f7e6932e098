import FlowModel
import Foundation

/// How a step's end is taken in: a success's variables and added steps, the
/// step closed with its final state, what can then no longer run.
extension RunState {
    /// How an attempt that ended counts: success, a retry, a failure or a
    /// cancel.
    mutating func conclude(_ index: Int, _ result: ExecResult, changes: [String: Value?], grown: Plan? = nil,
                           wasReleased: Bool = false, nextLinkBegun: Bool = false) {
        let step = plan.workflow.steps[index]
        var result = result
        if timedOut.contains(index), let timeout = step.info.timeout {
            result.error = "timed out after \(RunState.seconds(timeout))"
        }
        if result.succeeded {
            if !changes.isEmpty {
                for (name, value) in changes { vars[name] = value }
                emit(.observe(.varsChanged(vars)))
            }
            // A step that added steps is not reused: reusing it would add none.
            if let grown {
                grow(to: grown, by: index)
            } else if prepares {
                emit(.remember(index, changes: changes, resolveNow: wasReleased))
            }
            close(index, as: .success, result: result, nextLinkBegun: nextLinkBegun)
        } else if canceling {
            result.error = "canceled"
            close(index, as: .canceled, result: result)
        } else if attempts[index] <= step.info.retries {
            results[index] = result
            let delay = step.info.delay(beforeRetry: attempts[index])
            emit(.observe(.stepRetrying(step: step.name, index: index, attempt: attempts[index], delay: delay,
                                        result: result)))
            waitingToRetry.insert(index)
            emit(.waitToRetry(index, seconds: delay))
        } else {
            close(index, as: .error, result: result)
        }
    }

    /// Records the end of a step that started: its state, what it blocks,
    /// and its callback.
    mutating func close(_ index: Int, as status: Status, result: ExecResult?, reason: String? = nil,
                        nextLinkBegun: Bool = false) {
        let step = plan.workflow.steps[index]
        var result = result ?? ExecResult(exitCode: nil)
        if status != .success, result.error == nil { result.error = reason ?? status.rawValue }
        released.remove(index)
        move(index, to: status, message: status == .success ? nil : result.error)
        results[index] = result
        let blocked = schedule.finish(index, as: status)
        if status == .error { stopReleased(after: index, reason: "not run: depends on '\(step.name)', which failed") }
        settleHeld(after: index)
        if let run = cachedFrom[index] {
            emit(.observe(.stepCached(step: step.name, index: index, from: run)))
        } else {
            emit(.observe(.stepFinished(step: step.name, index: index, status: status,
                                        duration: states[index].duration() ?? 0, result: result)))
        }
        for dependent in blocked {
            markNotRun(dependent, as: .notRun, reason: "not run: depends on '\(step.name)', which failed")
        }
        let callback = switch status {
        case .success: step.info.callbacks.onSuccess
        case .canceled: step.info.callbacks.onCancel
        default: step.info.callbacks.onFailure
        }
        if callback != nil {
            emit(.callback(StepCallback(index: index, status: status, snapshot: snapshot(index),
                                        error: status == .success ? nil : result.error)))
        }
        followChain(after: index, as: status, begun: nextLinkBegun)
    }

    mutating func markNotRun(_ index: Int, as status: Status, reason: String) {
        move(index, to: status, message: reason)
        emit(.observe(.stepNotRun(step: name(index), index: index, status: status, reason: reason)))
    }
}
