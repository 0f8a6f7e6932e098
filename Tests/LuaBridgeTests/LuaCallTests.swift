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

    @Test func globalsAreReadAndWrittenInProtectedMode() throws {
        try lua.run("setmetatable(_G, { __index = function(_, k) error('no ' .. k) end, __newindex = function(_, k) error('read-only ' .. k) end })")
        let read = try #require(throws: LuaError.self) { _ = try lua.global("missing") }
        #expect(read.message.contains("no missing"))
        let write = try #require(throws: LuaError.self) { try lua.setGlobal("x", .integer(1)) }
        #expect(write.message.contains("read-only x"))
        #expect(lua.stackTop == 0)
    }

    @Test func aCallWhoseArgumentCannotBePushedLeavesTheStackBalanced() throws {
        let f = try lua.load("return ...", chunkName: "=f")
        _ = try? lua.call(f, [.integer(1), .opaque(typeName: "userdata")])
        #expect(lua.stackTop == 0)
        _ = try? lua.callIgnoringResults(f, [.integer(1), .opaque(typeName: "userdata")])
        #expect(lua.stackTop == 0, "nor when its results are dropped")
    }

    @Test func aFileIsLoadedAsBytesAsLuaDoes() throws {
        let file = FileManager.default.temporaryDirectory.appending(path: "latin1-\(UUID().uuidString.prefix(8)).lua")
        try Data("-- caf".utf8 + [0xE9] + Data("\nreturn 7\n".utf8)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try lua.call(lua.load(contentsOf: file.path)) == [.integer(7)])
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
