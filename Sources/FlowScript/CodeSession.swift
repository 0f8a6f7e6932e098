import FlowEngine
import FlowModel
import Foundation
import LuaBridge

/// What Swift functions called from a script need to know: the code step
/// running now (for `flow.sh`'s folder and environment) and how to tell
/// that it must stop. Owned by the `ScriptHost`, used on its thread only.
final class CodeSession {
    let interrupter: LuaInterrupter
    let callbackTimeout: Duration
    /// The code step running now, if any.
    var context: StepContext?

    init(interrupter: LuaInterrupter, callbackTimeout: Duration) {
        self.interrupter = interrupter
        self.callbackTimeout = callbackTimeout
    }

    /// Opens the run database on first use (`flow.runs()`), if there is one.
    var catalog: (@Sendable () throws -> any RunCatalog)?
    private var openCatalog: (any RunCatalog)?

    /// Adds the host's functions to the `flow` table.
    func register(in lua: LuaState) throws(LuaError) {
        let sh = lua.function { [unowned self] arguments in try shell(arguments) }
        let runs = lua.function { [unowned self] _ in try listRuns() }
        let status = lua.function { [unowned self] arguments in try runStatus(arguments) }
        let install = try lua.load("local sh, runs, status = ...; flow.sh, flow.runs, flow.status = sh, runs, status",
                                   chunkName: "=[flowlua]")
        try lua.call(install, [.function(sh), .function(runs), .function(status)])
    }

    private func theCatalog() throws -> any RunCatalog {
        if let openCatalog { return openCatalog }
        guard let catalog else { throw LuaError(.runtime, "flow.runs: there is no run database here") }
        let opened = try catalog()
        openCatalog = opened
        return opened
    }

    /// `flow.runs()`: every recorded run, newest first, as
    /// `{ id, workflow, status, started, duration }` (times in seconds).
    private func listRuns() throws -> [LuaValue] {
        let runs = try theCatalog().runSummaries()
        return [.table(LuaTable(array: runs.map(Self.table)))]
    }

    /// `flow.status(id)`: one run (an id or a unique prefix) with its
    /// `steps`, each `{ name, status, attempts, exit, message, duration, cached }`.
    private func runStatus(_ arguments: LuaArguments) throws -> [LuaValue] {
        let id = try arguments.string(1, function: "flow.status")
        let (run, steps) = try theCatalog().runStatus(id)
        var table = Self.table(run)
        if case .table(var fields) = table {
            fields["steps"] = .table(LuaTable(array: steps.map { step in
                var entry: [String: LuaValue] = [
                    "name": .string(step.name), "status": .string(step.status.rawValue),
                    "attempts": .integer(step.attempts), "cached": .boolean(step.fromCache),
                ]
                if let code = step.exitCode { entry["exit"] = .integer(Int(code)) }
                if let message = step.message { entry["message"] = .string(message) }
                if let duration = step.duration { entry["duration"] = .number(duration) }
                return .table(LuaTable(entry))
            }))
            table = .table(fields)
        }
        return [table]
    }

    private static func table(_ run: RunSummary) -> LuaValue {
        var fields: [String: LuaValue] = [
            "id": .string(run.id), "workflow": .string(run.workflow), "status": .string(run.status.rawValue),
            "folder": .string(run.folder), "vars": LuaValue(run.vars),
        ]
        if let message = run.message { fields["message"] = .string(message) }
        if let started = run.startedAt { fields["started"] = .number(started.timeIntervalSince1970) }
        if let finished = run.finishedAt { fields["finished"] = .number(finished.timeIntervalSince1970) }
        if let duration = run.duration { fields["duration"] = .number(duration) }
        return .table(LuaTable(fields))
    }

    /// `flow.sh(command)`: runs it through `/bin/sh -c`, in the run folder
    /// with the step's environment when a code step runs, and returns
    /// `{ ok, exit, stdout, stderr }`. Stops the command when the step is
    /// interrupted, and raises "interrupted".
    private func shell(_ arguments: LuaArguments) throws -> [LuaValue] {
        let command = try arguments.string(1, function: "flow.sh")
        var spec = ProcessSpec.shell(command)
        if let context {
            spec.environment = ProcessSpec.inherited(overriding: context.environment)
            spec.workingDirectory = context.folder.path
        }
        let grace = context?.killGrace ?? .seconds(5)
        let interrupter = self.interrupter
        let run: CapturedRun
        do {
            run = try ChildProcess.runCapturing(spec, grace: grace) { interrupter.isRequested }
        } catch {
            throw LuaError(.runtime, "flow.sh: \(error)")
        }
        if run.stopped { throw LuaError(.runtime, "interrupted") }
        return [[
            "ok": .boolean(run.termination.succeeded),
            "exit": .integer(Int(run.termination.code)),
            "stdout": .string(run.stdout),
            "stderr": .string(run.stderr),
        ]]
    }
}
