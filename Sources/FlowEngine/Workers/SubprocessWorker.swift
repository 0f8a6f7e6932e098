import FlowModel
import Foundation

/// Runs a container step's commands on the host, each through `/bin/sh -c`
/// in the run folder, in a session of its own: a stop (a timeout, Ctrl-C)
/// ends the whole process tree, SIGTERM then SIGKILL, and nothing a command
/// started outlives the step.
public struct SubprocessWorker: Sendable {
    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20

    public init() {}

    nonisolated(nonsending) public func run(_ step: ContainerStep, context: StepContext) async -> ExecResult {
        var commands: [String] = []
        for (i, command) in step.commands.enumerated() {
            do { commands.append(try context.variables.substitute(command)) } catch {
                return ExecResult(exitCode: nil, error: "commands[\(i + 1)]: \(error)")
            }
        }
        let logs: StepLogs
        do { logs = try StepLogs(context.logs) } catch {
            return ExecResult(exitCode: nil, error: "cannot open the step's log files: \(error)")
        }
        defer { logs.close() }
        let environment = ProcessSpec.inherited(overriding: context.environment)

        var failure: (code: Int32?, message: String, index: Int)?
        for (i, command) in commands.enumerated() {
            if context.stop.isStopped {
                failure = (nil, "stopped before command \(i + 1)", i)
                break
            }
            var spec = ProcessSpec.shell(command, environment: environment, workingDirectory: context.folder.path)
            spec.standardOutput = logs.stdout
            spec.standardError = logs.stderr
            let child: ChildProcess
            do { child = try ChildProcess.spawn(spec, monitor: context.monitor) } catch {
                failure = (nil, "command \(i + 1) could not start: \(error)", i)
                break
            }
            let grace = context.killGrace
            context.stop.onStop { child.terminate(grace: grace) }
            let termination = await child.termination()
            context.stop.clear()
            await child.sweep(grace: grace)
            if termination.succeeded && !context.stop.isStopped { continue }
            failure = (termination.code, "command \(i + 1) \(termination): \(command)", i)
            break
        }
        return ExecResult(exitCode: failure.map { $0.code } ?? 0,
                          stdout: logs.read(.stdout, keep: keep), stderr: logs.read(.stderr, keep: keep),
                          error: failure?.message, failedCommand: failure?.index)
    }
}

/// A step's two log files, open for appending (and reading back), and where
/// this attempt's output starts in each.
struct StepLogs {
    enum Stream { case stdout, stderr }

    let stdout: Int32
    let stderr: Int32
    private let start: (stdout: off_t, stderr: off_t)

    init(_ paths: StepLogPaths) throws(POSIXError) {
        stdout = try Self.open(paths.stdout)
        do { stderr = try Self.open(paths.stderr) } catch {
            Glibc.close(stdout)
            throw error
        }
        start = (lseek(stdout, 0, SEEK_END), lseek(stderr, 0, SEEK_END))
    }

    private static func open(_ path: String) throws(POSIXError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return fd
    }

    /// What this attempt wrote to a stream, at most its last `keep` bytes.
    func read(_ stream: Stream, keep: Int) -> String {
        let fd = stream == .stdout ? stdout : stderr
        let from = stream == .stdout ? start.stdout : start.stderr
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > from else { return "" }
        let offset = max(from, info.st_size - off_t(keep))
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size - offset))
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
    }

    func close() {
        Glibc.close(stdout)
        Glibc.close(stderr)
    }
}
