import FlowModel
import LuaBridge

/// A code step's run variables: read from its `ctx.vars` as it returns, and
/// what it changed.
extension ScriptHost {
    /// The run variables a step set or removed, comparing its `ctx.vars` with
    /// what it was given.
    static func changes(from before: [String: Value], to after: [String: Value]) -> [String: Value?] {
        var changes: [String: Value?] = [:]
        for (name, value) in after where before[name] != value { changes[name] = .some(value) }
        for name in before.keys where after[name] == nil { changes[name] = .some(nil) }
        return changes
    }

    /// A table of run variables read in place: names and scalars as they
    /// come, anything else (a list, a bad entry) through the full reading.
    static func variables(_ table: LuaStackValue) throws(LuaDecodingError) -> [String: Value] {
        var values: [String: Value] = [:]
        var plain = table.isTable
        table.forEach { key, value in
            guard plain, let name = key.string else {
                plain = false
                return
            }
            if let text = value.string {
                values[name] = .string(text)
            } else if let flag = value.boolean {
                values[name] = .boolean(flag)
            } else if case .integer(let i)? = value.number {
                values[name] = .integer(i)
            } else if case .number(let d)? = value.number {
                values[name] = .float(d)
            } else {
                plain = false
            }
        }
        if plain { return values }
        let copy: LuaValue
        do throws(LuaError) { copy = try table.copy() } catch { throw varsError(error.message) }
        return try variables(copy)
    }

    static let varsPath = [LuaPathKey(stringValue: "ctx"), LuaPathKey(stringValue: "vars")]

    static func varsError(_ message: String) -> LuaDecodingError { LuaDecodingError(path: varsPath, message) }

    /// A table of run variables as values; the error names the bad entry.
    static func variables(_ table: LuaValue) throws(LuaDecodingError) -> [String: Value] {
        let path = varsPath
        guard case .table(let t) = table else { throw LuaDecodingError(path: path, "expected table, got \(table.typeName)") }
        var values: [String: Value] = [:]
        for (key, value) in t.hash {
            guard case .string(let name) = key else {
                throw LuaDecodingError(path: path, "run variable names must be strings, got \(key)")
            }
            // Scalars first: the path of a list's elements is built only for one.
            switch value {
            case .string(let s): values[name] = .string(s); continue
            case .integer(let i): values[name] = .integer(i); continue
            case .number(let d): values[name] = .float(d); continue
            case .boolean(let b): values[name] = .boolean(b); continue
            default: break
            }
            do {
                values[name] = try ValueSpec.convert(value, path: path + [LuaPathKey(stringValue: name)])
            } catch let error as LuaDecodingError {
                throw error
            } catch {
                throw LuaDecodingError(path: [], String(describing: error))
            }
        }
        if !t.array.isEmpty {
            throw LuaDecodingError(path: path + [LuaPathKey(intValue: 1)], "run variables need names")
        }
        return values
    }
}
