import FlowModel
import Foundation

/// Runs a notebook step with papermill inside a Docker image made for it
/// (flowserv's nbdocker worker): the worker's base image (`image`, by default
/// `python:3-slim`) plus papermill, ipykernel and the step's `requirements`,
/// built once per machine and reused while base and requirements are
/// unchanged. The container is set up as a docker worker's: the run folder
/// mounted at its own path as the working directory, the invoking user, no
/// network, the step's environment and limits.
public struct NotebookDockerWorker: Sendable {
    /// The base image when the worker names none.
    public static let defaultBase = "python:3-slim"

    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20

    public init() {}

    nonisolated(nonsending) public func run(_ step: NotebookStep, worker: WorkerSpec, context: StepContext) async -> ExecResult {
        let call: Papermill, client: String
        do {
            call = try Papermill(step, variables: context.variables)
            client = try Docker.client()
        } catch {
            return ExecResult(exitCode: nil, error: error.description)
        }
        let logs: StepOutput
        do { logs = try StepOutput(context.logs, monitor: context.monitor) } catch {
            return ExecResult(exitCode: nil, error: "cannot make the step's output pipes: \(error.reason)")
        }
        let base: String
        do { base = try worker.substituted(with: context.variables).image ?? Self.defaultBase } catch {
            _ = logs.finish()
            return ExecResult(exitCode: nil, error: error.description)
        }
        let image: String
        do {
            image = try await NotebookImage(base: base, requirements: step.requirements)
                .prepare(client: client, context: context, logs: logs)
        } catch {
            _ = logs.finish()
            return ExecResult(exitCode: nil, stdout: logs.read(.stdout, keep: keep), stderr: logs.read(.stderr, keep: keep),
                              error: error.description)
        }
        if context.stop.isStopped {
            _ = logs.finish()
            return ExecResult(exitCode: nil, error: "stopped before papermill started")
        }
        call.makeOutputFolder(in: context.folder.path)
        // Jupyter keeps its runtime files under $HOME, which the invoking
        // user may not have in the image.
        var options = Docker.options(context, network: await Docker.isolatedNetwork(client: client, monitor: context.monitor),
                                     info: step.info)
        if context.environment["HOME"] == nil { options += ["--env", "HOME=/tmp"] }
        let termination: Termination
        do {
            termination = try await Docker.run(options + [image, "papermill"] + call.arguments(in: context.folder.path),
                                               name: Docker.containerName(context, command: 0), client: client,
                                               context: context, logs: logs)
        } catch {
            _ = logs.finish()
            return ExecResult(exitCode: nil, error: "papermill could not start: \(error)")
        }
        _ = logs.finish()
        return Papermill.result(termination, stdout: logs.read(.stdout, keep: keep), stderr: logs.read(.stderr, keep: keep))
    }
}
