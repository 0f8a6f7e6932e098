import FlowModel
import LuaBridge

// The tables a workflow script builds, as Decodable shapes. Field names are
// the DSL's; `LuaDecoder` rejects any other and names the path of a wrong one.

extension LuaValue: Decodable {
    /// Only `LuaDecoder` can produce raw Lua values; it does so before this runs.
    public init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                debugDescription: "a Lua value decodes only from Lua"))
    }
}

/// A Lua function field (`run`, `on_success`).
struct LuaCallable: Decodable {
    let function: LuaFunction

    init(function: LuaFunction) { self.function = function }

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(LuaValue.self)
        guard case .function(let function) = value else {
            throw LuaDecodingError(path: decoder.codingPath, "expected function, got \(value.typeName)")
        }
        self.function = function
    }
}

/// A string, or a number or boolean written where a string is meant (env values).
struct Scalar: Decodable {
    let text: String
    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(LuaValue.self)
        switch value {
        case .string(let s): text = s
        case .integer(let i): text = String(i)
        case .number(let d): text = Value.float(d).rendered
        case .boolean(let b): text = b ? "true" : "false"
        default: throw LuaDecodingError(path: decoder.codingPath, "expected string, got \(value.typeName)")
        }
    }
}

/// A parameter value or variable from Lua: string, number, boolean or a list of them.
struct ValueSpec: Decodable {
    let value: Value
    init(from decoder: any Decoder) throws {
        value = try Self.convert(decoder.singleValueContainer().decode(LuaValue.self), path: decoder.codingPath)
    }

    static func convert(_ lua: LuaValue, path: [any CodingKey]) throws -> Value {
        switch lua {
        case .string(let s): return .string(s)
        case .integer(let i): return .integer(i)
        case .number(let d): return .float(d)
        case .boolean(let b): return .boolean(b)
        case .table(let table) where table.hash.isEmpty:
            return .list(try table.array.enumerated().map {
                try convert($0.element, path: path + [LuaPathKey(intValue: $0.offset + 1)])
            })
        case .table(let table) where table.array.isEmpty:
            var fields: [String: Value] = [:]
            for (key, value) in table.hash {
                guard case .string(let name) = key else {
                    throw LuaDecodingError(path: path, "a record's fields need string names, got key \(key)")
                }
                fields[name] = try convert(value, path: path + [LuaPathKey(stringValue: name)])
            }
            return .record(fields)
        case .table:
            throw LuaDecodingError(path: path, "expected a list or a record, got a table with both items and named fields")
        default:
            throw LuaDecodingError(path: path, "expected a string, number, boolean, list or record, got \(lua.typeName)")
        }
    }
}

/// A workflow table without its steps, which `StepReader` reads one by one.
struct WorkflowSpec: Decodable {
    var name: String
    var description: String?
    var parameters: [ParameterSpec]?
    var workers: LuaValue?
    var on_start: LuaCallable?
    var on_success: LuaCallable?
    var on_failure: LuaCallable?
    var on_cancel: LuaCallable?
}

struct ParameterSpec: Decodable {
    var name: String
    var type: String
    var `default`: LuaValue?
    var required: Bool?
    var min: Double?
    var max: Double?
    var choices: [String]?
    var help: String?
    var target: String?
}

struct WorkerSpecTable: Decodable {
    var type: String
    var name: String?
    var env: [String: Scalar]?
    var vars: [String: ValueSpec]?
    var volume: String?
    var image: String?
    // slurm
    var partition: String?
    var account: String?
    var options: [String]?
    var poll_interval: Double?
}

/// One table for every step kind, as `StepReader` reads it; fields that do
/// not belong to the step's kind are rejected afterwards.
struct StepSpec {
    var kind = ""
    var name = ""
    var after: [String]?
    var inputs: [String]?
    var outputs: [String]?
    var worker: String?
    var env: [String: Scalar]?
    var cpus: Double?
    var memory: String?
    var retries: Int?
    var retry_delay: Double?
    var timeout: Double?
    var on_start: LuaCallable?
    var on_success: LuaCallable?
    var on_failure: LuaCallable?
    var on_cancel: LuaCallable?
    /// Run variables a container or notebook step writes to `$FLOWLUA_VALUES`.
    var values: [String]?
    // container
    var image: String?
    var commands: [String]?
    var network: Bool?
    // code
    var run: LuaCallable?
    // notebook
    var notebook: String?
    var output: String?
    var params: [String: ValueSpec]?
    var requirements: [String]?
    /// `__line`, where the DSL saw the step declared.
    var line: Int?
    /// `__expands`: what a `foreach` adds as it runs, in words.
    var expands: String?

    /// The step kinds.
    static let kinds: Set<String> = ["container", "code", "notebook"]

    /// The first field set that belongs to another kind of step, and that kind.
    var foreignField: (field: String, kind: String)? {
        if kind != "container" {
            if commands != nil { return ("commands", "container") }
            if image != nil { return ("image", "container") }
            if network != nil { return ("network", "container") }
        }
        if kind != "code", run != nil { return ("run", "code") }
        if kind == "code", values != nil { return ("values", "container and notebook") }
        if kind != "notebook" {
            if notebook != nil { return ("notebook", "notebook") }
            if output != nil { return ("output", "notebook") }
            if params != nil { return ("params", "notebook") }
            if requirements != nil { return ("requirements", "notebook") }
        }
        return nil
    }
}
