/// A parameter value or run variable: what `${name}` substitutes.
public enum Value: Sendable, Hashable, Codable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case list([Value])

    /// The text substituted for `${name}`: numbers as Lua prints them, a
    /// list as its items separated by spaces.
    public var rendered: String {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .float(let d): d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
        case .boolean(let b): b ? "true" : "false"
        case .list(let items): items.map(\.rendered).joined(separator: " ")
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
        }
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
        } else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string, number, boolean or list"))
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
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
