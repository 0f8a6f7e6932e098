import FlowModel
import Foundation

/// Runs a notebook step with papermill on the host, in the run folder: the
/// notebook's `parameters` cell gets the step's `params` after `${}`
/// substitution (a param that is exactly one `${name}` keeps that value's
/// type, so numbers stay numbers), and the executed notebook is kept as the
/// step's output. A failing cell fails the step with that cell's error; its
/// traceback is in the step's stderr.
public struct NotebookWorker: Sendable {
    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20

    public init() {}

    nonisolated(nonsending) public func run(_ step: NotebookStep, context: StepContext) async -> ExecResult {
        guard let papermill = Executable.find("papermill") else {
            return ExecResult(exitCode: nil, error: "papermill is not installed (pip install papermill ipykernel)")
        }
        let call: Papermill
        do { call = try Papermill(step, variables: context.variables) } catch {
            return ExecResult(exitCode: nil, error: error.description)
        }
        let logs: StepOutput
        do { logs = try StepOutput(context.logs, monitor: context.monitor) } catch {
            return ExecResult(exitCode: nil, error: "cannot make the step's output pipes: \(error.reason)")
        }
        call.makeOutputFolder(in: context.folder.path)
        var spec = ProcessSpec(executable: papermill, arguments: call.arguments(in: context.folder.path),
                               environment: ProcessSpec.inherited(overriding: context.environment),
                               workingDirectory: context.folder.path)
        spec.standardOutput = logs.stdout.writeEnd
        spec.standardError = logs.stderr.writeEnd
        // The kernel runs in a session of its own; it ends itself once
        // papermill, its parent, is gone (ipykernel's parent poller).
        let termination: Termination
        do { termination = try await ChildProcess.run(spec, for: context) } catch {
            _ = logs.finish()
            return ExecResult(exitCode: nil, error: "papermill could not start: \(error)")
        }
        _ = logs.finish()
        return Papermill.result(termination, stdout: logs.read(.stdout, keep: keep), stderr: logs.read(.stderr, keep: keep))
    }
}
