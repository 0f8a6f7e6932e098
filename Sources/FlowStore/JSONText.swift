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

    static func value(_ value: Value) -> String { value.json }

    static func string(_ text: String) -> String { Value.json(text) }
}
