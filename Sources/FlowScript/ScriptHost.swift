import FlowEngine
import FlowModel
import Foundation
import LuaBridge

/// The owner of a workflow script's Lua state.
///
/// Evaluates the script with flowlua's stdlib into a `Workflow`, then stays
/// alive to run its code steps and callbacks for the engine: every call into
/// Lua goes through this actor, so the state has exactly one owner.
public actor ScriptHost: CodeExecutor {
    /// The workflow the script declared.
    public nonisolated let workflow: Workflow

    private let lua: LuaState
    private let functions: [Int: LuaFunction]
    private let runStep: LuaFunction

    /// Loads and evaluates the script at `path`.
    ///
    /// - Parameter searchPath: folders searched for modules before the
    ///   embedded stdlib (`FLOWLUA_PATH`).
    /// - Throws: `ScriptError` naming the file and line, or the table path.
    public init(script path: String,
                searchPath: String? = ProcessInfo.processInfo.environment["FLOWLUA_PATH"]) throws(ScriptError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let lua = LuaState()
        var loader = WorkflowLoader(lua: lua, script: path, directory: directory)
        do {
            try Stdlib.install(in: lua, scriptDirectory: directory, searchPath: searchPath)
            let chunk = try lua.load(contentsOf: path)
            let results = try lua.call(chunk)
            var declared = results.first.flatMap { $0["__kind"].stringValue == "workflow" ? $0 : nil } ?? .nil
            if declared.isNil {
                declared = try lua.run("return require('flowlua.dsl').declared", chunkName: "=[flowlua]").first ?? .nil
            }
            guard !declared.isNil else {
                throw ScriptError("\(path): the script declares no workflow (write workflow { name = ..., steps = { ... } })")
            }
            self.workflow = try loader.workflow(from: declared)
            self.runStep = try lua.run("return require('flowlua.runtime').run_step", chunkName: "=[flowlua]")
                .first?.functionValue ?? lua.function { _ in [] }
        } catch let error as LuaError {
            throw ScriptError(error)
        } catch let error as ScriptError {
            throw error
        } catch {
            throw ScriptError(String(describing: error))
        }
        self.lua = lua
        self.functions = loader.functions
    }

    // MARK: CodeExecutor

    public func run(_ step: CodeStep, context: StepContext, vars: [String: Value]) async -> CodeOutcome {
        guard let function = functions[step.function.id] else {
            return CodeOutcome(result: ExecResult(exitCode: nil, error: "code step function not found"), vars: vars)
        }
        let fields: LuaValue = [
            "params": LuaValue(context.variables.parameters),
            "vars": LuaValue(vars),
            "run_id": .string(context.runID),
            "run_dir": .string(context.folder.path),
            "step": .string(context.stepName),
            "__logpath": .string(context.logs.stdout.path),
        ]
        do {
            let results = try lua.call(runStep, [.function(function), fields])
            let newVars = try Self.values(results.first ?? .nil, path: "ctx.vars")
            return CodeOutcome(result: ExecResult(exitCode: 0, stdout: Self.read(context.logs.stdout)), vars: newVars)
        } catch let error as LuaError {
            let report = error.fullDescription + "\n"
            if let handle = try? FileHandle(forWritingTo: context.logs.stderr) {
                _ = try? handle.seekToEnd()
                try? handle.write(contentsOf: Data(report.utf8))
                try? handle.close()
            } else {
                try? report.write(to: context.logs.stderr, atomically: false, encoding: .utf8)
            }
            return CodeOutcome(result: ExecResult(exitCode: nil, stdout: Self.read(context.logs.stdout),
                                                  stderr: report, error: error.message), vars: vars)
        } catch {
            let message = String(describing: error)
            return CodeOutcome(result: ExecResult(exitCode: nil, stderr: message, error: message), vars: vars)
        }
    }

    public func call(_ callback: FunctionReference, event: CallbackEvent) async -> String? {
        guard let function = functions[callback.id] else { return "callback function not found" }
        let run: LuaValue = [
            "id": .string(event.runID), "workflow": .string(event.workflow),
            "status": .string(event.status.rawValue), "run_dir": .string(event.runDirectory),
            "vars": LuaValue(event.vars), "params": LuaValue(event.parameters),
        ]
        let step: LuaValue = event.step.map { ["name": .string($0)] } ?? .nil
        do {
            try lua.call(function, [run, step, event.error.map { .string($0) } ?? .nil])
            return nil
        } catch {
            return error.fullDescription
        }
    }

    private static func values(_ table: LuaValue, path: String) throws -> [String: Value] {
        guard case .table(let t) = table else { return [:] }
        var result: [String: Value] = [:]
        for (key, value) in t.hash {
            guard case .string(let name) = key else {
                throw LuaError(.value, "\(path): run variable names must be strings, got \(key)")
            }
            result[name] = try ValueSpec.convert(value, path: [LuaPathKey(stringValue: path), LuaPathKey(stringValue: name)])
        }
        return result
    }

    private static func read(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}

extension LuaValue {
    init(_ value: FlowModel.Value) {
        switch value {
        case .string(let s): self = .string(s)
        case .integer(let i): self = .integer(i)
        case .float(let d): self = .number(d)
        case .boolean(let b): self = .boolean(b)
        case .list(let items): self = .table(LuaTable(array: items.map(LuaValue.init)))
        }
    }

    init(_ values: [String: FlowModel.Value]) {
        self = .table(LuaTable(values.mapValues(LuaValue.init)))
    }
}
