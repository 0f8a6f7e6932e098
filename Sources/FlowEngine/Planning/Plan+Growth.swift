import FlowModel
import Foundation

extension Plan {
    /// The plan with `steps`, which step `generator` made as it ran, added
    /// after the others: checked as the script's own steps are (names,
    /// workers, `after`, inputs, cycles).
    ///
    /// An added step waits for its generator, and the generator's
    /// dependents wait for every step it added (a gather over a fan-out).
    /// Steps there were before keep their edges otherwise: an added step's
    /// outputs make no earlier step wait.
    ///
    /// An added step's input that no step declares may be a file an
    /// earlier step wrote in `runFolder`; else it is staged from the
    /// workflow's folder, as for the script's own steps.
    ///
    /// - Returns: the grown plan, and the files it stages that this one
    ///   did not (inputs of the added steps that no step produces).
    public func adding(_ steps: [Step], by generator: Int, in runFolder: RunFolder? = nil) throws(PlanError)
        -> (plan: Plan, staged: [Staged]) {
        let count = workflow.steps.count
        let name = workflow.steps[generator].name
        var grown = workflow
        grown.steps.reserveCapacity(count + steps.count)
        for var step in steps {
            if !step.info.after.contains(name) { step.info.after.append(name) }
            grown.steps.append(step)
        }
        var plan: Plan
        do {
            plan = try Plan(grown, arguments: given.arguments, currentDirectory: given.directory,
                            checkFiles: given.checkFiles, runFolder: runFolder)
        } catch {
            // An added step is named by its place among those added.
            var message = error.message
            for i in (count..<grown.steps.count).reversed() {
                message = message.replacingOccurrences(of: "steps[\(i + 1)] (", with: "added[\(i - count + 1)] (")
            }
            throw PlanError(message: message)
        }
        var dependencies = Array(self.dependencies)
        dependencies.append(contentsOf: plan.dependencies[count...])
        let added = Array(count..<grown.steps.count)
        for index in 0..<count where self.dependencies[index].contains(generator) {
            dependencies[index] += added
        }
        if let cycle = Self.cycle(in: dependencies) {
            let names = (cycle + [cycle[0]]).map { "'\(grown.steps[$0].name)'" }
            throw PlanError(message: "the steps form a cycle: \(names.joined(separator: " -> ")) "
                + "(a step '\(name)' added waits for one that waits for '\(name)')")
        }
        plan.dependencies = dependencies
        let known = Set(staged.map(\.target))
        return (plan, plan.staged.filter { !known.contains($0.target) })
    }
}
