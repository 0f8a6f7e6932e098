internal import CLua
internal import CLuaShims
import Foundation

/// A value read in place on its state's stack, without copying it first.
///
/// `LuaValue` snapshots a table, recursively, into Swift dictionaries; a
/// reader that only looks at some fields, once, does not need that. A stack
/// value is valid only inside the closure that received it, which owns that
/// stretch of the stack: keep what it returns, never the value itself.
/// Readers may nest `element`, `field` and `forEach` some ten levels deep
/// (the stack space `call(_:_:reading:)` reserves).
public struct LuaStackValue {
    let state: LuaState
    let L: OpaquePointer
    let index: Int32

    /// The Lua type name, as `type()` returns it.
    public var typeName: String { String(cString: lua_typename(L, lua_type(L, index))) }

    public var isNil: Bool { lua_type(L, index) <= LUA_TNIL }
    /// The length of a table or string without metamethods (`rawlen`); 0 otherwise.
    public var rawLength: Int { Int(lua_rawlen(L, index)) }
    public var isTable: Bool { lua_type(L, index) == LUA_TTABLE }
    public var isFunction: Bool { lua_type(L, index) == LUA_TFUNCTION }

    /// The string, if the value is one (a number is not converted).
    public var string: String? {
        lua_type(L, index) == LUA_TSTRING ? LuaState.string(at: index, in: L) : nil
    }

    /// Whether the value is a string equal to `text`, compared in place.
    public func isString(_ text: String) -> Bool {
        guard lua_type(L, index) == LUA_TSTRING else { return false }
        var length = 0
        guard let bytes = flowlua_tolstring(L, index, &length) else { return false }
        var text = text
        return text.withUTF8 { $0.count == length && ($0.isEmpty || memcmp($0.baseAddress!, bytes, length) == 0) }
    }

    public var boolean: Bool? {
        lua_type(L, index) == LUA_TBOOLEAN ? lua_toboolean(L, index) != 0 : nil
    }

    /// The number as Lua 5.4 keeps it: `.integer` or `.number`, else nil.
    public var number: LuaValue? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return lua_isinteger(L, index) != 0
            ? .integer(Int(flowlua_tointegerx(L, index, nil))) : .number(flowlua_tonumberx(L, index, nil))
    }

    /// The function, held from now on through a registry reference.
    public var function: LuaFunction? {
        guard lua_type(L, index) == LUA_TFUNCTION else { return nil }
        lua_pushvalue(L, index)
        return LuaFunction(state: state, ref: luaL_ref(L, flowlua_registryindex()))
    }

    /// A snapshot of the value, as `LuaState` copies values out.
    public func copy() throws(LuaError) -> LuaValue { try state.value(at: index, in: L) }

    /// The number of elements at keys 1, 2, ... before the first nil.
    public var sequenceCount: Int {
        guard lua_type(L, index) == LUA_TTABLE else { return 0 }
        var n: lua_Integer = 0
        while lua_rawgeti(L, index, n + 1) != LUA_TNIL {
            flowlua_pop(L, 1)
            n += 1
        }
        flowlua_pop(L, 1)
        return Int(n)
    }

    /// Reads element `i` (raw, 1-based) of a table; nil for other values.
    public func element<R, E: Error>(_ i: Int, _ body: (LuaStackValue) throws(E) -> R) throws(E) -> R {
        if lua_type(L, index) == LUA_TTABLE { lua_rawgeti(L, index, lua_Integer(i)) } else { lua_pushnil(L) }
        defer { flowlua_pop(L, 1) }
        return try body(LuaStackValue(state: state, L: L, index: lua_gettop(L)))
    }

    /// Reads field `name` (raw) of a table; nil for other values.
    public func field<R, E: Error>(_ name: String, _ body: (LuaStackValue) throws(E) -> R) throws(E) -> R {
        if lua_type(L, index) == LUA_TTABLE {
            LuaState.push(string: name, onto: L)
            lua_rawget(L, index)
        } else {
            lua_pushnil(L)
        }
        defer { flowlua_pop(L, 1) }
        return try body(LuaStackValue(state: state, L: L, index: lua_gettop(L)))
    }

    /// Calls `body` with each key and value of a table, in `next` order;
    /// nothing for other values. The table must not change meanwhile.
    public func forEach<E: Error>(_ body: (_ key: LuaStackValue, _ value: LuaStackValue) throws(E) -> Void) throws(E) {
        guard lua_type(L, index) == LUA_TTABLE else { return }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            try body(LuaStackValue(state: state, L: L, index: top + 1), LuaStackValue(state: state, L: L, index: top + 2))
            flowlua_pop(L, 1)
        }
    }

    /// The key as `LuaKey` describes it, for messages; nil for other types.
    public var key: LuaKey? {
        if let string { return .string(string) }
        if let boolean { return .boolean(boolean) }
        switch number {
        case .integer(let i)?: return .integer(i)
        case .number(let d)?: return .number(d)
        default: return nil
        }
    }
}

extension LuaState {
    /// Calls `function` in protected mode and lets `body` read its results
    /// in place; they are dropped when it returns.
    public func call<R>(_ function: LuaFunction, _ arguments: [LuaValue] = [],
                        reading body: ([LuaStackValue]) throws -> R) throws -> R {
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        function.push(onto: L)
        for argument in arguments { try push(argument, onto: L) }
        let status = flowlua_pcall(L, Int32(arguments.count), LUA_MULTRET)
        guard status == LUA_OK else { throw popError(status: status) }
        let top = lua_gettop(L)
        guard lua_checkstack(L, 32) != 0 else { throw LuaError(.memory, "Lua stack overflow") }
        return try body((base + 1 ..< top + 1).map { LuaStackValue(state: self, L: L, index: $0) })
    }
}
