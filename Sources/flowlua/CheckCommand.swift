import ArgumentParser
import FlowEngine
import FlowModel
import FlowScript
import Foundation

extension Flowlua {
    /// Validates a workflow without running it.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a workflow without running it: the script, its fields, parameters, workers and graph.")

        @OptionGroup var options: ScriptOptions

        @Flag(help: "Print the step graph as Graphviz DOT.")
        var graph = false

        func run() async throws {
            let host = try options.load()
            let workflow = host.workflow
            // Required parameters may be left out here: check the rest with what was given.
            let given = workflow.parameters.map { parameter in
                var parameter = parameter
                parameter.required = false
                return parameter
            }
            let arguments = try Arguments.bind(given, assignments: options.parameters, file: options.parameterFile)
            let plan = try Plan(workflow, arguments: arguments)
            if graph {
                print(plan.dot(), terminator: "")
                return
            }
            let edges = plan.dependencies.reduce(0) { $0 + $1.count }
            print("\(options.script): ok: workflow '\(workflow.name)', \(count(workflow.parameters.count, "parameter")), "
                + "\(count(workflow.steps.count, "step")), \(count(edges, "dependency", "dependencies"))")
            let expanding = plan.expanding
            if !expanding.isEmpty {
                print("  \(count(expanding.count, "step adds", "steps add")) steps as the run goes on:")
                for (step, adds) in expanding { print("    \(step): \(adds)") }
            }
            let publishing = workflow.steps.filter { !$0.info.values.isEmpty }
            if !publishing.isEmpty {
                print("  \(count(publishing.count, "step sets", "steps set")) run variables through $FLOWLUA_VALUES:")
                for step in publishing { print("    \(step.name): \(step.info.values.joined(separator: ", "))") }
            }
            withExtendedLifetime((host, plan)) { exitLeavingMemory() }
        }

        private func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
            "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
        }
    }
}
