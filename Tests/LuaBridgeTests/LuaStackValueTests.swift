import LuaBridge
import Testing

@Suite("Reading results in place on the Lua stack")
struct LuaStackValueTests {
    let lua = LuaState()

    /// Runs `source` and lets `body` read its results in place.
    func reading<R>(_ source: String, _ body: ([LuaStackValue]) throws -> R) throws -> R {
        try lua.call(lua.load(source, chunkName: "=test"), reading: body)
    }

    @Test func scalarsReadAsTheirOwnTypeOnly() throws {
        try reading("return 'x', 3, 2.5, true, nil, print") { values in
            #expect(values.count == 6)
            #expect(values[0].string == "x" && values[0].isString("x") && !values[0].isString("xy"))
            #expect(values[1].string == nil, "a number is not converted to a string")
            #expect(values[1].number == .integer(3) && values[2].number == .number(2.5))
            #expect(values[0].number == nil && values[3].boolean == true && values[4].isNil)
            #expect(values[5].isFunction && values[5].typeName == "function")
        }
    }

    @Test func fieldsElementsAndEntriesOfATable() throws {
        let read = try reading("return { 'a', 'b', name = 'n', [4] = 'gap' }") { values in
            let t = values[0]
            var keys: [String] = []
            t.forEach { key, _ in keys.append(key.key?.description ?? "?") }
            return (t.sequenceCount, t.element(2, \.string), t.field("name", \.string), t.field("none", \.isNil),
                    keys.sorted(), t.element(1) { first in first.field("x", \.isNil) })
        }
        #expect(read.0 == 2, "the sequence stops at the first nil")
        #expect(read.1 == "b" && read.2 == "n" && read.3)
        #expect(read.4 == ["1", "2", "4", "name"])
        #expect(read.5, "a field of a string is nil")
    }

    @Test func theStackIsBalancedAfterReadsAndErrors() throws {
        struct Stop: Error {}
        let top = lua.stackTop
        _ = try reading("return { { 1 }, { 2 } }") { values in
            values[0].forEach { _, inner in _ = inner.element(1, \.number) }
        }
        #expect(throws: Stop.self) {
            try reading("return { a = 1, b = 2 }") { values in
                try values[0].forEach { (_, _) throws(Stop) in throw Stop() }
            }
        }
        #expect(lua.stackTop == top)
        #expect(throws: LuaError.self) { try reading("error('no')") { _ in () } }
        #expect(lua.stackTop == top)
    }

    @Test func aFunctionReadInPlaceOutlivesTheRead() throws {
        let function = try reading("return function(n) return n * 2 end") { $0[0].function }
        #expect(try function?.call(21).first == 42)
    }

    @Test func aCopyIsTheUsualSnapshot() throws {
        let copy = try reading("return { list = { 1, 2 } }") { try $0[0].copy() }
        let list = copy["list"].tableValue?.array ?? []
        #expect(list.count == 2 && list[0] == 1 && list[1] == 2)
    }
}
