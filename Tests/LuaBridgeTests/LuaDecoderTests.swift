import LuaBridge
import Testing

private struct Step: Decodable {
    var name: String
    var commands: [String]
    var retries: Int?
    var env: [String: String]?
}

private struct Flow: Decodable {
    var name: String
    var steps: [Step]
    var enabled: Bool?
    var ratio: Double?
}

@Suite("Decoding Lua tables into Swift values")
struct LuaDecoderTests {
    let lua = LuaState()

    func decode<T: Decodable>(_ type: T.Type, _ source: String) throws -> T {
        try LuaDecoder().decode(type, from: try lua.run("return " + source).first ?? .nil)
    }

    func failure<T: Decodable>(_ type: T.Type, _ source: String) throws -> String {
        let error = try #require(throws: LuaDecodingError.self) { _ = try decode(type, source) }
        return error.description
    }

    @Test func decodesNestedTables() throws {
        let flow = try decode(Flow.self, """
            { name = "f", ratio = 2, enabled = false, steps = {
                { name = "a", commands = { "x", "y" }, retries = 3, env = { K = "v" } },
                { name = "b", commands = {} } } }
            """)
        #expect(flow.name == "f")
        #expect(flow.enabled == false)
        #expect(flow.ratio == 2.0)
        #expect(flow.steps.map(\.name) == ["a", "b"])
        #expect(flow.steps[0].commands == ["x", "y"])
        #expect(flow.steps[0].retries == 3)
        #expect(flow.steps[0].env == ["K": "v"])
        #expect(flow.steps[1].commands.isEmpty)
    }

    @Test func aWrongTypeNamesItsPath() throws {
        let message = try failure(Flow.self, """
            { name = "f", steps = { { name = "a", commands = {} }, { name = "b", commands = { 42 } } } }
            """)
        #expect(message == "steps[2].commands[1]: expected string, got number")
    }

    @Test func numbersAreNotStringsAndFractionsAreNotIntegers() throws {
        #expect(try failure(Step.self, "{ name = 1, commands = {} }") == "name: expected string, got number")
        #expect(try failure(Step.self, "{ name = 'a', commands = {}, retries = 2.5 }") == "retries: expected integer, got 2.5")
        #expect(try decode(Step.self, "{ name = 'a', commands = {}, retries = 2.0 }").retries == 2)
        #expect(try failure(Step.self, "{ name = 'a', commands = {}, retries = '2' }") == "retries: expected integer, got string")
    }

    @Test func unknownAndMissingFieldsAreNamed() throws {
        #expect(try failure(Step.self, "{ name = 'a', comands = {} }").hasPrefix("com"))
        #expect(try failure(Step.self, "{ name = 'a', commands = {}, retrys = 1 }") == "retrys: unknown field")
        #expect(try failure(Flow.self, "{ name = 'f', steps = { { commands = {} } } }") == "steps[1]: missing field 'name'")
    }

    @Test func metadataKeysAreIgnored() throws {
        #expect(try decode(Step.self, "{ name = 'a', commands = {}, __origin = 'x.lua:1' }").name == "a")
    }

    @Test func listsAndMapsAreNotConfused() throws {
        #expect(try failure(Step.self, "{ name = 'a', commands = { x = 'y' } }")
            == "commands: expected a list, got a table with key 'x'")
        #expect(try failure(Step.self, "{ name = 'a', commands = 'ls' }") == "commands: expected list, got string")
        #expect(try failure(Step.self, "{ 'a', commands = {} }") == "[1]: unexpected list item in a table of named fields")
        #expect(try failure(Flow.self, "{ name = 'f', steps = { 'a' } }") == "steps[1]: expected table, got string")
    }

    @Test func oddKeysAreQuotedInPaths() throws {
        let message = try failure([String: Step].self, "{ ['my step'] = { name = 1, commands = {} } }")
        #expect(message == "[\"my step\"].name: expected string, got number")
    }
}
