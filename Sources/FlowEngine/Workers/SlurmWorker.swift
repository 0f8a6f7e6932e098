import FlowModel
import Foundation

/// Runs a container step as a Slurm batch job: its commands in order in a
/// batch script (the first failing one ends it), in the run folder, with
/// the step's environment, `cpus`, `memory` and `timeout` (`--time`, whole
/// minutes), and the worker's partition, account and options. With an
/// image (the step's or the worker's) each command runs in a container,
/// `docker run` inside the job.
///
/// The run folder must be on a file system the cluster's nodes share: the
/// job works there, its stdout and stderr go to the step's logs there, and
/// it leaves its exit status in `.logs/<step>.exit`. A stop cancels the job
/// (`scancel`), and the attempt ends when Slurm says it did.
public struct SlurmWorker: Sendable {
    /// How much of each log the result keeps (the tail).
    public var keep = 1 << 20
    public var engine: any RemoteEngine

    public init(engine: any RemoteEngine) {
        self.engine = engine
    }

    nonisolated(nonsending) public func run(_ step: ContainerStep, worker written: WorkerSpec, context: StepContext) async -> ExecResult {
        let worker: WorkerSpec, image: String?, commands: [String]
        do {
            worker = try written.substituted(with: context.variables)
            image = try context.image(of: step, on: written)
            commands = try context.commands(of: step)
        } catch {
            return ExecResult(exitCode: nil, error: error.description)
        }
        // The batch script exports them: each must be a shell variable name.
        if let bad = context.environment.keys.sorted().first(where: { !Self.isShellName($0) }) {
            return ExecResult(exitCode: nil, error: "env: '\(bad)' is not a shell variable name, which a batch job's environment needs")
        }
        if context.stop.isStopped { return ExecResult(exitCode: nil, error: "stopped before it was submitted") }
        let cluster = worker.cluster ?? ClusterOptions()
        let monitor = RemoteMonitor.shared(engine, interval: .milliseconds(Int(cluster.pollInterval * 1000)))
        let exitFile = Slurm.exitFile(context.logs)
        let start = (StepOutput.size(of: context.logs.stdout), StepOutput.size(of: context.logs.stderr))
        let id: String
        if let adopted = context.adopted {
            id = adopted
        } else {
            var container: (client: String, network: String, image: String)?
            if let image {
                do {
                    let client = try Docker.client()
                    _ = try await Docker.imageID(image, client: client, monitor: context.monitor)
                    let network = step.network ? "host" : await Docker.isolatedNetwork(client: client, monitor: context.monitor)
                    container = (client, network, image)
                } catch {
                    return ExecResult(exitCode: nil, error: "\(error)")
                }
            }
            unlink(exitFile)
            let script = Self.script(commands, context: context, exitFile: exitFile, info: step.info, container: container)
            let job = RemoteJob(name: "flowlua-\(context.runID)-\(context.stepName)", script: script,
                                workingDirectory: context.folder.path, stdout: context.logs.stdout,
                                stderr: context.logs.stderr, cpus: step.info.cpus.map { Int($0.rounded(.up)) },
                                memory: step.info.memory, timeLimit: step.info.timeout, after: context.after,
                                cluster: cluster)
            do { id = try await engine.submit(job) } catch {
                return ExecResult(exitCode: nil, error: error.description)
            }
        }
        context.submitted?(id)
        var handle = RemoteHandle(runID: context.runID, remoteID: id, folder: context.folder.path,
                                  outputFiles: context.resolved?.outputs ?? step.info.outputs)
        context.stop.onStop { monitor.stop(id) }
        handle.state = await monitor.wait(for: id)
        context.stop.clear()
        if case .unrunnable = handle.state { await engine.stop([id]) }  // it would wait in the queue for ever
        // A job followed again after a restart wrote its logs from the start.
        let fetched = await engine.fetch(handle, logs: context.logs, from: context.adopted == nil ? start : (0, 0), keep: keep)
        var result = Self.result(of: handle.state, job: id, exit: fetched.exit.map { ($0.command, $0.status) },
                                 commands: commands, info: step.info)
        result.stdout = fetched.stdout
        result.stderr = fetched.stderr
        return result
    }

    /// The step's result from the job's end state and its exit file.
    static func result(of end: RemoteState, job id: String, exit: (command: Int, status: Int32)?,
                       commands: [String], info: StepInfo) -> ExecResult {
        func failedCommand(_ exit: (command: Int, status: Int32)) -> ExecResult {
            let index = exit.command - 1
            let command = commands.indices.contains(index) ? commands[index] : ""
            return ExecResult(exitCode: exit.status, error: "command \(exit.command) exited with status \(exit.status): \(command)",
                              failedCommand: index)
        }
        switch end {
        case .completed:
            if let exit, exit.command > 0 { return failedCommand(exit) }
            return ExecResult(exitCode: 0)
        case .failed(let reason):
            if let exit, exit.command > 0 { return failedCommand(exit) }
            return ExecResult(exitCode: nil, error: "Slurm job \(id) failed" + (reason.isEmpty ? "" : " (\(reason))")
                + ": it did not get to run its commands (see the step's stderr)")
        case .timedOut:
            let limit = info.timeout.map { " of \(Slurm.minutes($0)) min" } ?? ""
            return ExecResult(exitCode: nil, error: "timed out: Slurm stopped job \(id) at its time limit\(limit) (TIMEOUT)")
        case .canceled(let reason) where reason.hasPrefix("Dependency"):
            return ExecResult(exitCode: nil, error: "not run: a step it waits for failed (Slurm canceled job \(id): \(reason))")
        case .canceled(let reason):
            return ExecResult(exitCode: nil, error: "Slurm job \(id) was canceled" + (reason.isEmpty ? "" : " (\(reason))"))
        case .outOfMemory:
            let limit = info.memory.map { " of \(ByteCount.format($0))" } ?? ""
            return ExecResult(exitCode: nil, error: "Slurm job \(id) ran out of memory (OUT_OF_MEMORY): it used more than its memory\(limit)")
        case .nodeFailed:
            return ExecResult(exitCode: nil, error: "the node running Slurm job \(id) failed (NODE_FAIL)")
        case .other(let state, let reason):
            return ExecResult(exitCode: nil, error: "Slurm job \(id) ended \(state)" + (reason.isEmpty ? "" : " (\(reason))"))
        case .unrunnable(let reason):
            return ExecResult(exitCode: nil, error: "Slurm cannot start job \(id) as asked (\(reason)): "
                + "it asks for more than its partition or account allows; it was canceled")
        case .vanished:
            if let exit { return exit.command > 0 ? failedCommand(exit) : ExecResult(exitCode: 0) }
            return ExecResult(exitCode: nil, error: "Slurm no longer knows job \(id), and it left no exit status")
        case .pending, .running:
            return ExecResult(exitCode: nil, error: "Slurm job \(id) is still active")
        }
    }

    /// The batch script: the step's environment, then each command through
    /// `/bin/sh -c` (or `docker run` in `container`'s image), the first
    /// failing one ending the job; the exit file says how it ended.
    static func script(_ commands: [String], context: StepContext, exitFile: String, info: StepInfo,
                       container: (client: String, network: String, image: String)?) -> String {
        let name = context.stepName.map { $0.isNewline ? " " : String($0) }.joined()
        var lines = ["#!/bin/sh", "# flowlua: step '\(name)' of run \(context.runID), attempt \(context.attempt)"]
        for (name, value) in context.environment.sorted(by: { $0.key < $1.key }) {
            lines.append("export \(name)=\(quote(value))")
        }
        lines.append("exitfile=\(quote(exitFile))")
        if let container {
            // The container belongs to dockerd, not to the job: a cancel or a
            // time limit must remove it.
            lines.append("docker=\(quote(container.client)) container=")
            lines.append(#"trap '[ -n "$container" ] && "$docker" rm -f "$container" >/dev/null 2>&1; exit 143' TERM INT"#)
        }
        let options = container.map { Docker.options(context, network: $0.network, info: info) } ?? []
        for (i, command) in commands.enumerated() {
            if let container {
                let name = Docker.containerName(context, command: i)
                let run = ([container.client, "run", "--rm", "--init", "--name", name] + options
                    + [container.image, "/bin/sh", "-c", command]).map(quote).joined(separator: " ")
                lines.append("container=\(quote(name))")
                lines.append("\(run) </dev/null &")
                lines.append("wait $!; status=$?; container=")
            } else {
                lines.append("/bin/sh -c \(quote(command)); status=$?")
            }
            lines.append("if [ \"$status\" -ne 0 ]; then echo \"\(i + 1) $status\" > \"$exitfile\"; exit \"$status\"; fi")
        }
        lines.append("echo \"0 0\" > \"$exitfile\"")
        return lines.joined(separator: "\n") + "\n"
    }

    static func isShellName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func quote(_ text: String) -> String { Template.shellQuoted(text) }
}
