internal import CLua

// Copying values between Swift and a Lua stack. These take the `lua_State`
// explicitly because a Swift closure may be called on a coroutine's stack.
extension LuaState {
    func push(_ value: LuaValue, onto L: OpaquePointer) throws(LuaError) {
        guard lua_checkstack(L, 4) != 0 else { throw LuaError(.memory, "Lua stack overflow") }
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): Self.push(string: s, onto: L)
        case .function(let f): f.push(onto: L)
        case .opaque(let name): throw LuaError(.value, "cannot push a \(name) value")
        case .table(let table):
            lua_createtable(L, Int32(table.array.count), Int32(table.hash.count))
            for (index, element) in table.array.enumerated() {
                try push(element, onto: L)
                lua_rawseti(L, -2, lua_Integer(index + 1))
            }
            for (key, element) in table.hash {
                try push(key.value, onto: L)
                try push(element, onto: L)
                lua_rawset(L, -3)
            }
        }
    }

    static func push(string: String, onto L: OpaquePointer) {
        var string = string
        string.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    /// How deep tables may nest in a copied value: far deeper than any
    /// configuration, shallow enough that the copy cannot exhaust the stack.
    public static let maximumNesting = 200

    /// Copies the value at `index`; tables are copied recursively. A table
    /// that contains itself, or one nested deeper than `maximumNesting`, is
    /// an error naming where inside the value it is (`[1].x`).
    func value(at index: Int32, in L: OpaquePointer) throws(LuaError) -> LuaValue {
        var visiting = Set<UnsafeRawPointer>()
        var keys: [LuaKey] = []
        do {
            return try value(at: lua_absindex(L, index), in: L, visiting: &visiting, keys: &keys)
        } catch {
            guard !keys.isEmpty else { throw error }
            throw LuaError(error.kind, "\(error.message) (at \(Self.describe(keys)))")
        }
    }

    /// `keys` as Lua indexing, the middle left out when it is long.
    static func describe(_ keys: [LuaKey]) -> String {
        func part(_ key: LuaKey) -> String {
            switch key {
            case .string(let s): s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && !s.isEmpty ? ".\(s)" : "[\"\(s)\"]"
            case .integer(let i): "[\(i)]"
            case .number(let d): "[\(d)]"
            case .boolean(let b): "[\(b)]"
            }
        }
        let parts = keys.map(part)
        let text = parts.count <= 8 ? parts.joined()
            : parts.prefix(4).joined() + "…(\(parts.count - 6) more)…" + parts.suffix(2).joined()
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }

    private func value(at index: Int32, in L: OpaquePointer, visiting: inout Set<UnsafeRawPointer>,
                       keys: inout [LuaKey]) throws(LuaError) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            var isInteger: Int32 = 0
            let i = flowlua_tointegerx(L, index, &isInteger)
            return lua_isinteger(L, index) != 0 ? .integer(Int(i)) : .number(flowlua_tonumberx(L, index, nil))
        case LUA_TSTRING: return .string(Self.string(at: index, in: L))
        case LUA_TFUNCTION:
            lua_pushvalue(L, index)
            return .function(LuaFunction(state: self, ref: luaL_ref(L, flowlua_registryindex())))
        case LUA_TTABLE:
            guard let pointer = lua_topointer(L, index) else { return .table(LuaTable()) }
            guard visiting.insert(pointer).inserted else {
                throw LuaError(.value, "cannot copy a table that contains itself")
            }
            guard visiting.count <= Self.maximumNesting else {
                throw LuaError(.value, "tables nested more than \(Self.maximumNesting) deep")
            }
            defer { visiting.remove(pointer) }
            guard lua_checkstack(L, 4) != 0 else { throw LuaError(.memory, "Lua stack overflow") }
            var entries: [LuaKey: LuaValue] = [:]
            lua_pushnil(L)
            while lua_next(L, index) != 0 {
                let key: LuaKey
                switch try value(at: lua_gettop(L) - 1, in: L, visiting: &visiting, keys: &keys) {
                case .string(let s): key = .string(s)
                case .integer(let i): key = .integer(i)
                case .number(let d): key = .number(d)
                case .boolean(let b): key = .boolean(b)
                case let other:
                    flowlua_pop(L, 2)
                    throw LuaError(.value, "cannot copy a table with a \(other.typeName) key")
                }
                let element: LuaValue
                keys.append(key)
                do {
                    element = try value(at: lua_gettop(L), in: L, visiting: &visiting, keys: &keys)
                } catch {
                    flowlua_pop(L, 2)
                    throw error
                }
                keys.removeLast()
                entries[key] = element
                flowlua_pop(L, 1)
            }
            var array: [LuaValue] = []
            while let next = entries.removeValue(forKey: .integer(array.count + 1)) { array.append(next) }
            return .table(LuaTable(array: array, hash: entries))
        default:
            return .opaque(typeName: String(cString: lua_typename(L, lua_type(L, index))))
        }
    }

    static func string(at index: Int32, in L: OpaquePointer) -> String {
        var length = 0
        guard let bytes = flowlua_tolstring(L, index, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
}

extension LuaKey {
    var value: LuaValue {
        switch self {
        case .string(let s): .string(s)
        case .integer(let i): .integer(i)
        case .number(let d): .number(d)
        case .boolean(let b): .boolean(b)
        }
    }
}
