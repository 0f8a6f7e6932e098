import FlowModel
import Foundation
import Testing

@Suite("Values: typed as JSON is, nested")
struct ValueTests {
    static let record = Value.record(["id": .string("s1"), "lanes": .list([.integer(7), .integer(8)]),
                                      "meta": .record(["ok": .boolean(true), "score": .float(0.5)])])

    @Test func aRecordIsWrittenAsJSONWithItsFieldsSorted() {
        #expect(Self.record.json == #"{"id":"s1","lanes":[7,8],"meta":{"ok":true,"score":0.5}}"#)
        #expect(Self.record.rendered == Self.record.json, "${record} substitutes its JSON")
        #expect(Value.string("a \"q\"\n").json == #""a \"q\"\n""#)
        #expect(Value.list([.string("a b"), .integer(1)]).rendered == "a b 1")
    }

    @Test func jsonDecodesIntoTheSameTypes() throws {
        let text = #"{"n": 3, "x": 2.5, "flag": false, "name": "a", "list": [1, "b"], "cfg": {"deep": {"k": [true]}}}"#
        let decoded = try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))
        #expect(decoded["n"] == .integer(3))
        #expect(decoded["x"] == .float(2.5))
        #expect(decoded["flag"] == .boolean(false))
        #expect(decoded["list"] == .list([.integer(1), .string("b")]))
        #expect(decoded["cfg"] == .record(["deep": .record(["k": .list([.boolean(true)])])]))
        let again = try JSONDecoder().decode(Value.self, from: Data(Self.record.json.utf8))
        #expect(again == Self.record, "what json writes reads back equal")
    }

    @Test func aPathFindsFieldsAndItemsCountedFromOne() {
        #expect(Self.record.value(at: ["id"]) == .string("s1"))
        #expect(Self.record.value(at: ["lanes", "2"]) == .integer(8))
        #expect(Self.record.value(at: ["meta", "score"]) == .float(0.5))
        #expect(Self.record.value(at: [String]()) == Self.record)
        for missing in [["nope"], ["lanes", "0"], ["lanes", "3"], ["lanes", "x"], ["id", "x"]] {
            #expect(Self.record.value(at: missing) == nil, "\(missing)")
        }
    }
}
