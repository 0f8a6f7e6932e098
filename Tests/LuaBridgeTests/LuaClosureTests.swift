import LuaBridge
import Testing

struct Refusal: Error, CustomStringConvertible {
    var description: String { "refused by Swift" }
}

final class DeinitChecker {
    let onDeinit: () -> Void
    init(_ onDeinit: @escaping () -> Void) { self.onDeinit = onDeinit }
    deinit { onDeinit() }
}

@Suite("Swift functions called from Lua")
struct LuaClosureTests {
    let lua = LuaState()

    @Test func swiftFunctionsReceiveArgumentsAndReturnResults() throws {
        try lua.register("add") { args in
            guard case .integer(let a) = try args[1], case .integer(let b) = try args[2] else { return [.nil] }
            return [.integer(a + b), .string("sum")]
        }
        #expect(try lua.run("local s, w = add(2, 3); return s, w") == [5, "sum"])
    }

    @Test func aSwiftErrorBecomesALuaErrorAtTheCallersLine() throws {
        try lua.register("refuse") { _ in throw Refusal() }
        let error = try #require(throws: LuaError.self) {
            try lua.run("local x = 1\nrefuse()", chunkName: "@caller.lua")
        }
        #expect(error.message == "caller.lua:2: refused by Swift")
        // Lua code can catch it like any Lua error, and the state goes on working.
        let caught = try lua.run("local ok, e = pcall(function() refuse() end); return ok, e", chunkName: "=t")
        #expect(caught == [false, "t:1: refused by Swift"])
        #expect(try lua.run("return 40 + 2") == [42])
        #expect(lua.stackTop == 0)
    }

    @Test func argumentErrorsNameTheArgument() throws {
        try lua.register("greet") { args in [.string("hi " + (try args.string(1, function: "greet")))] }
        #expect(try lua.run("return greet('bo')") == ["hi bo"])
        let error = try #require(throws: LuaError.self) { try lua.run("greet(42)", chunkName: "=g") }
        #expect(error.message == "g:1: bad argument #1 to 'greet' (string expected, got number)")
    }

    @Test func closuresAreReleasedWhenLuaCollectsThem() throws {
        var released = false
        do {
            let checker = DeinitChecker { released = true }
            try lua.register("tmp") { _ in _ = checker; return [] }
        }
        #expect(!released)
        try lua.run("tmp = nil")
        lua.collectGarbage()
        #expect(released)
    }
}
