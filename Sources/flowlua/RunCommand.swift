import ArgumentParser
import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Logging

extension Flowlua {
    /// Runs a workflow: `flowlua workflow.lua -p name=value`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a workflow (the default command).")

        @OptionGroup var options: ScriptOptions

        @Option(help: ArgumentHelp("Where run folders go (default: $FLOWLUA_RUNS_DIR or .flowlua/runs).", valueName: "dir"))
        var runsDir: String?

        @Option(name: [.customShort("j"), .long], help: "Steps to run at once (default: the number of cores).")
        var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "After a failure, go on with every step that does not depend on it.")
        var keepGoing = false

        @Flag(name: [.short, .long], help: "Print only errors.")
        var quiet = false

        func validate() throws {
            guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        }

        func run() async throws {
            let host = try options.load()
            let workflow = host.workflow
            let arguments = try Arguments.bind(workflow.parameters, assignments: options.parameters,
                                               file: options.parameterFile)
            let plan = try Plan(workflow, arguments: arguments)
            let progress = Progress(quiet: quiet)
            let driver = RunDriver(
                plan: plan,
                options: RunOptions(runsDirectory: RunFolder.runsDirectory(runsDir), jobs: jobs,
                                    policy: keepGoing ? .keepGoing : .stopOnFailure),
                code: host, logger: Logger(label: "flowlua.run"),
                observe: { progress.show($0, workflow: workflow) })
            let report: RunReport
            do {
                report = try await driver.run()
            } catch {
                throw ScriptError("cannot start the run: \(error)")
            }
            progress.summarize(report)
            if report.status != .success { throw ExitCode(1) }
        }
    }
}
