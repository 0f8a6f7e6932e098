import FlowModel
import LuaBridge

/// Reads a step table in place, in one pass over its fields.
///
/// The loader's hot path (a workflow may declare 100,000 steps), so neither
/// through `Decodable`, whose per-field boxing cost as much as everything
/// else in loading such a workflow, nor through a `LuaValue` snapshot of the
/// table. The checks and messages are the decoder's: an unknown field, a
/// wrong type, each with its table path.
struct StepReader {
    /// The step's path, `steps[i]`; the paths of its fields are built only
    /// for an error.
    let path: [any CodingKey]

    init(path: [any CodingKey]) { self.path = path }

    func read(_ table: LuaStackValue) throws(LuaDecodingError) -> StepSpec {
        if table.element(1, { !$0.isNil }) {
            throw LuaDecodingError(path: path + [LuaPathKey(intValue: 1)], "unexpected list item in a table of named fields")
        }
        var spec = StepSpec()
        try table.forEach { (key, value) throws(LuaDecodingError) in
            guard let name = key.string else {
                throw LuaDecodingError(path: path, "unexpected key \(key.key?.description ?? key.typeName) in a table of named fields")
            }
            switch name {
            case "kind": spec.kind = try string(value, name)
            case "name": spec.name = try string(value, name)
            case "after": spec.after = try strings(value, name)
            case "inputs": spec.inputs = try strings(value, name)
            case "outputs": spec.outputs = try strings(value, name)
            case "worker": spec.worker = try string(value, name)
            case "env": spec.env = try decode([String: Scalar].self, value, name)
            case "cpus": spec.cpus = try number(value, name)
            case "memory": spec.memory = try string(value, name)
            case "retries": spec.retries = try integer(value, name)
            case "retry_delay": spec.retry_delay = try number(value, name)
            case "timeout": spec.timeout = try number(value, name)
            case "on_start": spec.on_start = try function(value, name)
            case "on_success": spec.on_success = try function(value, name)
            case "on_failure": spec.on_failure = try function(value, name)
            case "on_cancel": spec.on_cancel = try function(value, name)
            case "image": spec.image = try string(value, name)
            case "commands": spec.commands = try strings(value, name)
            case "network": spec.network = try boolean(value, name)
            case "run": spec.run = try function(value, name)
            case "notebook": spec.notebook = try string(value, name)
            case "output": spec.output = try string(value, name)
            case "params": spec.params = try decode([String: ValueSpec].self, value, name)
            case "requirements": spec.requirements = try strings(value, name)
            case "__line": if case .integer(let line)? = value.number { spec.line = line }
            case "values": spec.values = try strings(value, name)
            case "__expands": spec.expands = value.string
            default:
                if !name.hasPrefix("__") { throw LuaDecodingError(path: at(name), "unknown field") }
            }
        }
        if spec.kind.isEmpty { throw LuaDecodingError(path: path, "missing field 'kind'") }
        if spec.name.isEmpty { throw LuaDecodingError(path: path, "missing field 'name'") }
        return spec
    }

    private func at(_ name: String, _ index: Int? = nil) -> [any CodingKey] {
        path + [LuaPathKey(stringValue: name)] + (index.map { [LuaPathKey(intValue: $0)] } ?? [])
    }

    private func string(_ value: LuaStackValue, _ name: String, _ index: Int? = nil) throws(LuaDecodingError) -> String {
        guard let s = value.string else {
            throw LuaDecodingError(path: at(name, index), "expected string, got \(value.typeName)")
        }
        return s
    }

    /// A list of strings: keys 1...n and no other.
    private func strings(_ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> [String] {
        guard value.isTable else { throw LuaDecodingError(path: at(name), "expected list, got \(value.typeName)") }
        let count = value.sequenceCount
        var result: [String] = []
        result.reserveCapacity(count)
        try value.forEach { (key, _) throws(LuaDecodingError) in
            if case .integer(let i)? = key.key, i >= 1, i <= count { return }
            throw LuaDecodingError(path: at(name), "expected a list, got a table with key '\(key.key?.description ?? key.typeName)'")
        }
        for i in stride(from: 1, through: count, by: 1) {
            result.append(try value.element(i) { (element) throws(LuaDecodingError) in try string(element, name, i) })
        }
        return result
    }

    private func boolean(_ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> Bool {
        guard let b = value.boolean else { throw LuaDecodingError(path: at(name), "expected boolean, got \(value.typeName)") }
        return b
    }

    private func number(_ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> Double {
        switch value.number {
        case .integer(let i)?: return Double(i)
        case .number(let d)?: return d
        default: throw LuaDecodingError(path: at(name), "expected number, got \(value.typeName)")
        }
    }

    private func integer(_ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> Int {
        switch value.number {
        case .integer(let i)?: return i
        case .number(let d)?:
            guard let i = Int(exactly: d) else { throw LuaDecodingError(path: at(name), "expected integer, got \(d)") }
            return i
        default: throw LuaDecodingError(path: at(name), "expected integer, got \(value.typeName)")
        }
    }

    private func function(_ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> LuaCallable {
        guard let f = value.function else {
            throw LuaDecodingError(path: at(name), "expected function, got \(value.typeName)")
        }
        return LuaCallable(function: f)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: LuaStackValue, _ name: String) throws(LuaDecodingError) -> T {
        let copied: LuaValue
        do { copied = try value.copy() } catch { throw LuaDecodingError(path: at(name), error.message) }
        return try LuaDecoder().decode(type, from: copied, at: at(name))
    }
}
