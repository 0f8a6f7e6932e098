/// What running a step produced. A non-zero exit is a result, not an error.
public struct ExecResult: Sendable, Hashable {
    /// The exit code of the last command run; nil when no process ran.
    public var exitCode: Int32?
    public var stdout: String
    public var stderr: String
    /// Why the step failed, in words, when it did.
    public var error: String?
    /// Which command (0-based) failed, for container steps.
    public var failedCommand: Int?

    public init(exitCode: Int32? = 0, stdout: String = "", stderr: String = "",
                error: String? = nil, failedCommand: Int? = nil) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.error = error
        self.failedCommand = failedCommand
    }

    public var succeeded: Bool { error == nil && (exitCode ?? 0) == 0 }
}
