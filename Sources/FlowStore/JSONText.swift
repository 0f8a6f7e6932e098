import FlowModel

/// JSON for the shapes written for every cached step and every run, by
/// hand: `JSONEncoder` cost more than the rest of recording a code step.
/// What it writes is read back with `JSONDecoder`.
enum JSONText {
    /// A run's step list: `[[name, kind], ...]`.
    static func steps(_ steps: [(name: String, kind: String)]) -> String {
        "[" + steps.map { "[\(string($0.name)),\(string($0.kind))]" }.joined(separator: ",") + "]"
    }

    static func files(_ files: [CachedFile]) -> String {
        guard !files.isEmpty else { return "[]" }
        return "[" + files.map { "{\"hash\":\(string($0.hash)),\"path\":\(string($0.path))}" }.joined(separator: ",") + "]"
    }

    static func changes(_ changes: [String: Value?]) -> String {
        guard !changes.isEmpty else { return "{}" }
        if changes.count == 1, let (name, value) = changes.first {  // most code steps: no sort, no array
            return "{" + string(name) + ":" + (value.map(self.value) ?? "null") + "}"
        }
        return "{" + changes.sorted { $0.key < $1.key }.map { "\(string($0.key)):\($0.value.map(value) ?? "null")" }
            .joined(separator: ",") + "}"
    }

    static func value(_ value: Value) -> String {
        switch value {
        case .string(let s): string(s)
        case .integer(let i): String(i)
        case .float(let d): d.isFinite ? "\(d)" : "null"
        case .boolean(let b): b ? "true" : "false"
        case .list(let items): "[" + items.map(self.value).joined(separator: ",") + "]"
        }
    }

    static func string(_ text: String) -> String {
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
