import FlowModel
import Foundation

/// Slurm through its commands: `sbatch --parsable` submits, one `squeue`
/// reports on every job followed, `scancel` stops jobs.
///
/// Slurm keeps finished jobs in `squeue -t all` for `MinJobAge` seconds
/// (300 by default); a job gone from it is one to read the end of from
/// its exit file in the run folder.
public struct SlurmEngine: RemoteEngine {
    public init() {}

    /// Where the Slurm commands are: `FLOWLUA_SLURM_BIN`, else `PATH`.
    static func command(_ name: String) throws(RemoteError) -> String {
        if let folder = ProcessInfo.processInfo.environment["FLOWLUA_SLURM_BIN"] {
            return folder + "/" + name
        }
        guard let found = Executable.find(name) else {
            throw RemoteError("\(name) is not installed: a slurm worker needs Slurm's commands (scripts/slurm.sh sets up a cluster)")
        }
        return found
    }

    public func submit(_ job: RemoteJob) async throws(RemoteError) -> String {
        let sbatch = try Self.command("sbatch")
        if job.cpus != nil || job.memory != nil, let sinfo = try? Self.command("sinfo"),
           let capacity = await SlurmCapacity.current(sinfo: sinfo), let refusal = capacity.refusal(of: job) {
            throw RemoteError("Slurm cannot start this job: \(refusal); it was not submitted")
        }
        let scriptPath = job.stdout.hasSuffix(".stdout") ? String(job.stdout.dropLast(7)) + ".sbatch" : job.stdout + ".sbatch"
        do {
            try job.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        } catch {
            throw RemoteError("cannot write the batch script \(scriptPath): \(error.localizedDescription)")
        }
        let run: CapturedRun
        do {
            run = try await ChildProcess.output(of: ProcessSpec(executable: sbatch, arguments: Self.arguments(job) + [scriptPath],
                                                                workingDirectory: job.workingDirectory))
        } catch {
            throw RemoteError("sbatch: \(error)")
        }
        let text = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // --parsable prints "id" or "id;cluster".
        let id = String(text.prefix { $0 != ";" })
        guard run.termination.succeeded, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let said = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw RemoteError("sbatch refused the job: \(said.isEmpty ? "exit \(run.termination.code)" : said)")
        }
        return id
    }

    /// The `sbatch` options of `job`: its name, folder, logs, resources,
    /// time limit (whole minutes, at least one), dependencies, then the
    /// worker's partition, account and own options, which come last and win.
    static func arguments(_ job: RemoteJob) -> [String] {
        var arguments = ["--parsable", "--job-name=\(job.name)", "--chdir=\(job.workingDirectory)",
                         "--output=\(job.stdout)", "--error=\(job.stderr)", "--open-mode=append", "--export=ALL",
                         "--kill-on-invalid-dep=yes"]
        if let cpus = job.cpus { arguments.append("--cpus-per-task=\(max(1, cpus))") }
        if let memory = job.memory { arguments.append("--mem=\(Slurm.megabytes(memory))M") }
        if let limit = job.timeLimit { arguments.append("--time=\(Slurm.minutes(limit))") }
        if !job.after.isEmpty { arguments.append("--dependency=afterok:" + job.after.joined(separator: ":")) }
        if let partition = job.cluster.partition { arguments.append("--partition=\(partition)") }
        if let account = job.cluster.account { arguments.append("--account=\(account)") }
        return arguments + job.cluster.options
    }

    public func poll(_ ids: [String]) async throws(RemoteError) -> [String: RemoteState] {
        let squeue = try Self.command("squeue")
        var states: [String: RemoteState] = [:]
        // One call for all of them, as long as the command line allows.
        for chunk in stride(from: 0, to: ids.count, by: 2000).map({ Array(ids[$0 ..< min($0 + 2000, ids.count)]) }) {
            let run: CapturedRun
            do {
                run = try await ChildProcess.output(of: ProcessSpec(
                    executable: squeue, arguments: ["-h", "-t", "all", "-o", "%i|%T|%r", "-j", chunk.joined(separator: ",")]))
            } catch {
                throw RemoteError("squeue: \(error)")
            }
            // A single id Slurm no longer knows is an error; in a list it is left out.
            if !run.termination.succeeded {
                if run.stderr.contains("Invalid job id") { continue }
                throw RemoteError("squeue: \(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            states.merge(Self.states(fromQueue: run.stdout)) { $1 }
        }
        return states
    }

    /// Parses `squeue -o '%i|%T|%r'` lines.
    static func states(fromQueue text: String) -> [String: RemoteState] {
        var states: [String: RemoteState] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == 3, !fields[0].isEmpty else { continue }
            // An array job's "123_4" is not one of ours.
            states[fields[0]] = state(fields[1], reason: fields[2] == "None" ? "" : fields[2])
        }
        return states
    }

    /// Reasons a pending job gives that no change of the cluster's load will
    /// clear: the job asks for what its partition or account cannot give.
    static let hopeless: Set<String> = [
        "PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints", "InvalidAccount", "InvalidQOS",
        "DependencyNeverSatisfied",
    ]

    /// Slurm's job states (squeue's long names) as remote states.
    static func state(_ name: String, reason: String) -> RemoteState {
        if name == "PENDING", hopeless.contains(reason) { return .unrunnable(reason: reason) }
        return switch name {
        case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED", "STOPPED",
             "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "SPECIAL_EXIT":
            .pending(reason: reason)
        case "RUNNING", "COMPLETING":
            .running
        case "COMPLETED": .completed
        case "FAILED": .failed(reason: reason)
        case "TIMEOUT": .timedOut
        case "CANCELLED": .canceled(reason: reason)
        case "OUT_OF_MEMORY": .outOfMemory
        case "NODE_FAIL": .nodeFailed
        default: .other(state: name, reason: reason)
        }
    }

    public func stop(_ ids: [String]) async {
        guard let scancel = try? Self.command("scancel"), !ids.isEmpty else { return }
        _ = try? await ChildProcess.output(of: ProcessSpec(executable: scancel, arguments: ids))
    }

    /// Reads what the job left in the shared run folder: its logs, its exit
    /// file (`<logs>.exit`) and its outputs.
    public func fetch(_ handle: RemoteHandle, logs: StepLogPaths, from offsets: (stdout: off_t, stderr: off_t),
                      keep: Int) async -> RemoteResult {
        var exit: RemoteResult.ExitRecord?
        if let text = try? String(contentsOfFile: Slurm.exitFile(logs), encoding: .utf8) {
            let fields = text.split(whereSeparator: \.isWhitespace)
            if fields.count == 2, let command = Int(fields[0]), let status = Int32(fields[1]) {
                exit = RemoteResult.ExitRecord(command: command, status: status)
            }
        }
        let missing = handle.outputFiles.filter { output in
            !FileManager.default.fileExists(atPath: handle.folder + "/" + (output.hasSuffix("/") ? String(output.dropLast()) : output))
        }
        return RemoteResult(stdout: OutputPipe.tail(of: logs.stdout, from: offsets.stdout, keep: keep),
                            stderr: OutputPipe.tail(of: logs.stderr, from: offsets.stderr, keep: keep),
                            exit: exit, missingOutputs: missing)
    }

    public func stopNow(_ ids: [String]) {
        guard let scancel = try? Self.command("scancel"), !ids.isEmpty else { return }
        _ = try? ChildProcess.runCapturing(ProcessSpec(executable: scancel, arguments: ids), grace: .seconds(1)) { false }
    }
}
