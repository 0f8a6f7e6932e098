import Foundation
import LuaBridge
import Testing

@Suite("Protected calls and errors")
struct LuaCallTests {
    let lua = LuaState()

    @Test func runtimeErrorsCarryChunkNameLineAndTraceback() throws {
        let error = try #require(throws: LuaError.self) {
            try lua.run("local x = 1\nlocal function f() error('boom') end\nf()", chunkName: "@flow.lua")
        }
        #expect(error.kind == .runtime)
        #expect(error.message == "flow.lua:2: boom")
        let traceback = try #require(error.traceback)
        #expect(traceback.hasPrefix("stack traceback:"))
        #expect(traceback.contains("flow.lua:3"))
        #expect(lua.stackTop == 0)
    }

    @Test func syntaxErrorsNameTheLine() throws {
        let error = try #require(throws: LuaError.self) {
            _ = try lua.load("local a = 1\nlocal b = = 2\n", chunkName: "@broken.lua")
        }
        #expect(error.kind == .syntax)
        #expect(error.message.hasPrefix("broken.lua:2:"))
    }

    @Test func nonStringErrorObjectsAreDescribed() throws {
        let error = try #require(throws: LuaError.self) { try lua.run("error({code = 1})") }
        #expect(error.message == "(error object is a table value)")
        let custom = try #require(throws: LuaError.self) {
            try lua.run("error(setmetatable({}, {__tostring = function() return 'custom!' end}))")
        }
        #expect(custom.message == "custom!")
    }

    @Test func loadingAMissingFileNamesIt() throws {
        let error = try #require(throws: LuaError.self) { _ = try lua.load(contentsOf: "/nonexistent/flow.lua") }
        #expect(error.kind == .file)
        #expect(error.message.contains("/nonexistent/flow.lua"))
    }

    @Test func filesReportTheirPathAndSkipAShebang() throws {
        let path = FileManager.default.temporaryDirectory.appending(path: "shebang-\(UUID()).lua").path
        try "#!/usr/bin/env flowlua\nreturn 1 + nil\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let chunk = try lua.load(contentsOf: path)
        let error = try #require(throws: LuaError.self) { try lua.call(chunk) }
        #expect(error.message.hasPrefix("\(path):2: attempt to perform arithmetic"))
    }

    @Test func theStackStaysBalancedAcrossManyCalls() throws {
        let f = try #require(try lua.run("return function(a, b) return a + b, a * b end").first?.functionValue)
        for i in 0..<1000 {
            let results = try f.call(.integer(i), 2)
            #expect(results.count == 2)
        }
        _ = try? lua.run("error('x')")
        #expect(lua.stackTop == 0)
    }
}

@Suite("Long file names in messages")
struct LuaLongNameTests {
    @Test func errorsKeepTheWholeNameOfALongFilePath() throws {
        let lua = LuaState()
        let name = "/tmp/" + String(repeating: "deep/", count: 20) + "workflow.lua"
        let error = try #require(throws: LuaError.self) { try lua.run("\nerror('x')", chunkName: "@" + name) }
        #expect(error.message == "\(name):2: x")
        #expect(error.traceback?.contains("\(name):2:") == true)
    }
}
