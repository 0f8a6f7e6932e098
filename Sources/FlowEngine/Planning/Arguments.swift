import FlowModel
import Foundation

/// Binds the values a user gave (`-p name=value`, `--params file.json`) to a
/// workflow's parameters, checking every one before anything runs.
public enum Arguments {
    /// - Parameters:
    ///   - assignments: `name=value` texts from `-p`, later ones winning.
    ///   - file: the path of a JSON object of values, applied before `-p`.
    /// - Returns: a value for every parameter that has one (defaults included).
    public static func bind(_ parameters: [Parameter], assignments: [String] = [],
                            file: String? = nil) throws(ArgumentError) -> [String: Value] {
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var values: [String: Value] = [:]
        for parameter in parameters {
            if let value = parameter.defaultValue { values[parameter.name] = value }
        }
        if let file {
            for (name, value) in try load(file) {
                guard let parameter = byName[name] else { throw unknown(name, in: parameters, source: file) }
                do { values[name] = try parameter.check(value) } catch { throw ArgumentError("\(file): \(error)") }
            }
        }
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ArgumentError("-p expects name=value, got '\(assignment)'")
            }
            let name = String(assignment[..<equals])
            let text = String(assignment[assignment.index(after: equals)...])
            guard let parameter = byName[name] else { throw unknown(name, in: parameters, source: nil) }
            do { values[name] = try parameter.parse(text) } catch { throw ArgumentError(error.description) }
        }
        let missing = parameters.filter { $0.required && values[$0.name] == nil }.map(\.name)
        if !missing.isEmpty {
            let list = missing.map { "'\($0)'" }.joined(separator: ", ")
            throw ArgumentError("missing required parameter\(missing.count > 1 ? "s" : "") \(list) (give it with -p \(missing[0])=VALUE)")
        }
        return values
    }

    private static func load(_ path: String) throws(ArgumentError) -> [String: Value] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ArgumentError("cannot read parameter file \(path): no such file or not readable")
        }
        do { return try JSONDecoder().decode([String: Value].self, from: data) } catch {
            throw ArgumentError("\(path): expected a JSON object of parameter values")
        }
    }

    private static func unknown(_ name: String, in parameters: [Parameter], source: String?) -> ArgumentError {
        let known = parameters.map(\.name)
        var message = (source.map { "\($0): " } ?? "") + "unknown parameter '\(name)'"
        if let close = known.min(by: { editDistance($0, name) < editDistance($1, name) }),
           editDistance(close, name) <= max(2, name.count / 3) {
            message += " (did you mean '\(close)'?)"
        } else if known.isEmpty {
            message += " (the workflow declares no parameters)"
        } else {
            message += " (known: \(known.joined(separator: ", ")))"
        }
        return ArgumentError(message)
    }
}

/// A usage error in the values given for a run.
public struct ArgumentError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
