import FlowModel
import Foundation

/// Runs a container step's commands in its image, one `docker run` per
/// command, the first failing one failing the step (flowserv's Docker worker,
/// done better).
///
/// The run folder is mounted at its own path and is the working directory,
/// so paths and `${run_dir}` mean the same inside and out; files the
/// container writes belong to the invoking user (`--user`); the environment
/// is the worker's and the step's (`--env`), not flowlua's; there is no
/// network unless the step asks (`network = true`); `cpus` and `memory`
/// become container limits. A stop (a timeout, a cancel) stops and removes
/// the container.
public struct DockerWorker: Sendable {
    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20

    public init() {}

    nonisolated(nonsending) public func run(_ step: ContainerStep, worker: WorkerSpec, context: StepContext) async -> ExecResult {
        let found: String?
        do { found = try context.image(of: step, on: worker) } catch {
            return ExecResult(exitCode: nil, error: error.description)
        }
        guard let image = found else {
            return ExecResult(exitCode: nil, error: "no image: set image on the step or on worker '\(worker.name)'")
        }
        let client: String
        do { client = try Docker.client() } catch { return ExecResult(exitCode: nil, error: error.description) }
        // Both lookups are made once per process; the first time, side by side.
        async let isolated = Docker.isolatedNetwork(client: client, monitor: .shared)
        do { _ = try await Docker.imageID(image, client: client, monitor: context.monitor) } catch {
            return ExecResult(exitCode: nil, error: error.description)
        }
        let network = step.network ? "host" : await isolated
        let commands: [String]
        do { commands = try context.commands(of: step) } catch { return ExecResult(exitCode: nil, error: error.description) }
        let logs: StepOutput
        do { logs = try StepOutput(context.logs, monitor: context.monitor) } catch {
            return ExecResult(exitCode: nil, error: "cannot make the step's output pipes: \(error.reason)")
        }
        let options = Docker.options(context, network: network, info: step.info)
        var failure: (code: Int32?, message: String, index: Int)?
        for (i, command) in commands.enumerated() {
            if context.stop.isStopped {
                failure = (nil, "stopped before command \(i + 1)", i)
                break
            }
            let termination: Termination
            do {
                termination = try await Docker.run(options + [image, "/bin/sh", "-c", command],
                                                   name: Docker.containerName(context, command: i), client: client,
                                                   context: context, logs: logs)
            } catch {
                failure = (nil, "command \(i + 1) could not start: \(error)", i)
                break
            }
            if termination.succeeded && !context.stop.isStopped { continue }
            let message = switch termination {
            case .exited(125): "command \(i + 1): docker could not run the container (see the step's stderr)"
            default: "command \(i + 1) \(termination): \(command)"
            }
            failure = (termination.code, message, i)
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
