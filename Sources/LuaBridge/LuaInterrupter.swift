internal import CLuaShims

/// Interrupts Lua code running in a `LuaState`, from any thread.
///
/// The only part of a state that may be touched off its owner: a request
/// makes the running code raise "interrupted" at its next instruction, and
/// keeps doing so until the owner clears it, so a `pcall` in the script
/// cannot swallow it. Code blocked inside a C call (a read, say) stops when
/// that call returns.
public final class LuaInterrupter: @unchecked Sendable {
    // The guard is a C struct of atomics, made for use from any thread.
    let guardPointer: OpaquePointer

    init(_ guardPointer: OpaquePointer) { self.guardPointer = guardPointer }

    deinit { flowlua_guard_free(guardPointer) }

    /// Asks the running code to stop.
    public func interrupt() { flowlua_interrupt(guardPointer, 1) }

    /// Withdraws the request; the owner does this before each new call.
    public func clear() { flowlua_interrupt_clear(guardPointer) }

    /// Whether an interrupt has been asked for and not cleared.
    public var isRequested: Bool { flowlua_interrupt_reason(guardPointer) != 0 }
}
