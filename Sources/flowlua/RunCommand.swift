import ArgumentParser
import FlowEngine
import FlowModel
import FlowScript
import FlowStore
import Foundation

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
                Every run is recorded in the run database (see flowlua list).
                """)

        @OptionGroup var options: ScriptOptions
        @OptionGroup var store: StoreOptions

        @Option(name: [.customShort("j"), .long], help: "Steps to run at once (default: the number of cores).")
        var jobs: Int?

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

        @Flag(help: "Reuse the results of earlier runs for steps whose definition and inputs are unchanged.")
        var resume = false

        @Flag(help: "Go on in the background: print the run id and return (see flowlua status, wait, logs, stop).")
        var detach = false

        @Flag(name: [.short, .long], help: "Print only errors and the summary of a failed run.")
        var quiet = false

        /// Continue the run of this id that `run --detach` recorded (internal).
        @Option(help: .hidden)
        var runID: String?

        func validate() throws {
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if let cpus, !(cpus > 0 && cpus.isFinite) { throw ValidationError("--cpus must be more than 0") }
            if let memory, ByteCount.parse(memory) == nil {
                throw ValidationError("--memory expects a size like 8G or 512M, got '\(memory)'")
            }
            guard grace >= 0 && grace <= 86_400 else { throw ValidationError("--grace must be from 0 to 86400 seconds") }
        }

        var settings: RunSettings {
            RunSettings(jobs: jobs, keepGoing: keepGoing, cpus: cpus, memory: memory, grace: grace, resume: resume)
        }

        func run() async throws {
            let arguments = RunArguments(assignments: options.parameters, file: options.parameterFile.map(RunSession.absolute))
            // Everything that can be wrong with the script or its arguments
            // is reported before the run database is touched.
            let (host, plan) = try RunSession.prepare(script: options.script, arguments: arguments,
                                                      database: store.databasePath)
            let session = RunSession(arguments: arguments, settings: settings, runsDirectory: store.runsDirectory,
                                     store: try store.open(), quiet: quiet)
            if detach {
                try start(session, plan)
                return
            }
            let id: String
            if let runID {
                guard (try? session.store.run(runID))?.status == .pending else {
                    throw CommandFailure("run \(runID) is not waiting to start")
                }
                id = runID
            } else {
                id = RunFolder.newID()
                _ = try session.record(id, plan: plan, script: options.script)
            }
            let (report, signal, unrecorded) = try await session.execute(host, plan, id: id)
            // Recorded to the last event: the rest is the operating system's to free.
            withExtendedLifetime((host, plan, session, report)) {
                exitLeavingMemory(RunSession.exitCode(report, signal: signal, unrecorded: unrecorded))
            }
        }

        /// Records the run and starts a process of its own for it, in a new
        /// session, its output in the run folder's `.logs/flowlua.log`.
        private func start(_ session: RunSession, _ plan: Plan) throws {
            let id = RunFolder.newID()
            var run = try session.record(id, plan: plan, script: options.script)
            let logs = URL(fileURLWithPath: run.folder).appending(path: ".logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = open(logs.appending(path: "flowlua.log").path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard log >= 0 else { throw CommandFailure("cannot write \(logs.path)/flowlua.log") }
            defer { close(log) }
            var arguments = ["run", "--run-id", id, "--runs-dir", session.runsDirectory.path, "--db", session.store.path,
                             "--grace", String(grace)]
            for assignment in options.parameters { arguments += ["-p", assignment] }
            if let file = session.arguments.file { arguments += ["--params", file] }
            if let jobs { arguments += ["--jobs", String(jobs)] }
            if let cpus { arguments += ["--cpus", String(cpus)] }
            if let memory { arguments += ["--memory", memory] }
            if keepGoing { arguments.append("--keep-going") }
            if resume { arguments.append("--resume") }
            arguments.append(RunSession.absolute(options.script))
            var spec = ProcessSpec(executable: Self.executable, arguments: arguments,
                                   workingDirectory: FileManager.default.currentDirectoryPath,
                                   standardOutput: log, standardError: log)
            spec.tracked = false  // it outlives this process
            let child = try ChildProcess.spawn(spec)
            run.pid = child.pid
            try session.store.update(pid: child.pid, of: id)
            print(id)
        }

        /// This program's own path.
        static var executable: String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }
}
