import FlowModel

/// Code chains: code steps that each wait only for the one before run back
/// to back on the Lua state's thread (`CodeChain`), the state machine
/// counting each link as running once it has begun there.
extension RunState {
    /// The longest chain handed out at once: the next starts where it ends.
    static let chainLength = 256

    /// A chain of code steps from `head`, which is about to start, if it has
    /// at least one link after it: each link the only dependent of the one
    /// before and waiting for nothing else. Only while nothing else runs or
    /// waits, and without `--resume`, so that the chain starts what would
    /// have started anyway, in the same order; and only through steps that
    /// have nothing for the driver to do between them (see `chainable`).
    mutating func chain(from head: Int) -> [Int] {
        guard chainsCode, !canceling, !schedule.isStopping, running.isEmpty, preparing.isEmpty,
              retryQueue.isEmpty, waitingToRetry.isEmpty, !schedule.hasReady, chainable(head)
        else { return [] }
        var links = [head]
        var current = head
        while links.count < Self.chainLength {
            let dependents = schedule.dependents[current]
            guard dependents.count == 1, let next = dependents.first, chainable(next), attempts[next] == 0,
                  schedule.status[next] == .pending, plan.workflow.steps[next].info.callbacks.onStart == nil,
                  plan.dependencies[next].allSatisfy({ $0 == current || schedule.status[$0] == .success })
            else { break }
            links.append(next)
            current = next
        }
        guard links.count > 1 else { return [] }
        for (link, next) in zip(links, links.dropFirst()) { nextLink[link] = next }
        return links
    }

    /// Whether a code step can be a link of a chain: the driver has nothing
    /// to do between its end and the next link's start (no on_success
    /// callback, no timeout or declared outputs to check, no inputs to hash
    /// for its cache key as it starts, no environment to fill in with the
    /// run variables of the moment).
    func chainable(_ index: Int) -> Bool {
        guard case .code(let step) = plan.workflow.steps[index], !plan.workers[index].isRemote else { return false }
        let info = step.info
        return info.timeout == nil && info.callbacks.onSuccess == nil && plan.outputs[index].isEmpty
            && plan.inputs[index].isEmpty
            && !info.env.values.contains(where: Template.hasPlaceholder)
            && !plan.workers[index].env.values.contains(where: Template.hasPlaceholder)
    }

    /// After link `index` ended: if it succeeded and the next link has
    /// begun on the Lua thread, that one is running, and counts so
    /// (stopping or not).
    mutating func followChain(after index: Int, as status: Status, begun: Bool) {
        guard let next = nextLink.removeValue(forKey: index), status == .success, begun else { return }
        schedule.take(next)
        move(next, to: .running)
        attempts[next] += 1
        reserve(next)
        timedOut.remove(next)
        emit(.observe(.stepStarted(step: name(next), index: next, attempt: attempts[next])))
        running.insert(next)
        emit(.follow(next))
    }
}
