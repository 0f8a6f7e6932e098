internal import CLua
internal import CLuaShims

/// The arguments of a call from Lua into a Swift function.
public struct LuaArguments {
    let state: LuaState
    let L: OpaquePointer

    /// How many arguments Lua passed.
    public var count: Int { Int(lua_gettop(L)) }

    /// The argument at a 1-based `position`, `.nil` past the end.
    public subscript(position: Int) -> LuaValue {
        get throws(LuaError) { try state.value(at: Int32(position), in: L) }
    }

    /// The string at `position`, or an error naming the argument, as
    /// `luaL_checkstring` words it.
    public func string(_ position: Int, function: String) throws(LuaError) -> String {
        guard lua_type(L, Int32(position)) == LUA_TSTRING else {
            throw LuaError(.runtime, "bad argument #\(position) to '\(function)' (string expected, got \(typeName(position)))")
        }
        return LuaState.string(at: Int32(position), in: L)
    }

    public func typeName(_ position: Int) -> String {
        String(cString: lua_typename(L, lua_type(L, Int32(position))))
    }
}

/// The Swift side of a Lua closure: a body that may throw. A thrown error is
/// turned into a Lua error, raised by C after this Swift frame has returned.
public typealias LuaSwiftFunction = (LuaArguments) throws -> [LuaValue]

private final class ClosureBox {
    unowned let state: LuaState
    let body: LuaSwiftFunction
    init(state: LuaState, body: @escaping LuaSwiftFunction) {
        self.state = state
        self.body = body
    }
}

private func callClosure(_ L: OpaquePointer?, _ box: UnsafeMutableRawPointer?) -> Int32 {
    guard let L, let box else { return 0 }
    let closure = Unmanaged<ClosureBox>.fromOpaque(box).takeUnretainedValue()
    do {
        let results = try closure.body(LuaArguments(state: closure.state, L: L))
        for result in results { try closure.state.push(result, onto: L) }
        return Int32(results.count)
    } catch {
        // Position the message at the Lua caller, as luaL_error does.
        luaL_where(L, 1)
        let message = (error as? LuaError)?.message ?? String(describing: error)
        LuaState.push(string: message, onto: L)
        lua_concat(L, 2)
        return -1
    }
}

private func releaseClosure(_ box: UnsafeMutableRawPointer?) {
    guard let box else { return }
    Unmanaged<ClosureBox>.fromOpaque(box).release()
}

extension LuaState {
    /// A Lua function whose body is Swift.
    public func function(_ body: @escaping LuaSwiftFunction) -> LuaFunction {
        let box = Unmanaged.passRetained(ClosureBox(state: self, body: body)).toOpaque()
        flowlua_pushswiftclosure(L, box, callClosure, releaseClosure)
        return LuaFunction(state: self, ref: luaL_ref(L, flowlua_registryindex()))
    }

    /// Sets global `name` to a Swift function.
    public func register(_ name: String, _ body: @escaping LuaSwiftFunction) throws(LuaError) {
        try setGlobal(name, .function(function(body)))
    }

    /// Makes `require(name)` load a module written in C: `open` is its
    /// `luaopen_` function, kept in `package.preload`.
    public func preload(_ name: String, _ open: @escaping @convention(c) (OpaquePointer?) -> Int32) {
        luaL_getsubtable(L, flowlua_registryindex(), "_PRELOAD")
        lua_pushcclosure(L, open, 0)
        lua_setfield(L, -2, name)
        flowlua_pop(L, 1)
    }
}
