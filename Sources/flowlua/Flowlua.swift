import ArgumentParser
import FlowEngine
import FlowScript
import FlowStore
import Foundation
import Logging

/// `flowlua`: run workflows written as Lua scripts.
struct Flowlua: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "flowlua",
        abstract: "Run workflows written as Lua scripts.",
        discussion: """
            flowlua workflow.lua -p name=value    run a workflow
            flowlua check workflow.lua            validate it without running
            flowlua run --detach workflow.lua     run it in the background
            flowlua list | status RUN | logs RUN [STEP] | wait RUN | stop RUN
            flowlua restart RUN | rm RUN | gc --older-than 7d
            flowlua                               an interactive console
            flowlua -i workflow.lua               the console, with the workflow loaded

            Exit status: 0 when the workflow succeeded, 1 when it ran and failed,
            2 for a usage or script error.
            """,
        version: version,
        subcommands: [Run.self, Check.self, List.self, StatusCommand.self, Logs.self, Wait.self, Stop.self,
                      Restart.self, Remove.self, GC.self, ConsoleCommand.self],
        defaultSubcommand: Run.self
    )
}

/// Options that select and parameterise a workflow script.
struct ScriptOptions: ParsableArguments {
    @Argument(help: "The workflow script.", completion: .file(extensions: ["lua"]))
    var script: String

    @Option(name: [.customShort("p"), .customLong("param")], parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Set a parameter.", valueName: "name=value"))
    var parameters: [String] = []

    @Option(name: .customLong("params"), help: ArgumentHelp("Read parameter values from a JSON object.", valueName: "file.json"))
    var parameterFile: String?

    /// Loads the script; every failure is a `ScriptError` naming file and line.
    func load() throws(ScriptError) -> ScriptHost {
        guard FileManager.default.fileExists(atPath: script) else {
            throw ScriptError("cannot open \(script): no such file")
        }
        return try ScriptHost(script: script)
    }
}

@main
enum Main {
    static func main() async {
        if let message = Descriptor.allowFewest() { fail(message) }
        do { _ = try OutputLimit.read() } catch { fail(error.description) }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["FLOWLUA_LOG"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        do {
            var command = try Flowlua.parseAsRoot(consoleArguments(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(with: error)
        }
    }

    /// `flowlua` alone and `flowlua -i script ...` open the console, as
    /// `lua` and `lua -i` do.
    static func consoleArguments(_ arguments: [String]) -> [String] {
        if arguments.isEmpty { return ["console"] }
        if arguments.first == "-i" { return ["console"] + arguments.dropFirst() }
        return arguments
    }

    /// Exits with 2 for a usage or script error, the code of an `ExitCode`,
    /// or 0 after printing help or the version.
    static func exit(with error: any Error) -> Never {
        switch error {
        case let code as ExitCode:
            Foundation.exit(code.rawValue)
        case let error as ScriptError:
            fail(error.message)
        case let error as ArgumentError:
            fail(error.description)
        case let error as PlanError:
            fail(error.description)
        case let error as CommandFailure:
            fail(error.description)
        case let error as StoreError:
            fail(error.description)
        default:
            let code = Flowlua.exitCode(for: error)
            if code == .success { Flowlua.exit(withError: error) }
            let message = Flowlua.fullMessage(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(2)
            }
            fail(message)
        }
    }

    static func fail(_ message: String, code: Int32 = 2) -> Never {
        FileHandle.standardError.write(Data("flowlua: error: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
