import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Binding -p values and parameter files")
struct ArgumentsTests {
    let parameters = [
        Parameter(name: "greeting", kind: .string, defaultValue: .string("Hello")),
        Parameter(name: "count", kind: .int, defaultValue: .integer(0), min: 0, max: 5),
        Parameter(name: "verbose", kind: .bool, defaultValue: .boolean(false)),
        Parameter(name: "ratio", kind: .float),
        Parameter(name: "mode", kind: .select(choices: ["fast", "slow"]), required: true),
    ]

    func message(_ assignments: [String], file: String? = nil) -> String {
        do {
            _ = try Arguments.bind(parameters, assignments: assignments, file: file)
            return "no error"
        } catch { return error.description }
    }

    @Test func defaultsIncludingZeroAndFalseAreKept() throws {
        let values = try Arguments.bind(parameters, assignments: ["mode=fast"])
        #expect(values["count"] == .integer(0))
        #expect(values["verbose"] == .boolean(false))
        #expect(values["greeting"] == .string("Hello"))
        #expect(values["ratio"] == nil)
    }

    @Test func assignmentsOverrideDefaultsAndKeepEverythingAfterTheFirstEquals() throws {
        let values = try Arguments.bind(parameters, assignments: ["mode=slow", "greeting=a=b", "count=5", "ratio=0.5"])
        #expect(values["greeting"] == .string("a=b"))
        #expect(values["count"] == .integer(5))
        #expect(values["ratio"] == .float(0.5))
    }

    @Test func everyBadValueGetsOneClearMessage() {
        #expect(message(["mode=fast", "greting=Hi"]) == "unknown parameter 'greting' (did you mean 'greeting'?)")
        #expect(message(["mode=fast", "zzzzzzzzzz=1"]).hasPrefix("unknown parameter 'zzzzzzzzzz' (known: greeting, count"))
        #expect(message(["mode=fast", "count=many"]) == "parameter 'count': expected an integer, got 'many'")
        #expect(message(["mode=fast", "count=9"]) == "parameter 'count': 9 is above the maximum 5")
        #expect(message(["mode=medium"]) == "parameter 'mode': 'medium' is not one of 'fast', 'slow'")
        #expect(message([]) == "missing required parameter 'mode' (give it with -p mode=VALUE)")
        #expect(message(["count"]) == "-p expects name=value, got 'count'")
    }

    @Test func aJSONFileSetsTypedValuesBeforeAssignments() throws {
        let folder = try temporaryFolder()
        let file = folder.appending(path: "params.json").path
        try #"{"mode": "slow", "count": 2, "ratio": 1, "verbose": true}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let values = try Arguments.bind(parameters, assignments: ["count=3"], file: file)
        #expect(values["mode"] == .string("slow"))
        #expect(values["count"] == .integer(3))
        #expect(values["ratio"] == .float(1))
        #expect(values["verbose"] == .boolean(true))

        try #"{"mode": "slow", "count": "2"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(message([], file: file) == "\(file): parameter 'count': expected an integer, got string '2'")
        try #"{"mode": "slow", "nope": 1}"#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(message([], file: file).hasPrefix("\(file): unknown parameter 'nope'"))
        #expect(message([], file: folder.appending(path: "missing.json").path).contains("missing.json"))
    }
}
