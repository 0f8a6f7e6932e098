import FlowEngine
import FlowModel
import Foundation
import LuaBridge
import Synchronization

/// The owner of a workflow script's Lua state.
///
/// Evaluates the script with flowlua's stdlib into a `Workflow`, then stays
/// alive to run its code steps and callbacks for the engine. It is an actor
/// on a thread of its own (`ThreadExecutor`): every call into Lua goes through
/// it, one at a time, while process steps run concurrently elsewhere.
/// A stop of a code step's attempt, or a callback's time limit, interrupts
/// the Lua code.
public actor ScriptHost: CodeExecutor {
    /// The workflow the script declared (for a console started without a
    /// script, an empty one: `load(script:)` returns those loaded later).
    public nonisolated let workflow: Workflow

    let lua: LuaState
    private var functions: [Int: LuaFunction]
    private let runStep: LuaFunction
    private let setScriptDirectory: LuaFunction
    private let executor: ThreadExecutor
    private let session: CodeSession
    private let gate: CallGate
    private var calls = 0
    /// The parameters as a Lua value: the same for every step of a run.
    private var parameterTable: (values: [String: Value], table: LuaValue)?
    /// The console's Lua side, once a console asked for it.
    var console: LuaConsole?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Loads and evaluates the script at `path`.
    ///
    /// - Parameters:
    ///   - searchPath: folders searched for modules before the embedded
    ///     stdlib (`FLOWLUA_PATH`).
    ///   - callbackTimeout: how long a callback may run before it is interrupted.
    ///   - catalog: opens the run database for `flow.runs()` and
    ///     `flow.status(id)`, on their first call.
    /// - Throws: `ScriptError` naming the file and line, or the table path.
    public init(script path: String,
                searchPath: String? = ProcessInfo.processInfo.environment["FLOWLUA_PATH"],
                callbackTimeout: Duration = .seconds(60),
                catalog: (@Sendable () throws -> any RunCatalog)? = nil) throws(ScriptError) {
        let state = try Self.prepare(searchPath: searchPath, callbackTimeout: callbackTimeout, catalog: catalog)
        let (workflow, functions) = try Self.evaluate(path, in: state.lua, setScriptDirectory: state.setScriptDirectory,
                                                      firstID: 1)
        self.init(state, workflow: workflow, functions: functions)
    }

    /// A host with flowlua's stdlib and no workflow yet, for the console.
    public init(searchPath: String? = ProcessInfo.processInfo.environment["FLOWLUA_PATH"],
                callbackTimeout: Duration = .seconds(60),
                catalog: (@Sendable () throws -> any RunCatalog)? = nil) throws(ScriptError) {
        let state = try Self.prepare(searchPath: searchPath, callbackTimeout: callbackTimeout, catalog: catalog)
        self.init(state, workflow: Workflow(name: ""), functions: [:])
    }

    private init(_ state: State, workflow: Workflow, functions: [Int: LuaFunction]) {
        self.lua = state.lua
        self.session = state.session
        self.runStep = state.runStep
        self.setScriptDirectory = state.setScriptDirectory
        self.workflow = workflow
        self.functions = functions
        self.gate = CallGate(state.lua.interrupter)
        self.executor = ThreadExecutor(name: "flowlua.lua")
    }

    /// Evaluates another script in this host's Lua state, for the console:
    /// its globals stay, and its step functions run here like the first's.
    /// A stop of `stop` interrupts a script that runs on and on.
    public func load(script path: String, stop: StopHandle? = nil) throws(ScriptError) -> Workflow {
        calls += 1
        let (call, gate) = (calls, gate)
        gate.begin(call)
        defer { gate.end() }
        stop?.onStop { gate.interrupt(call) }
        defer { stop?.clear() }
        do {
            let (workflow, loaded) = try Self.evaluate(path, in: lua, setScriptDirectory: setScriptDirectory,
                                                       firstID: (functions.keys.max() ?? 0) + 1)
            functions.merge(loaded) { $1 }
            return workflow
        } catch {
            if lua.interrupter.isRequested { throw ScriptError("\(path): interrupted") }
            throw error
        }
    }

    /// A Lua state with the stdlib and the host's functions in it.
    private struct State {
        var lua: LuaState
        var session: CodeSession
        var runStep: LuaFunction
        var setScriptDirectory: LuaFunction
    }

    private static func prepare(searchPath: String?, callbackTimeout: Duration,
                                catalog: (@Sendable () throws -> any RunCatalog)?) throws(ScriptError) -> State {
        let lua = LuaState(memoryLimit: try memoryLimit())
        let session = CodeSession(interrupter: lua.interrupter, callbackTimeout: callbackTimeout)
        session.catalog = catalog
        do {
            let setter = try Stdlib.install(in: lua, searchPath: searchPath)
            try session.register(in: lua)
            guard let runStep = try lua.run("return require('flowlua.runtime').run_step", chunkName: "=[flowlua]")
                .first?.functionValue
            else { throw ScriptError("flowlua.runtime: run_step is missing") }
            return State(lua: lua, session: session, runStep: runStep, setScriptDirectory: setter)
        } catch {
            throw ScriptError.from(error)
        }
    }

    /// The most memory a script and its code steps may hold: 4G, or
    /// `FLOWLUA_LUA_MEMORY` (a size such as `512M`; 0 for no limit).
    static func memoryLimit(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ScriptError) -> UInt64? {
        guard let text = environment["FLOWLUA_LUA_MEMORY"] else { return 4 << 30 }
        guard let bytes = ByteCount.parse(text) else {
            throw ScriptError("FLOWLUA_LUA_MEMORY: '\(text)' is not a size (say 512M, 8G, or 0 for no limit)")
        }
        return bytes == 0 ? nil : bytes
    }

    /// Runs the script at `path` in `lua` and reads the workflow it declared;
    /// its functions get ids from `firstID` on.
    private static func evaluate(_ path: String, in lua: LuaState, setScriptDirectory: LuaFunction,
                                 firstID: Int) throws(ScriptError) -> (Workflow, [Int: LuaFunction]) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var loader = WorkflowLoader(lua: lua, script: path, directory: directory, firstID: firstID)
        do {
            try lua.call(setScriptDirectory, [.string(Stdlib.template(directory))])
            let chunk = try lua.load(contentsOf: path)
            // A script builds tables and keeps them all: collect less while it runs.
            try lua.run("collectgarbage('incremental', 400, 400)", chunkName: "=[flowlua]")
            defer { _ = try? lua.run("collectgarbage('incremental', 200, 100)", chunkName: "=[flowlua]") }
            // A declaration left by an earlier script that failed is not this one's.
            try lua.run("require('flowlua.dsl').declared = nil", chunkName: "=[flowlua]")
            try lua.callIgnoringResults(chunk)
            let take = try lua.load("""
                local dsl = require('flowlua.dsl')
                local declared = dsl.declared
                dsl.declared = nil
                if declared == nil then return nil end
                return dsl.take(declared)
                """, chunkName: "=[flowlua]")
            let workflow = try lua.call(take, reading: { taken throws -> Workflow in
                guard taken.count > 1, let root = try taken.first.map(loader.root), !root.isNil else {
                    throw ScriptError("\(path): the script declares no workflow (write workflow { name = ..., steps = { ... } })")
                }
                let count: Int? = if taken.count > 2, case .integer(let n)? = taken[2].number { n } else { nil }
                return try loader.workflow(from: root, steps: taken[1], count: count)
            })
            return (workflow, loader.functions)
        } catch {
            throw ScriptError.from(error)
        }
    }

    deinit { executor.shutdown() }

    // MARK: CodeExecutor

    public func run(_ step: CodeStep, context: StepContext, vars: [String: Value]) async -> StepOutcome {
        guard let function = functions[step.function.id] else {
            return StepOutcome(result: ExecResult(exitCode: nil, error: "code step function not found"))
        }
        let parameters = context.variables.parameters
        if parameterTable?.values != parameters { parameterTable = (parameters, LuaValue(parameters)) }
        let arguments: [LuaValue] = [
            .function(function), parameterTable?.table ?? .nil, LuaValue(vars), .string(context.runID),
            .string(context.folder.path), .string(context.stepName), .integer(context.attempt),
            .string(context.logs.base),
        ]
        session.context = context
        defer { session.context = nil }
        let (lua, workflow, functions) = (lua, workflow, functions)
        let outcome = interruptible(stop: context.stop, timeout: nil) { () throws(LuaError) -> StepReturn in
            do {
                // Read where run_step left them: no copy of ctx.vars first.
                return try lua.call(runStep, arguments, reading: { results in
                    var returned = StepReturn(vars: Result { () throws(LuaDecodingError) in
                        guard let table = results.first else { throw Self.varsError("expected table, got no value") }
                        return try Self.variables(table)
                    }, logged: results.count > 1 && results[1].boolean == true)
                    if results.count > 2, results[2].isTable {
                        var loader = WorkflowLoader(lua: lua, script: workflow.script, directory: workflow.directory,
                                                    firstID: (functions.keys.max() ?? 0) + 1)
                        returned.added = Result { (try loader.added(results[2]), loader.functions) }
                    }
                    return returned
                })
            } catch let error as LuaError {
                throw error
            } catch {
                throw LuaError(.runtime, String(describing: error))
            }
        }
        switch outcome {
        case .success(let returned):
            let stdout = returned.logged ? Self.read(context.logs.stdout) : ""
            switch (returned.vars, returned.added) {
            case (.success(let after), .success(let added)):
                self.functions.merge(added.functions) { $1 }
                return StepOutcome(result: ExecResult(exitCode: 0, stdout: stdout), changes: Self.changes(from: vars, to: after),
                                   added: added.steps)
            case (.failure(let error), _):
                return failure(error.description, stdout: stdout, context: context)
            case (_, .failure(let error)):
                return failure("ctx:add: \(error)", stdout: stdout, context: context)
            }
        case .failure(let error):
            let report = error.scriptReport + "\n"
            return failure(error.message, stderr: report, stdout: Self.read(context.logs.stdout), context: context)
        case .interrupted:
            return failure("interrupted", stdout: Self.read(context.logs.stdout), context: context)
        }
    }

    public func run(_ chain: CodeChain, vars: [String: Value]) async {
        // On this thread from link to link: the next begins as the one before returns.
        var vars = vars
        for position in chain.links.indices {
            let outcome = await run(chain.links[position].step, context: chain.context(position, vars: vars), vars: vars)
            guard chain.deliver(position, outcome) else { return }
            for (name, value) in outcome.changes { vars[name] = value }
        }
    }

    public func call(_ callback: FunctionReference, event: CallbackEvent) async -> String? {
        guard let function = functions[callback.id] else { return "callback function not found" }
        let arguments = Self.arguments(for: event)
        let outcome = interruptible(stop: nil, timeout: session.callbackTimeout) { () throws(LuaError) -> [LuaValue] in
            try lua.call(function, arguments)
        }
        switch outcome {
        case .success: return nil
        case .failure(let error): return error.fullDescription
        case .interrupted(let timedOut):
            return timedOut ? "timed out after \(session.callbackTimeout) and was interrupted" : "interrupted"
        }
    }

    // MARK: Interrupting

    /// What a code step's call returns: its `ctx.vars` as run variables (or
    /// what is wrong with them), and whether it wrote to its log.
    private struct StepReturn {
        var vars: Result<[String: Value], LuaDecodingError>
        var logged: Bool
        /// The steps it added, and the functions they hold.
        var added: Result<(steps: [Step], functions: [Int: LuaFunction]), any Error> = .success(([], [:]))
    }

    enum Outcome<Results> {
        case success(Results)
        case failure(LuaError)
        case interrupted(timedOut: Bool)
    }

    /// Runs `body` (a call into Lua) so that a stop of the attempt, or
    /// `timeout` passing, interrupts it. A request is tied to this call: one
    /// that arrives after it ended never reaches the next.
    func interruptible<Results>(stop: StopHandle?, timeout: Duration?,
                               _ body: () throws(LuaError) -> Results) -> Outcome<Results> {
        calls += 1
        let (call, gate, interrupter) = (calls, gate, lua.interrupter)
        gate.begin(call)
        defer { gate.end() }
        stop?.onStop { gate.interrupt(call) }
        defer { stop?.clear() }
        let timer = timeout.map { timeout in
            Task.detached {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { gate.interrupt(call) }
            }
        }
        defer { timer?.cancel() }
        if stop?.isStopped == true { return .interrupted(timedOut: false) }
        do throws(LuaError) {
            let results = try body()
            return interrupter.isRequested ? .interrupted(timedOut: stop == nil) : .success(results)
        } catch {
            return interrupter.isRequested ? .interrupted(timedOut: stop == nil) : .failure(error)
        }
    }

    // MARK: Helpers

    private func failure(_ message: String, stderr: String? = nil, stdout: String, context: StepContext) -> StepOutcome {
        let report = stderr ?? message + "\n"
        RunFolder.append(report, to: context.logs.stderr)
        return StepOutcome(result: ExecResult(exitCode: nil, stdout: stdout, stderr: report, error: message))
    }

    private static func arguments(for event: CallbackEvent) -> [LuaValue] {
        var step: LuaValue = .nil
        if let snapshot = event.step {
            var fields: [String: LuaValue] = [
                "name": .string(snapshot.name), "status": .string(snapshot.status.rawValue),
                "attempt": .integer(snapshot.attempt), "stdout": .string(snapshot.stdout),
                "stderr": .string(snapshot.stderr),
            ]
            if let code = snapshot.exitCode { fields["exit"] = .integer(Int(code)) }
            if let duration = snapshot.duration { fields["duration"] = .number(duration) }
            if event.scope == .step {
                fields["run_id"] = .string(event.runID)
                fields["run_dir"] = .string(event.runDirectory)
                fields["vars"] = LuaValue(event.vars)
                fields["params"] = LuaValue(event.parameters)
            }
            step = .table(LuaTable(fields))
        }
        let error: LuaValue = event.error.map { .string($0) } ?? .nil
        switch event.scope {
        case .step:
            return [step, error]
        case .workflow:
            let run: LuaValue = [
                "id": .string(event.runID), "workflow": .string(event.workflow),
                "status": .string(event.status.rawValue), "run_dir": .string(event.runDirectory),
                "vars": LuaValue(event.vars), "params": LuaValue(event.parameters),
            ]
            return [run, step, error]
        }
    }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

extension ScriptError {
    /// Any error met loading a script, as the `ScriptError` to report.
    static func from(_ error: any Error) -> ScriptError {
        switch error {
        case let error as ScriptError: error
        case let error as LuaError: ScriptError(error)
        default: ScriptError(String(describing: error))
        }
    }
}

/// Ties interrupt requests to the call they were meant for: a request for a
/// call that has ended is dropped, so it can never stop the next one.
private final class CallGate: Sendable {
    private let active = Mutex<Int?>(nil)
    private let interrupter: LuaInterrupter

    init(_ interrupter: LuaInterrupter) { self.interrupter = interrupter }

    func begin(_ call: Int) {
        active.withLock {
            interrupter.clear()
            $0 = call
        }
    }

    func end() {
        active.withLock {
            $0 = nil
            interrupter.clear()
        }
    }

    func interrupt(_ call: Int) {
        active.withLock { if $0 == call { interrupter.interrupt() } }
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
        case .record(let fields): self = .table(LuaTable(fields.mapValues(LuaValue.init)))
        }
    }

    init(_ values: [String: FlowModel.Value]) {
        self = .table(LuaTable(values.mapValues(LuaValue.init)))
    }

    static func == (value: LuaValue, bool: Bool) -> Bool {
        if case .boolean(let b) = value { b == bool } else { false }
    }
}
