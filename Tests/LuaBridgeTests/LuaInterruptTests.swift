import Foundation
import LuaBridge
import Testing

@Suite("Interrupting running Lua from another thread")
struct LuaInterruptTests {
    @Test func aLoopStopsWhenInterruptedAndTheStateStaysUsable() throws {
        let lua = LuaState()
        let interrupter = lua.interrupter
        let thread = Thread {
            usleep(100_000)
            interrupter.interrupt()
        }
        thread.start()
        let started = ContinuousClock.now
        #expect(throws: LuaError.self) { try lua.run("while true do end", chunkName: "=loop") }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(interrupter.isRequested)
        interrupter.clear()
        #expect(try lua.run("return 1 + 1").first?.integer == 2)
        #expect(lua.stackTop == 0)
    }

    @Test func aRequestMadeBeforeTheCallStopsIt() throws {
        // No code ran when it came, so no signal was sent: the call itself must see it.
        let lua = LuaState()
        let interrupter = lua.interrupter
        interrupter.interrupt()
        // Should the call miss it, a second request (with a signal) ends the loop late.
        let rescue = Thread {
            sleep(3)
            interrupter.interrupt()
        }
        rescue.start()
        let started = ContinuousClock.now
        let error = #expect(throws: LuaError.self) { try lua.run("while true do end", chunkName: "=loop") }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(error?.message.contains("interrupted") == true)
    }

    @Test func aRequestStandsUntilCleared() throws {
        let lua = LuaState()
        lua.interrupter.interrupt()
        // Nothing runs yet: the request waits for code to stop.
        lua.interrupter.clear()
        #expect(try lua.run("local n = 0; for i = 1, 1e6 do n = n + 1 end; return n").first?.integer == 1_000_000)
    }
}

extension LuaValue {
    var integer: Int? { if case .integer(let i) = self { i } else { nil } }
}
