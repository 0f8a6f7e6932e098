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
            abstract: "Run a workflow (the default command).",
            discussion: """
                Independent steps run in parallel, up to --jobs at once and within what
                --cpus and --memory leave for the cpus and memory steps declare.
                Ctrl-C (or SIGTERM) cancels the run: running steps are stopped with
                their processes, and flowlua exits 130 (143); a second one stops at once.
                """)

        @OptionGroup var options: ScriptOptions

        @Option(help: ArgumentHelp("Where run folders go (default: $FLOWLUA_RUNS_DIR or .flowlua/runs).", valueName: "dir"))
        var runsDir: String?

        @Option(name: [.customShort("j"), .long], help: "Steps to run at once (default: the number of cores).")
        var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: ArgumentHelp("Cores that running steps may reserve together (default: the number of cores).",
                                   valueName: "n"))
        var cpus: Double?

        @Option(help: ArgumentHelp("Memory that running steps may reserve together, like 8G (default: the machine's).",
                                   valueName: "size"))
        var memory: String?

        @Option(help: ArgumentHelp("Seconds a stopped step gets between SIGTERM and SIGKILL.", valueName: "seconds"))
        var grace: Double = 5

        @Flag(help: "After a failure, go on with every step that does not depend on it.")
        var keepGoing = false

        @Flag(name: [.short, .long], help: "Print only errors and the summary of a failed run.")
        var quiet = false

        func validate() throws {
            guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
            if let cpus, !(cpus > 0) { throw ValidationError("--cpus must be more than 0") }
            if let memory, ByteCount.parse(memory) == nil {
                throw ValidationError("--memory expects a size like 8G or 512M, got '\(memory)'")
            }
            guard grace >= 0 else { throw ValidationError("--grace must be 0 or more") }
        }

        func run() async throws {
            let host = try options.load()
            let workflow = host.workflow
            let arguments = try Arguments.bind(workflow.parameters, assignments: options.parameters,
                                               file: options.parameterFile)
            let plan = try Plan(workflow, arguments: arguments)
            var capacity = Resources.machine
            if let cpus { capacity.cpus = cpus }
            if let memory, let bytes = ByteCount.parse(memory) { capacity.memory = bytes }
            let progress = Progress(quiet: quiet)
            let driver = RunDriver(
                plan: plan,
                options: RunOptions(runsDirectory: RunFolder.runsDirectory(runsDir), jobs: jobs, capacity: capacity,
                                    policy: keepGoing ? .keepGoing : .stopOnFailure,
                                    killGrace: .milliseconds(Int(grace * 1000))),
                code: host, logger: Logger(label: "flowlua.run"),
                observe: { progress.show($0, workflow: workflow) })
            let interrupts = Interrupts { driver.cancel() }
            defer { interrupts.remove() }
            let report: RunReport
            do {
                report = try await driver.run()
            } catch let error as PlanError {
                throw error
            } catch {
                throw ScriptError("cannot start the run: \(error)")
            }
            progress.summarize(report)
            switch report.status {
            case .success: return
            case .canceled: throw ExitCode(Interrupts.exitCode(for: interrupts.cancelSignal ?? SIGINT))
            default: throw ExitCode(1)
            }
        }
    }
}
