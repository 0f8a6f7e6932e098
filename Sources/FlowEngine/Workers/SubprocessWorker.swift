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
        let commands: [String]
        do { commands = try context.commands(of: step) } catch { return ExecResult(exitCode: nil, error: error.description) }
        let logs: StepOutput
        do { logs = try StepOutput(context.logs, monitor: context.monitor) } catch {
            return ExecResult(exitCode: nil, error: "cannot make the step's output pipes: \(error.reason)")
        }
        let environment = ProcessSpec.inherited(overriding: context.environment)

        var failure: (code: Int32?, message: String, index: Int)?
        for (i, command) in commands.enumerated() {
            if context.stop.isStopped {
                failure = (nil, "stopped before command \(i + 1)", i)
                break
            }
            var spec = ProcessSpec.shell(command, environment: environment, workingDirectory: context.folder.path)
            spec.standardOutput = logs.stdout.writeEnd
            spec.standardError = logs.stderr.writeEnd
            let termination: Termination
            do { termination = try await ChildProcess.run(spec, for: context) } catch {
                failure = (nil, "command \(i + 1) could not start: \(error)", i)
                break
            }
            if termination.succeeded && !context.stop.isStopped { continue }
            failure = (termination.code, "command \(i + 1) \(termination): \(command)", i)
            break
        }
        if let problem = logs.finish() {
            // The step's own error first: the log's is often its consequence.
            failure = failure.map { ($0.code, $0.message + " (and \(problem))", $0.index) } ?? (nil, problem, commands.count - 1)
        }
        return ExecResult(exitCode: failure.map { $0.code } ?? 0,
                          stdout: logs.read(.stdout, keep: keep), stderr: logs.read(.stderr, keep: keep),
                          error: failure?.message, failedCommand: failure?.index)
    }
}

/// The two output pipes of an attempt, into the step's logs (a retried step
/// appends to the logs of earlier attempts).
struct StepOutput {
    enum Stream { case stdout, stderr }

    let stdout: OutputPipe
    let stderr: OutputPipe

    init(_ paths: StepLogPaths, monitor: ProcessMonitor) throws(POSIXError) {
        stdout = try OutputPipe(into: paths.stdout, monitor: monitor)
        do { stderr = try OutputPipe(into: paths.stderr, monitor: monitor) } catch {
            stdout.finish()
            throw error
        }
    }

    /// Closes the pipes once what is in them has reached the logs; the
    /// errno of a failed log write, if any.
    /// Ends both pipes. Returns why a log could not be written, if one could not.
    func finish() -> String? {
        let out = stdout.finish(), err = stderr.finish()
        guard let (code, path) = err.map({ ($0, stderr.path) }) ?? out.map({ ($0, stdout.path) }) else { return nil }
        let reason = code == ENOSPC ? DiskSpace.noSpace(at: path) : String(cString: strerror(code))
        return "cannot write the step's log \(path): \(reason)"
    }

    /// Adds flowlua's own line to the attempt's stdout, between its
    /// processes (never while one runs: the write must not wait for the
    /// pipe to drain, so a full pipe drops the note).
    func note(_ text: String) {
        let fd = stdout.writeEnd
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        _ = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        _ = fcntl(fd, F_SETFL, flags)
    }

    /// What this attempt wrote to a stream, at most its last `keep` bytes.
    func read(_ stream: Stream, keep: Int) -> String {
        (stream == .stdout ? stdout : stderr).written(keep: keep)
    }

    static func size(of path: String) -> off_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_size : 0
    }
}
