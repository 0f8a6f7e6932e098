/// A parameter value or run variable: what `${name}` substitutes.
///
/// Typed as JSON is: a step's values (a code step's `ctx.vars`, the JSON
/// file of any other step) keep their types, lists and records nested.
public enum Value: Sendable, Hashable, Codable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case list([Value])
    /// Named fields: a Lua table with string keys, a JSON object.
    case record([String: Value])

    /// The text substituted for `${name}`: numbers as Lua prints them, a
    /// list as its items separated by spaces, a record as JSON.
    public var rendered: String {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .float(let d): d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
        case .boolean(let b): b ? "true" : "false"
        case .list(let items): items.map(\.rendered).joined(separator: " ")
        case .record: json
        }
    }

    /// The type name used in messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .list: "list"
        case .record: "record"
        }
    }

    /// The value at `path` below this one: a record's field by name, a
    /// list's item by its position from 1 (as Lua counts).
    public func value<Path: Sequence>(at path: Path) -> Value? where Path.Element: StringProtocol {
        var current = self
        for segment in path {
            switch current {
            case .record(let fields):
                guard let next = fields[String(segment)] else { return nil }
                current = next
            case .list(let items):
                guard let position = Int(segment), position >= 1, position <= items.count else { return nil }
                current = items[position - 1]
            default:
                return nil
            }
        }
        return current
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let b = try? container.decode(Bool.self) {
            self = .boolean(b)
        } else if let i = try? container.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? container.decode(Double.self) {
            self = .float(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let items = try? container.decode([Value].self) {
            self = .list(items)
        } else if let fields = try? container.decode([String: Value].self) {
            self = .record(fields)
        } else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string, number, boolean, list or record"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .integer(let i): try container.encode(i)
        case .float(let d): try container.encode(d)
        case .boolean(let b): try container.encode(b)
        case .list(let items): try container.encode(items)
        case .record(let fields): try container.encode(fields)
        }
    }
}

extension Value {
    /// The value as compact JSON, a record's fields sorted by name: the
    /// same value always gives the same text (cache keys depend on it).
    public var json: String {
        switch self {
        case .string(let s): Self.json(s)
        case .integer(let i): String(i)
        case .float(let d): d.isFinite ? "\(d)" : "null"
        case .boolean(let b): b ? "true" : "false"
        case .list(let items): "[" + items.map(\.json).joined(separator: ",") + "]"
        case .record(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { Self.json($0.key) + ":" + $0.value.json }
                .joined(separator: ",") + "}"
        }
    }

    /// `text` as a JSON string.
    public static func json(_ text: String) -> String {
        // Most names and values need no escapes: checked by byte, copied whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
