import FlowEngine
import FlowModel
import LuaBridge

/// What a chunk typed at the console came to.
public enum ConsoleReply: Sendable, Equatable {
    /// It ran; `output` shows the values it returned (nil: none).
    case done(output: String?)
    /// It is not finished (`function f()` so far): read another line.
    case incomplete
    /// It failed: the message, then its traceback.
    case failed(String)
    /// It called a console function (`flow.run_step` and the rest), which
    /// waits for `answer(_:)`.
    case request(ConsoleRequest)
}

/// A console function's call, for the console to carry out.
public struct ConsoleRequest: Sendable, Equatable {
    /// `load`, `steps`, `show`, `set`, `run_step`, `run_all` or `graph`.
    public var operation: String
    /// Its arguments, nil where Lua passed nil or something no `Value` holds.
    public var arguments: [Value?]

    public init(operation: String, arguments: [Value?]) {
        self.operation = operation
        self.arguments = arguments
    }
}

/// Data handed to the console's Lua code: what Lua tables hold, as values.
public indirect enum ConsoleValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case list([ConsoleValue])
    case table([String: ConsoleValue])

    public init(_ value: Value) {
        switch value {
        case .string(let s): self = .string(s)
        case .integer(let i): self = .integer(i)
        case .float(let d): self = .number(d)
        case .boolean(let b): self = .boolean(b)
        case .list(let items): self = .list(items.map(ConsoleValue.init))
        case .record(let fields): self = .table(fields.mapValues(ConsoleValue.init))
        }
    }

    var lua: LuaValue {
        switch self {
        case .null: .nil
        case .boolean(let b): .boolean(b)
        case .integer(let i): .integer(i)
        case .number(let d): .number(d)
        case .string(let s): .string(s)
        case .list(let items): .table(LuaTable(array: items.map(\.lua)))
        case .table(let fields): .table(LuaTable(fields.mapValues(\.lua)))
        }
    }
}

/// The console module's functions, kept once loaded.
struct LuaConsole {
    var compile: LuaFunction
    var start: LuaFunction
    var answer: LuaFunction
    var complete: LuaFunction
    var context: LuaFunction
}

extension ScriptHost {
    /// Evaluates `source` as the console does, like lua.c: an expression
    /// shows its values, a statement runs, an unfinished chunk asks for more.
    /// A stop of `stop` interrupts it.
    public func evaluate(_ source: String, stop: StopHandle? = nil) -> ConsoleReply {
        do throws(LuaError) {
            let console = try loadConsole()
            let compiled = try lua.call(console.compile, [.string(source)])
            guard case .function(let chunk)? = compiled.first else {
                let message = compiled.count > 1 ? compiled[1].stringValue ?? "" : ""
                return compiled.count > 2 && compiled[2] == true ? .incomplete : .failed(message)
            }
            return step(console.start, [.function(chunk)], stop: stop)
        } catch {
            return .failed(error.fullDescription)
        }
    }

    /// Answers the request the last reply made: its value, or an error
    /// raised where the console function was called.
    public func answer(_ result: Result<ConsoleValue, ConsoleFailure>, stop: StopHandle? = nil) -> ConsoleReply {
        do throws(LuaError) {
            let console = try loadConsole()
            let arguments: [LuaValue] = switch result {
            case .success(let value): [.boolean(true), value.lua]
            case .failure(let failure): [.boolean(false), .string(failure.message)]
            }
            return step(console.answer, arguments, stop: stop)
        } catch {
            return .failed(error.fullDescription)
        }
    }

    /// The words `word` completes to: globals and keywords, or fields of
    /// what a chain like `flow.ru` names.
    public func completions(of word: String) -> [String] {
        guard let console = try? loadConsole(),
              let found = try? lua.call(console.complete, [.string(word)]).first?.tableValue
        else { return [] }
        return found.array.compactMap(\.stringValue)
    }

    /// Sets a global of the console (`last`).
    public func setGlobal(_ name: String, _ value: ConsoleValue) {
        try? lua.setGlobal(name, value.lua)
    }

    /// Makes the console's `ctx`: a code step's context in `folder`, with
    /// the parameters and the session's run variables.
    public func setContext(parameters: [String: Value], vars: [String: Value], runID: String, folder: String) {
        guard let console = try? loadConsole() else { return }
        _ = try? lua.call(console.context, [LuaValue(parameters), LuaValue(vars), .string(runID), .string(folder)])
    }

    /// The run variables in the console's `ctx.vars`, which code typed at
    /// the prompt may have changed; nil when they are not all values.
    public func contextVars() -> Result<[String: Value], ConsoleFailure> {
        do throws(LuaError) {
            let vars = try lua.global("ctx")["vars"]
            if vars.isNil { return .success([:]) }
            do throws(LuaDecodingError) { return .success(try Self.variables(vars)) } catch {
                return .failure(ConsoleFailure(error.description))
            }
        } catch {
            return .failure(ConsoleFailure(error.message))
        }
    }

    private func loadConsole() throws(LuaError) -> LuaConsole {
        if let console { return console }
        let module = try lua.run("""
            local console = require('flowlua.console')
            console.install(flow)
            return console.compile, console.start, console.answer, console.complete, console.context
            """, chunkName: "=[flowlua console]")
        let functions = module.compactMap(\.functionValue)
        guard functions.count == 5 else { throw LuaError(.runtime, "flowlua.console is incomplete") }
        let loaded = LuaConsole(compile: functions[0], start: functions[1], answer: functions[2],
                                complete: functions[3], context: functions[4])
        console = loaded
        return loaded
    }

    private func step(_ function: LuaFunction, _ arguments: [LuaValue], stop: StopHandle?) -> ConsoleReply {
        let outcome = interruptible(stop: stop, timeout: nil) { () throws(LuaError) -> [LuaValue] in
            try lua.call(function, arguments)
        }
        switch outcome {
        case .success(let results):
            switch results.first?.stringValue {
            case "done":
                return .done(output: results.count > 1 ? results[1].stringValue : nil)
            case "request":
                let operation = results.count > 1 ? results[1].stringValue ?? "" : ""
                var arguments: [Value?] = []
                if results.count > 2, case .table(let packed) = results[2] {
                    let n = (packed.hash[.string("n")]).flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? packed.array.count
                    for i in 0 ..< n {
                        let value = i < packed.array.count ? packed.array[i] : packed.hash[.integer(i + 1)] ?? .nil
                        arguments.append(try? ValueSpec.convert(value, path: []))
                    }
                }
                return .request(ConsoleRequest(operation: operation, arguments: arguments))
            default:
                return .failed(results.count > 1 ? results[1].stringValue ?? "error" : "error")
            }
        case .failure(let error):
            return .failed(error.fullDescription)
        case .interrupted:
            // The chunk's coroutine was interrupted inside the call that
            // resumed it: it is dead, and the console goes on.
            return .failed("interrupted")
        }
    }
}

/// Why a console function failed, raised as a Lua error where it was called.
public struct ConsoleFailure: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
