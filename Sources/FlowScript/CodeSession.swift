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

    /// Adds the host's functions to the `flow` table.
    func register(in lua: LuaState) throws(LuaError) {
        let sh = lua.function { [unowned self] arguments in try shell(arguments) }
        let install = try lua.load("local sh = ...; flow.sh = sh", chunkName: "=[flowlua]")
        try lua.call(install, [.function(sh)])
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
