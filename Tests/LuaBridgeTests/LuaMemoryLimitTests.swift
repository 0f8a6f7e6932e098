import Foundation
import LuaBridge
import Testing

/// A state's code holds at most its memory limit: past it, allocations fail
/// as Lua memory errors instead of the machine swapping.
@Suite("The memory limit of a Lua state")
struct LuaMemoryLimitTests {
    @Test func codeGrowingPastTheLimitIsAMemoryErrorNamingItAndTheStateStaysUsable() throws {
        let lua = LuaState(memoryLimit: 64 << 20)
        let error = #expect(throws: LuaError.self) {
            try lua.run("local t = {} for i = 1, math.huge do t[i] = {i} end", chunkName: "=grow")
        }
        #expect(error?.kind == .memory)
        #expect(error?.message == "not enough memory (Lua code may hold at most 64M; FLOWLUA_LUA_MEMORY sets it)")
        _ = try lua.run("collectgarbage()")
        #expect(lua.memoryInUse < 8 << 20, "the table was collected: \(lua.memoryInUse)")
        #expect(try lua.run("return #string.rep('x', 16 << 20)").first?.integer == 16 << 20, "under the limit, all is allowed")
        #expect(lua.stackTop == 0)
    }

    @Test func aScriptCanCatchItWithPcall() throws {
        let lua = LuaState(memoryLimit: 32 << 20)
        let results = try lua.run("""
            local ok, err = pcall(string.rep, 'x', 64 << 20)
            return ok, err
            """)
        #expect(results.first == .boolean(false))
        #expect(results.dropFirst().first?.stringValue == "not enough memory")
    }

    @Test func withoutALimitLargeAllocationsSucceed() throws {
        let lua = LuaState()
        #expect(lua.memoryLimit == nil)
        // Past the 64M that the limited states here refuse (kept small: a
        // test that holds its thread for long holds up the others).
        #expect(try lua.run("return #string.rep('x', 96 << 20)").first?.integer == 96 << 20)
    }

    @Test func anInterruptEndsALongCCallThatKeepsAllocating() throws {
        // One instruction can run for seconds (a gsub over 64 MB takes 2 s
        // here) and the count hook only fires between instructions; its
        // buffer's next growth must fail instead.
        let lua = LuaState()
        _ = try lua.run("big = string.rep('x', 64 << 20)")
        let interrupter = lua.interrupter
        let thread = Thread {
            usleep(100_000)
            interrupter.interrupt()
        }
        thread.start()
        let started = ContinuousClock.now
        #expect(throws: LuaError.self) { try lua.run("return #string.gsub(big, '.', '%0%0')", chunkName: "=gsub") }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(1), "stopped after \(took)")
        interrupter.clear()
        #expect(try lua.run("return #string.rep('x', 1000)").first?.integer == 1000, "and the state allocates again")
    }
}
