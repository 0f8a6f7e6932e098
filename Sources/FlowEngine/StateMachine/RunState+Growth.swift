import FlowModel

/// A graph that grows as the run goes: a step that succeeded adds steps
/// (see `Plan.adding`), which then run like any other.
extension RunState {
    /// Takes on `grown`, the plan with the steps `generator` added, as the
    /// generator succeeds: the new steps wait for it, its dependents for them.
    mutating func grow(to grown: Plan, by generator: Int) {
        let count = plan.workflow.steps.count
        let total = grown.workflow.steps.count
        guard total > count else { return }
        plan = grown
        for index in count..<total {
            isRemote.append(grown.workers[index].isRemote)
            needs.append(Resources(grown.workflow.steps[index].info))
        }
        hasRemote = hasRemote || isRemote[count...].contains(true)
        states.append(contentsOf: Array(repeating: StateRecord(), count: total - count))
        results.append(contentsOf: Array(repeating: nil, count: total - count))
        attempts.append(contentsOf: Array(repeating: 0, count: total - count))
        // Added again after a restart: those that succeeded before are done.
        let done = addedBefore.isEmpty ? [] : Set((count..<total).filter { addedBefore.contains(name($0)) })
        schedule.grow(to: grown.dependencies, completed: done)
        emit(.observe(.stepsAdded(by: name(generator), index: generator,
                                  steps: (count..<total).map { StepEntry(grown.workflow.steps[$0]) })))
        for index in done.sorted() { markNotRun(index, as: .success, reason: "succeeded before the restart") }
    }
}
