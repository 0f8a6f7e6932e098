import FlowModel
import LuaBridge

/// Reads a step table in one pass over its fields.
///
/// The loader's hot path (a workflow may declare 100,000 steps), so not
/// through `Decodable`, whose per-field boxing cost as much as everything
/// else in loading such a workflow. The checks and messages are the
/// decoder's: an unknown field, a wrong type, each with its table path.
struct StepReader {
    let path: [any CodingKey]
    private let decoder = LuaDecoder()

    init(path: [any CodingKey]) { self.path = path }

    func read(_ table: LuaTable) throws(LuaDecodingError) -> StepSpec {
        if !table.array.isEmpty {
            throw LuaDecodingError(path: path + [LuaPathKey(intValue: 1)], "unexpected list item in a table of named fields")
        }
        var spec = StepSpec()
        for (key, value) in table.hash {
            guard case .string(let name) = key else {
                throw LuaDecodingError(path: path, "unexpected key \(key) in a table of named fields")
            }
            if name.hasPrefix("__") { continue }
            let at = path + [LuaPathKey(stringValue: name)]
            switch name {
            case "kind": spec.kind = try string(value, at)
            case "name": spec.name = try string(value, at)
            case "after": spec.after = try strings(value, at)
            case "inputs": spec.inputs = try strings(value, at)
            case "outputs": spec.outputs = try strings(value, at)
            case "worker": spec.worker = try string(value, at)
            case "env": spec.env = try decode([String: Scalar].self, value, at)
            case "cpus": spec.cpus = try number(value, at)
            case "memory": spec.memory = try string(value, at)
            case "retries": spec.retries = try integer(value, at)
            case "retry_delay": spec.retry_delay = try number(value, at)
            case "timeout": spec.timeout = try number(value, at)
            case "on_start": spec.on_start = try function(value, at)
            case "on_success": spec.on_success = try function(value, at)
            case "on_failure": spec.on_failure = try function(value, at)
            case "on_cancel": spec.on_cancel = try function(value, at)
            case "image": spec.image = try string(value, at)
            case "commands": spec.commands = try strings(value, at)
            case "network": spec.network = try boolean(value, at)
            case "run": spec.run = try function(value, at)
            case "notebook": spec.notebook = try string(value, at)
            case "output": spec.output = try string(value, at)
            case "params": spec.params = try decode([String: ValueSpec].self, value, at)
            case "requirements": spec.requirements = try strings(value, at)
            default: throw LuaDecodingError(path: at, "unknown field")
            }
        }
        if spec.kind.isEmpty { throw LuaDecodingError(path: path, "missing field 'kind'") }
        if spec.name.isEmpty { throw LuaDecodingError(path: path, "missing field 'name'") }
        return spec
    }

    private func string(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> String {
        guard case .string(let s) = value else { throw LuaDecodingError(path: at, "expected string, got \(value.typeName)") }
        return s
    }

    private func strings(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> [String] {
        guard case .table(let table) = value else { throw LuaDecodingError(path: at, "expected list, got \(value.typeName)") }
        if let key = table.hash.keys.first {
            throw LuaDecodingError(path: at, "expected a list, got a table with key '\(key)'")
        }
        var result: [String] = []
        result.reserveCapacity(table.array.count)
        for (i, element) in table.array.enumerated() {
            result.append(try string(element, at + [LuaPathKey(intValue: i + 1)]))
        }
        return result
    }

    private func boolean(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> Bool {
        guard case .boolean(let b) = value else { throw LuaDecodingError(path: at, "expected boolean, got \(value.typeName)") }
        return b
    }

    private func number(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> Double {
        switch value {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: throw LuaDecodingError(path: at, "expected number, got \(value.typeName)")
        }
    }

    private func integer(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> Int {
        switch value {
        case .integer(let i): return i
        case .number(let d):
            guard let i = Int(exactly: d) else { throw LuaDecodingError(path: at, "expected integer, got \(d)") }
            return i
        default: throw LuaDecodingError(path: at, "expected integer, got \(value.typeName)")
        }
    }

    private func function(_ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> LuaCallable {
        guard case .function(let f) = value else { throw LuaDecodingError(path: at, "expected function, got \(value.typeName)") }
        return LuaCallable(function: f)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: LuaValue, _ at: [any CodingKey]) throws(LuaDecodingError) -> T {
        try decoder.decode(type, from: value, at: at)
    }
}
