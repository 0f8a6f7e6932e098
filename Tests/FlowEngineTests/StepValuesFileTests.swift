import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("A step's values file, read")
struct StepValuesFileTests {
    func read(_ text: String, declared: [String] = ["n", "gone"]) throws -> Result<[String: Value?], StepValues.Failure> {
        let path = try temporaryFolder().appending(path: "values.json").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return StepValues.read(path, declared: declared)
    }

    @Test func nullRemovesAVariableAndOtherValuesKeepTheirTypes() throws {
        let values = try read(#" {"n": [1, {"k": 2.5}], "gone": null}"#).get()
        #expect(values["n"] == .some(.list([.integer(1), .record(["k": .float(2.5)])])))
        #expect(values["gone"] == .some(nil), "null is a removal, not a missing name")
        #expect(values.count == 2)
    }

    @Test func aValueDeclaredButAbsentIsAFailureNamingIt() throws {
        let failure = try #require(throws: StepValues.Failure.self) { try read(#"{"n": 1}"#).get() }
        #expect(failure.description == "the step declares the value 'gone' but did not write it to $FLOWLUA_VALUES")
    }

    @Test func nestingPastWhatJSONAllowsIsAFailureNotACrash() throws {
        let deep = "{\"n\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let failure = try #require(throws: StepValues.Failure.self) { try read(deep).get() }
        #expect(failure.description.contains("does not hold a JSON object of values"), "\(failure)")
    }

    @Test func aMissingFileIsAFailureNamingThePath() throws {
        let path = try temporaryFolder().appending(path: "none.json").path
        let failure = try #require(throws: StepValues.Failure.self) { try StepValues.read(path, declared: ["n"]).get() }
        #expect(failure.description.contains(path))
    }
}
