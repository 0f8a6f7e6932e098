import ArgumentParser
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua status RUN`: a run and every one of its steps.
    struct StatusCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show a run and the state of every step.",
            discussion: "RUN is a run id, or any prefix of one that no other run shares.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The run (an id or a unique prefix).")
        var runID: String

        @Flag(help: "Print the run and its steps as JSON.")
        var json = false

        func run() throws {
            let store = try store.openExisting()
            let run = try store.run(runID)
            let steps = try store.steps(of: run.id)
            if json {
                print(try Output.json(RunStatus(run: run, duration: run.duration, steps: steps)))
                return
            }
            var lines = ["run \(run.id): workflow '\(run.workflow)', \(run.status.rawValue)"
                + (run.duration.map { " after \(Output.duration($0))" } ?? "")]
            if let message = run.message { lines.append("  \(message)") }
            lines.append("  script   \(run.script)")
            lines.append("  folder   \(run.folder)")
            lines.append("  started  \(Output.time(run.startedAt ?? run.createdAt))")
            if !run.arguments.assignments.isEmpty {
                lines.append("  params   \(run.arguments.assignments.joined(separator: " "))")
            }
            print(lines.joined(separator: "\n"))
            guard !steps.isEmpty else { return }
            let rows = [["STEP", "STATE", "DURATION", "ATTEMPTS", "EXIT", "MESSAGE"]] + steps.map { step in
                [step.name, step.status.rawValue + (step.fromCache ? " (cached)" : ""), Output.duration(step.duration),
                 step.attempts > 0 ? String(step.attempts) : "-", step.exitCode.map(String.init) ?? "-",
                 step.message ?? ""]
            }
            print("")
            print(Output.table(rows))
        }
    }
}
