import FlowModel
import Testing

@Suite("Typed parameters")
struct ParameterTests {
    @Test func parsesEachTypeFromText() throws {
        #expect(try Parameter(name: "s", kind: .string).parse("a b") == .string("a b"))
        #expect(try Parameter(name: "i", kind: .int).parse("42") == .integer(42))
        #expect(try Parameter(name: "f", kind: .float).parse("2.5") == .float(2.5))
        #expect(try Parameter(name: "b", kind: .bool).parse("false") == .boolean(false))
        #expect(try Parameter(name: "b", kind: .bool).parse("yes") == .boolean(true))
        #expect(try Parameter(name: "l", kind: .list).parse("a,b,c") == .list([.string("a"), .string("b"), .string("c")]))
        #expect(try Parameter(name: "m", kind: .select(choices: ["fast", "slow"])).parse("slow") == .string("slow"))
    }

    @Test func wrongTypesAreRejectedWithTheName() throws {
        let error = try #require(throws: ParameterError.self) { _ = try Parameter(name: "count", kind: .int).parse("three") }
        #expect(error.description == "parameter 'count': expected an integer, got 'three'")
        #expect(throws: ParameterError.self) { _ = try Parameter(name: "f", kind: .float).parse("nan") }
        #expect(throws: ParameterError.self) { _ = try Parameter(name: "b", kind: .bool).parse("maybe") }
        #expect(throws: ParameterError.self) { _ = try Parameter(name: "i", kind: .int).check(.string("1")) }
    }

    @Test func boundsAndChoicesAreChecked() throws {
        let n = Parameter(name: "n", kind: .int, min: 0, max: 10)
        #expect(try n.parse("0") == .integer(0))
        #expect(try n.parse("10") == .integer(10))
        let below = try #require(throws: ParameterError.self) { _ = try n.parse("-1") }
        #expect(below.message == "-1 is below the minimum 0")
        let above = try #require(throws: ParameterError.self) { _ = try n.parse("11") }
        #expect(above.message == "11 is above the maximum 10")
        let choice = try #require(throws: ParameterError.self) {
            _ = try Parameter(name: "m", kind: .select(choices: ["a", "b"])).parse("c")
        }
        #expect(choice.message == "'c' is not one of 'a', 'b'")
    }

    @Test func integersWidenToFloatsButNotTheOtherWay() throws {
        #expect(try Parameter(name: "f", kind: .float).check(.integer(2)) == .float(2))
        #expect(try Parameter(name: "i", kind: .int).check(.float(3)) == .integer(3))
        #expect(throws: ParameterError.self) { _ = try Parameter(name: "i", kind: .int).check(.float(3.5)) }
    }

    @Test func valuesRenderForSubstitution() {
        #expect(Value.integer(0).rendered == "0")
        #expect(Value.boolean(false).rendered == "false")
        #expect(Value.float(2).rendered == "2.0")
        #expect(Value.float(0.25).rendered == "0.25")
        #expect(Value.list([.string("a"), .integer(1)]).rendered == "a 1")
    }
}
