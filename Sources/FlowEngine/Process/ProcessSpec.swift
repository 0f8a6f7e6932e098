import Foundation

/// What to start: an executable, its arguments, environment, working folder
/// and the file descriptors that become its standard streams.
public struct ProcessSpec: Sendable {
    /// An absolute path; no `PATH` search.
    public var executable: String
    /// The arguments after `argv[0]` (which is `executable`).
    public var arguments: [String]
    /// `NAME=value` entries: the whole environment of the child.
    public var environment: [String]
    /// nil: flowlua's own working directory.
    public var workingDirectory: String?
    /// Descriptors for fds 0, 1, 2; nil means `/dev/null`. The caller keeps
    /// ownership: they are duplicated into the child, never closed here.
    public var standardInput: Int32?
    public var standardOutput: Int32?
    public var standardError: Int32?
    /// Whether what it starts is tracked and stopped with it (see
    /// `ProcessTree`): false only for a process meant to outlive flowlua.
    public var tracked = true

    public init(executable: String, arguments: [String] = [], environment: [String] = ProcessSpec.inherited(),
                workingDirectory: String? = nil, standardInput: Int32? = nil,
                standardOutput: Int32? = nil, standardError: Int32? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    /// `/bin/sh -c command`, as every container step command runs.
    public static func shell(_ command: String, environment: [String] = inherited(),
                             workingDirectory: String? = nil) -> ProcessSpec {
        ProcessSpec(executable: "/bin/sh", arguments: ["-c", command], environment: environment,
                    workingDirectory: workingDirectory)
    }

    /// flowlua's environment with `overrides` applied, as `NAME=value` entries.
    public static func inherited(overriding overrides: [String: String] = [:]) -> [String] {
        guard !overrides.isEmpty else { return baseEntries }
        var environment = base
        environment.merge(overrides) { $1 }
        return environment.map { "\($0.key)=\($0.value)" }
    }

    /// The environment flowlua started with, read once.
    private static let base = ProcessInfo.processInfo.environment
    private static let baseEntries = base.map { "\($0.key)=\($0.value)" }
}

/// A process that could not be started.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public var executable: String
    public var workingDirectory: String?
    /// The errno value.
    public var code: Int32

    public var description: String {
        let reason = Descriptor.reason(code)
        if code == ENOENT, let workingDirectory, !FileManager.default.fileExists(atPath: workingDirectory) {
            return "cannot start \(executable): working folder \(workingDirectory) does not exist"
        }
        return "cannot start \(executable): \(reason)"
    }
}
