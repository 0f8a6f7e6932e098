internal import CLua
internal import CLuaShims
import Foundation

/// The single owner of one `lua_State`.
///
/// Not `Sendable`: a Lua state is single-threaded, so exactly one owner (an
/// actor, a thread) holds a `LuaState` and makes every call on it. All Lua
/// code runs through protected calls with a traceback handler; no Lua error
/// ever unwinds through a Swift frame.
public final class LuaState {
    let L: OpaquePointer
    /// Stops running code from other threads; shares the state's guard.
    public let interrupter: LuaInterrupter
    /// Names of file chunks too long for Lua's messages, which shorten them
    /// to `...` and their last characters; errors get them back whole.
    private var longChunkNames: Set<String> = []

    /// The most memory the state's code may hold, in bytes (nil: no limit).
    public let memoryLimit: UInt64?

    /// Creates a state with Lua's standard libraries opened. Code it runs may
    /// hold at most `memoryLimit` bytes: past that an allocation fails as a
    /// Lua memory error ("not enough memory"), which a script can catch with
    /// `pcall`, rather than the machine swapping.
    public init(memoryLimit: UInt64? = nil) {
        guard let L = flowlua_newstate(memoryLimit.map { Int(clamping: $0) } ?? 0) else {
            // Only out of memory at start-up, before any user input is read.
            fatalError("flowlua: cannot allocate a Lua state")
        }
        self.L = L
        self.memoryLimit = memoryLimit
        interrupter = LuaInterrupter(flowlua_guard(L))
    }

    /// Bytes the state holds now.
    public var memoryInUse: UInt64 { UInt64(flowlua_memory_used(interrupter.guardPointer)) }

    deinit { lua_close(L) }

    // MARK: Loading and running

    /// Compiles `source` as a chunk named `chunkName` (`@path` names a file,
    /// so messages read `path:line:`).
    public func load(_ source: String, chunkName: String) throws(LuaError) -> LuaFunction {
        var source = source
        let status = source.withUTF8 { compile(UnsafeRawBufferPointer($0), chunkName: chunkName) }
        return try loaded(status, chunkName: chunkName)
    }

    /// Compiles the file at `path`; errors name it as Lua would (`path:line:`).
    /// Its bytes are Lua's as they are: a Latin-1 comment is no error.
    public func load(contentsOf path: String) throws(LuaError) -> LuaFunction {
        let source: Data
        do {
            source = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LuaError(.file, "cannot open \(path): \(Self.describe(error))")
        }
        var body = source[...]
        if body.first == UInt8(ascii: "#") {  // a shebang line, as lua.c skips it; keep the line count
            body = body.drop { $0 != UInt8(ascii: "\n") }
        }
        let status = body.withUnsafeBytes { compile($0, chunkName: "@" + path) }
        return try loaded(status, chunkName: "@" + path)
    }

    /// Compiles `bytes`, leaving the chunk or the error on the stack.
    private func compile(_ bytes: UnsafeRawBufferPointer, chunkName: String) -> Int32 {
        flowlua_loadbuffer(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, chunkName)
    }

    private func loaded(_ status: Int32, chunkName: String) throws(LuaError) -> LuaFunction {
        if chunkName.hasPrefix("@"), chunkName.count > Int(LUA_IDSIZE) - 1 {
            longChunkNames.insert(String(chunkName.dropFirst()))
        }
        guard status == LUA_OK else { throw popError(status: status) }
        return LuaFunction(state: self, ref: luaL_ref(L, flowlua_registryindex()))
    }

    /// Compiles and runs `source`, returning its results.
    @discardableResult
    public func run(_ source: String, chunkName: String = "=(string)") throws(LuaError) -> [LuaValue] {
        try call(load(source, chunkName: chunkName))
    }

    /// Calls `function` with `arguments` in protected mode.
    @discardableResult
    public func call(_ function: LuaFunction, _ arguments: [LuaValue] = []) throws(LuaError) -> [LuaValue] {
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }  // also when an argument cannot be pushed
        function.push(onto: L)
        for argument in arguments { try push(argument, onto: L) }
        let status = flowlua_pcall(L, Int32(arguments.count), LUA_MULTRET)
        guard status == LUA_OK else { throw popError(status: status) }
        var results: [LuaValue] = []
        for index in base + 1 ..< lua_gettop(L) + 1 { results.append(try value(at: index, in: L)) }
        return results
    }

    /// Calls `function` in protected mode and drops its results without
    /// copying them (a script's chunk may return a table of any size).
    public func callIgnoringResults(_ function: LuaFunction, _ arguments: [LuaValue] = []) throws(LuaError) {
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }  // also when an argument cannot be pushed
        function.push(onto: L)
        for argument in arguments { try push(argument, onto: L) }
        let status = flowlua_pcall(L, Int32(arguments.count), 0)
        guard status == LUA_OK else { throw popError(status: status) }
    }

    // MARK: Globals and values

    /// The global `name`, read in protected mode: an `__index` on `_G` that
    /// raises is an error here, not an abort.
    public func global(_ name: String) throws(LuaError) -> LuaValue {
        let get = try load("return _ENV[...]", chunkName: "=(global)")
        return try call(get, [.string(name)]).first ?? .nil
    }

    /// Sets the global `name` in protected mode (`__newindex` may raise).
    public func setGlobal(_ name: String, _ value: LuaValue) throws(LuaError) {
        let set = try load("local name, value = ... _ENV[name] = value", chunkName: "=(global)")
        try call(set, [.string(name), value])
    }

    /// The number of values on the stack; balanced calls leave it unchanged.
    public var stackTop: Int { Int(lua_gettop(L)) }

    /// Runs a full garbage collection cycle.
    public func collectGarbage() { _ = flowlua_gc_collect(L) }

    // MARK: Internals shared with closures and functions

    /// Pops the error on top of the stack into a `LuaError`, splitting off
    /// the traceback the message handler appended.
    func popError(status: Int32) -> LuaError {
        var length = 0
        var text = flowlua_tolstring(L, -1, &length).map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
        } ?? "(error object is not a string)"
        for name in longChunkNames where text.contains("...") {
            // luaO_chunkid keeps "..." and the last LUA_IDSIZE - 4 characters.
            text = text.replacingOccurrences(of: "..." + name.suffix(Int(LUA_IDSIZE) - 4), with: name)
        }
        flowlua_pop(L, 1)
        let kind: LuaError.Kind = switch status {
        case LUA_ERRSYNTAX: .syntax
        case LUA_ERRMEM: .memory
        default: .runtime
        }
        if flowlua_memory_refused(interrupter.guardPointer) != 0, let memoryLimit, text.contains("not enough memory") {
            text += " (Lua code may hold at most \(Self.size(memoryLimit)); FLOWLUA_LUA_MEMORY sets it)"
        }
        if let range = text.range(of: "\nstack traceback:\n") {
            return LuaError(kind, String(text[..<range.lowerBound]),
                            traceback: String(text[range.lowerBound...].dropFirst()))
        }
        return LuaError(kind, text)
    }

    /// `512M`, `4G`: the limit as people write it.
    static func size(_ bytes: UInt64) -> String {
        for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] as [(String, UInt64)] where bytes >= 1 << shift {
            let whole = bytes >> shift
            return whole << shift == bytes ? "\(whole)\(unit)" : String(format: "%.1f", Double(bytes) / Double(1 << shift)) + unit
        }
        return "\(bytes) bytes"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if let error = error as? CocoaError, error.code == .fileReadNoSuchFile {
            return "No such file or directory"
        }
        return (error as NSError).localizedDescription
    }
}

extension CocoaError {
    fileprivate var underlying: (any Error)? { userInfo[NSUnderlyingErrorKey] as? any Error }
}
