import FlowModel
@testable import FlowStore
import Foundation
import Testing

/// The hand-written JSON must read back with `JSONDecoder` as what was written.
@Suite("Hand-written JSON")
struct JSONTextTests {
    private let awkward = ["plain", "", "say \"hi\"", "back\\slash", "line\nbreak\ttab\r", "bell\u{7}", "naïve ☃ 🚀",
                           "quote at end\""]

    @Test func stringsReadBackAsWritten() throws {
        for text in awkward {
            let json = JSONText.string(text)
            #expect(try JSONDecoder().decode(String.self, from: Data(json.utf8)) == text, "\(json)")
        }
    }

    @Test func changesReadBackAsWrittenWithOneEntryOrMany() throws {
        let one: [String: Value?] = ["n\"ame": .some(.string("v\\al\n"))]
        let removed: [String: Value?] = ["gone": Value?.none]
        var many: [String: Value?] = ["i": .some(.integer(-3)), "f": .some(.float(2.5)), "b": .some(.boolean(true)),
                                      "l": .some(.list([.integer(1), .string("two")])), "x": Value?.none]
        for (i, text) in awkward.enumerated() { many["k\(i)"] = .some(.string(text)) }
        for changes in [one, removed, many, [:]] {
            let json = JSONText.changes(changes)
            #expect(try JSONDecoder().decode([String: Value?].self, from: Data(json.utf8)) == changes, "\(json)")
        }
        #expect(JSONText.changes(removed) == "{\"gone\":null}")
        #expect(JSONText.changes(["b": .some(.integer(2)), "a": .some(.integer(1))]) == "{\"a\":1,\"b\":2}",
                "entries in name order")
    }
}
