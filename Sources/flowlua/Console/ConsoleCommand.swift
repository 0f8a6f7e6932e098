import ArgumentParser
import FlowEngine
import FlowScript
import FlowStore
import Foundation

extension Flowlua {
    /// The interactive console: `flowlua`, or `flowlua -i workflow.lua`.
    struct ConsoleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console",
            abstract: "Try Lua and a workflow's steps out at a prompt (also: flowlua, flowlua -i workflow.lua).",
            discussion: """
                Lua typed at the prompt runs in the workflow's own Lua state; :help lists
                the commands (:steps, :show STEP, :set NAME=VALUE, :run STEP, :runall, ...).
                Steps run in a scratch run folder, removed when the session ends (unless
                --keep). When
                standard input is not a terminal, its chunks are run without prompts, and
                flowlua exits 1 if one failed.
                """)

        @Argument(help: "A workflow script to load first.", completion: .file(extensions: ["lua"]))
        var script: String?

        @Option(name: [.customShort("p"), .customLong("param")], parsing: .unconditionalSingleValue,
                help: ArgumentHelp("Set a parameter.", valueName: "name=value"))
        var parameters: [String] = []

        @Option(name: .customLong("params"), help: ArgumentHelp("Read parameter values from a JSON object.", valueName: "file.json"))
        var parameterFile: String?

        @OptionGroup var store: StoreOptions

        @Flag(help: "Keep the scratch run folder when the session ends (its path is printed).")
        var keep = false

        func run() async throws {
            let database = store.databasePath
            let host = try ScriptHost(catalog: { @Sendable () throws -> any RunCatalog in try RunStore(path: database) })
            let bench = try Workbench(host: host, assignments: parameters, parameterFile: parameterFile)
            defer { bench.close(keep: keep) }
            await bench.refreshContext()
            if let script {
                do { try await bench.load(script) } catch {
                    throw ScriptError(error.message)
                }
                if let failure = Result(catching: { try bench.arguments() }).failure {
                    FileHandle.standardError.write(Data("flowlua: \(failure)\n".utf8))
                }
            }
            let console = Console(bench: bench, interrupts: ConsoleInterrupts(), interactive: isatty(0) != 0)
            let code = await console.run()
            fflush(nil)
            if code != 0 {
                bench.close(keep: keep)
                throw ExitCode(code)
            }
        }
    }
}

extension Result {
    fileprivate var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
