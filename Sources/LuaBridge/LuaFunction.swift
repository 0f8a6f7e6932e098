internal import CLua

/// A Lua function kept alive in its state's registry.
///
/// Holds its `LuaState`, which therefore outlives it; releases the registry
/// slot when dropped. Like the state, it belongs to the state's one owner.
public final class LuaFunction {
    public let state: LuaState
    let ref: Int32

    init(state: LuaState, ref: Int32) {
        self.state = state
        self.ref = ref
    }

    deinit { luaL_unref(state.L, flowlua_registryindex(), ref) }

    func push(onto L: OpaquePointer) {
        lua_rawgeti(L, flowlua_registryindex(), lua_Integer(ref))
    }

    /// Calls the function in protected mode.
    @discardableResult
    public func call(_ arguments: LuaValue...) throws(LuaError) -> [LuaValue] {
        try state.call(self, arguments)
    }

    /// Where the function was defined, as `source:line` (`workflow.lua:12`),
    /// and its source text when the chunk is a file that can still be read.
    public var definition: (location: String, line: Int, lastLine: Int, source: String) {
        let L = state.L
        var info = lua_Debug()
        push(onto: L)
        lua_getinfo(L, ">S", &info)
        let source = info.source.map { String(cString: $0) } ?? "?"
        let name = source.hasPrefix("@") || source.hasPrefix("=") ? String(source.dropFirst()) : source
        return ("\(name):\(info.linedefined)", Int(info.linedefined), Int(info.lastlinedefined), source)
    }
}
