/// An error raised by Lua code, or by loading a chunk.
///
/// `message` carries the chunk name and line where Lua knows them
/// (`workflow.lua:12: attempt to call a nil value`); `traceback` is the stack
/// at the point of the error, when the error came from a protected call.
public struct LuaError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The chunk does not compile.
        case syntax
        /// An error raised while running.
        case runtime
        case memory
        /// The chunk's file could not be read.
        case file
        /// A value could not be copied out of Lua (a cyclic table, say).
        case value
    }

    public var kind: Kind
    public var message: String
    public var traceback: String?

    public init(_ kind: Kind, _ message: String, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.traceback = traceback
    }

    public var description: String { message }

    /// The message followed by the traceback, as `lua` prints an error.
    public var fullDescription: String {
        traceback.map { message + "\n" + $0 } ?? message
    }
}
