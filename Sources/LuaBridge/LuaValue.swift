/// A Lua value copied out of (or to be pushed into) a `LuaState`.
///
/// Tables are snapshots: reading a table copies it, recursively. Functions are
/// the exception: they stay in the state and are held through a registry
/// reference (`LuaFunction`), so a value can be called later.
public enum LuaValue {
    case `nil`
    case boolean(Bool)
    /// Lua 5.4's integer subtype, kept distinct from floats.
    case integer(Int)
    case number(Double)
    /// A Lua string; embedded zero bytes are kept.
    case string(String)
    case table(LuaTable)
    case function(LuaFunction)
    /// A value with no Swift counterpart (userdata, thread), named by its Lua type.
    case opaque(typeName: String)

    /// The Lua type name, as `type()` returns it.
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        case .opaque(let name): name
        }
    }

    public var isNil: Bool { if case .nil = self { true } else { false } }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    public var tableValue: LuaTable? { if case .table(let t) = self { t } else { nil } }

    public var functionValue: LuaFunction? { if case .function(let f) = self { f } else { nil } }

    /// A field of a table value; nil for other values or absent keys.
    public subscript(key: String) -> LuaValue {
        tableValue?.hash[.string(key)] ?? .nil
    }
}

/// A key of a Lua table that Swift can hold: strings, numbers and booleans.
public enum LuaKey: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)

    public var description: String {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .boolean(let b): String(b)
        }
    }
}

/// A snapshot of a Lua table: its sequence part (keys 1...n) and the rest.
public struct LuaTable {
    /// Values at keys 1, 2, ..., n, with no gap.
    public var array: [LuaValue]
    /// Every other entry.
    public var hash: [LuaKey: LuaValue]

    public init(array: [LuaValue] = [], hash: [LuaKey: LuaValue] = [:]) {
        self.array = array
        self.hash = hash
    }

    /// A table with string keys only.
    public init(_ fields: [String: LuaValue]) {
        self.init(hash: Dictionary(uniqueKeysWithValues: fields.map { (.string($0.key), $0.value) }))
    }

    public subscript(key: String) -> LuaValue {
        get { hash[.string(key)] ?? .nil }
        set { hash[.string(key)] = newValue.isNil ? nil : newValue }
    }

    public var isEmpty: Bool { array.isEmpty && hash.isEmpty }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(nilLiteral: ()) { self = .nil }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self = .table(LuaTable(Dictionary(elements, uniquingKeysWith: { $1 })))
    }
}
