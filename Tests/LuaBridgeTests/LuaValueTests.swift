import LuaBridge
import Testing

@Suite("Values between Swift and Lua")
struct LuaValueTests {
    let lua = LuaState()

    /// Pushes `value` as global `v`, runs `check` (a Lua expression over `v`)
    /// and returns what it evaluates to.
    func lua(_ value: LuaValue, _ check: String) throws -> LuaValue {
        try lua.setGlobal("v", value)
        return try lua.run("return \(check)").first ?? .nil
    }

    @Test func nilAndBooleansRoundTrip() throws {
        #expect(try lua(.nil, "v == nil").boolean == true)
        #expect(try lua(false, "v == false").boolean == true)
        #expect(try lua(true, "v").boolean == true)
    }

    @Test func integersStayDistinctFromFloats() throws {
        #expect(try lua(3, "math.type(v)").stringValue == "integer")
        #expect(try lua(3.0, "math.type(v)").stringValue == "float")
        guard case .integer(7) = try lua.run("return 3 + 4").first else { Issue.record("expected integer 7"); return }
        guard case .number(let d) = try lua.run("return 7 / 2").first else { Issue.record("expected float"); return }
        #expect(d == 3.5)
        guard case .number(let whole) = try lua.run("return 2.0").first else { Issue.record("2.0 must stay a float"); return }
        #expect(whole == 2)
        guard case .integer(Int.max) = try lua.run("return math.maxinteger").first else { Issue.record("maxinteger"); return }
    }

    @Test func stringsKeepEmbeddedZeroBytes() throws {
        #expect(try lua("a\0b", "#v") == 3)
        #expect(try lua("a\0b", "v:byte(2)") == 0)
        #expect(try lua.run("return 'x\\0y\\0'").first?.stringValue == "x\0y\0")
        #expect(try lua("héllo", "#v") == 6)
    }

    @Test func arraysAndMapsRoundTripNested() throws {
        let value: LuaValue = ["list": [1, "two", 3.5], "map": ["a": true, "b": ["deep": "yes"]]]
        #expect(try lua(value, "#v.list .. v.list[2] .. v.map.b.deep") == "3twoyes")
        let back = try lua.run("return { 10, 20, 30, name = 'x', [5] = 'gap', [true] = 1 }").first?.tableValue
        #expect(back?.array.count == 3)
        #expect(back?.hash[.string("name")]?.stringValue == "x")
        #expect(back?.hash[.integer(5)]?.stringValue == "gap")
        #expect(back?.hash[.boolean(true)] == 1)
    }

    @Test func cyclicTablesAreAnErrorNotAHang() throws {
        #expect(throws: LuaError.self) { try lua.run("local t = {}; t.self = t; return t") }
        #expect(lua.stackTop == 0)
    }

    @Test func functionsAreKeptAsReferencesAndCallableLater() throws {
        let f = try #require(try lua.run("local n = 0; return function(k) n = n + k; return n end").first?.functionValue)
        lua.collectGarbage()
        #expect(try f.call(5).first == 5)
        #expect(try f.call(2).first == 7)
        #expect(f.definition.location == "(string):1")
        #expect(lua.stackTop == 0)
    }
}

extension LuaValue: Equatable {
    public static func == (a: LuaValue, b: LuaValue) -> Bool {
        switch (a, b) {
        case (.nil, .nil): true
        case (.boolean(let x), .boolean(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        default: false
        }
    }

    var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
}
