import FlowModel
import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs a container step's commands on the host, each through `/bin/sh -c`
/// in the run folder, in its own session so that its whole process tree can
/// be signalled. Output goes straight to the step's log files.
public struct SubprocessWorker: Sendable {
    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20

    public init() {}

    public func run(_ step: ContainerStep, context: StepContext) async -> ExecResult {
        var commands: [String] = []
        for (i, command) in step.commands.enumerated() {
            do { commands.append(try context.variables.substitute(command)) } catch {
                return ExecResult(exitCode: nil, error: "commands[\(i + 1)]: \(error)")
            }
        }
        let out: FileDescriptor, err: FileDescriptor
        do {
            out = try FileDescriptor.open(FilePath(context.logs.stdout.path), .writeOnly,
                                          options: [.create, .append], permissions: [.ownerReadWrite, .groupRead, .otherRead])
            err = try FileDescriptor.open(FilePath(context.logs.stderr.path), .writeOnly,
                                          options: [.create, .append], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            return ExecResult(exitCode: nil, error: "cannot open the step's log files: \(error)")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        var environment: [Environment.Key: String?] = [:]
        for (name, value) in context.environment { environment[Environment.Key(stringLiteral: name)] = value }
        var options = PlatformOptions()
        options.createSession = true

        var failure: (code: Int32?, message: String, index: Int)?
        for (i, command) in commands.enumerated() {
            do {
                let result = try await Subprocess.run(
                    .path("/bin/sh"), arguments: ["-c", command],
                    environment: .inherit.updating(environment),
                    workingDirectory: FilePath(context.folder.path),
                    platformOptions: options,
                    output: .fileDescriptor(out, closeAfterSpawningProcess: false),
                    error: .fileDescriptor(err, closeAfterSpawningProcess: false))
                switch result.terminationStatus {
                case .exited(0): continue
                case .exited(let code):
                    failure = (code, "command \(i + 1) exited with code \(code): \(command)", i)
                case .signaled(let signal):
                    failure = (128 + signal, "command \(i + 1) was killed by signal \(signal): \(command)", i)
                }
            } catch {
                failure = (nil, "command \(i + 1) could not start: \(error)", i)
            }
            break
        }
        return ExecResult(exitCode: failure.map { $0.code } ?? 0,
                          stdout: Self.tail(of: context.logs.stdout, keep),
                          stderr: Self.tail(of: context.logs.stderr, keep),
                          error: failure?.message, failedCommand: failure?.index)
    }

    /// The last `limit` bytes of a file, as text.
    static func tail(of url: URL, _ limit: Int) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(limit) ? size - UInt64(limit) : 0)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}
