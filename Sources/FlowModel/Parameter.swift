/// A typed parameter that a workflow declares and a user sets with `-p`.
public struct Parameter: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case string
        case int
        case float
        case bool
        /// One of a fixed set of strings.
        case select(choices: [String])
        /// A file or folder staged into the run folder; `target` is where it
        /// lands there (by default its own relative path).
        case file(target: String?)
        /// A list of strings (from `-p name=a,b,c` or a JSON array).
        case list

        public var name: String {
            switch self {
            case .string: "string"
            case .int: "int"
            case .float: "float"
            case .bool: "bool"
            case .select: "select"
            case .file: "file"
            case .list: "list"
            }
        }
    }

    public var name: String
    public var kind: Kind
    /// The value used when none is given; 0, false and "" are values like any other.
    public var defaultValue: Value?
    public var required: Bool
    public var min: Double?
    public var max: Double?
    public var help: String?

    public init(name: String, kind: Kind, defaultValue: Value? = nil, required: Bool = false,
                min: Double? = nil, max: Double? = nil, help: String? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.required = required
        self.min = min
        self.max = max
        self.help = help
    }
}

/// Why a value does not fit its parameter.
public struct ParameterError: Error, Sendable, Hashable, CustomStringConvertible {
    public var parameter: String
    public var message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { "parameter '\(parameter)': \(message)" }
}

extension Parameter {
    /// Parses a value given on the command line as text.
    public func parse(_ text: String) throws(ParameterError) -> Value {
        switch kind {
        case .string, .file: return try check(.string(text))
        case .int:
            guard let i = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ParameterError(name, "expected an integer, got '\(text)'")
            }
            return try check(.integer(i))
        case .float:
            guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d.isFinite else {
                throw ParameterError(name, "expected a number, got '\(text)'")
            }
            return try check(.float(d))
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1", "on": return .boolean(true)
            case "false", "no", "0", "off": return .boolean(false)
            default: throw ParameterError(name, "expected true or false, got '\(text)'")
            }
        case .select: return try check(.string(text))
        case .list:
            let items = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false)
            return .list(items.map { .string(String($0)) })
        }
    }

    /// Checks a typed value (from a JSON file or a default) against the
    /// declaration, converting where no information is lost (an integer for
    /// a float parameter).
    public func check(_ value: Value) throws(ParameterError) -> Value {
        let converted: Value
        switch (kind, value) {
        case (.string, .string), (.file, .string), (.select, .string), (.int, .integer),
             (.float, .float), (.bool, .boolean), (.list, .list):
            converted = value
        case (.float, .integer(let i)):
            converted = .float(Double(i))
        case (.int, .float(let d)) where d == d.rounded() && abs(d) < 9e15:
            converted = .integer(Int(d))
        default:
            throw ParameterError(name, "expected \(kind.valueDescription), got \(value.typeName) \(value.quoted)")
        }
        if case .select(let choices) = kind, case .string(let s) = converted, !choices.contains(s) {
            throw ParameterError(name, "'\(s)' is not one of \(choices.map { "'\($0)'" }.joined(separator: ", "))")
        }
        let number: Double? = switch converted {
        case .integer(let i): Double(i)
        case .float(let d): d
        default: nil
        }
        if let number {
            if let min, number < min {
                throw ParameterError(name, "\(converted.rendered) is below the minimum \(Self.format(min))")
            }
            if let max, number > max {
                throw ParameterError(name, "\(converted.rendered) is above the maximum \(Self.format(max))")
            }
        }
        return converted
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}

extension Parameter.Kind {
    var valueDescription: String {
        switch self {
        case .string, .file: "a string"
        case .int: "an integer"
        case .float: "a number"
        case .bool: "a boolean"
        case .select: "one of its choices"
        case .list: "a list"
        }
    }
}

extension Value {
    var quoted: String {
        if case .string(let s) = self { return "'\(s)'" }
        return rendered
    }
}

import Foundation
