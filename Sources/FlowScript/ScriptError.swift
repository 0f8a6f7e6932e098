import LuaBridge

/// A workflow script that cannot be loaded: it does not compile, raises an
/// error, declares no workflow, or declares one with a wrong field.
public struct ScriptError: Error, Sendable, CustomStringConvertible {
    /// `file:line: message` or `file:line: table.path: message`.
    public var message: String
    /// Where the Lua error was raised, when it came from running Lua.
    public var traceback: String?

    public init(_ message: String, traceback: String? = nil) {
        self.message = message
        self.traceback = traceback
    }

    init(_ error: LuaError) {
        self.init(error.message, traceback: error.traceback)
    }

    public var description: String { message }
}
