import FlowModel
import Foundation
import Synchronization

/// The Docker command-line client, and what flowlua asks of it besides
/// running containers.
enum Docker {
    /// The `docker` program on `PATH`.
    static func client() throws(WorkerError) -> String {
        if let found = Executable.find("docker") { return found }
        throw WorkerError("docker is not installed (scripts/setup.sh installs docker.io)")
    }

    /// The IDs of images found present in this process, so each is looked up once.
    private static let present = Mutex<[String: String]>([:])

    /// The ID of `image`, checking that the daemon answers and has it; an
    /// error that says which of the two is wrong.
    nonisolated(nonsending) static func imageID(_ image: String, client: String,
                                                monitor: ProcessMonitor) async throws(WorkerError) -> String {
        if let id = present.withLock({ $0[image] }) { return id }
        let inspect: CapturedRun
        do {
            inspect = try await ChildProcess.output(
                of: ProcessSpec(executable: client, arguments: ["image", "inspect", "--format", "{{.Id}}", image]),
                monitor: monitor)
        } catch {
            throw WorkerError("docker: \(error)")
        }
        let id = inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if inspect.termination.succeeded, !id.isEmpty {
            present.withLock { $0[image] = id }
            return id
        }
        if inspect.stderr.contains("No such image") {
            throw WorkerError("docker: image '\(image)' is not on this machine (docker pull or docker build it first)")
        }
        if inspect.stderr.contains("Cannot connect to the Docker daemon") || inspect.stderr.contains("docker.sock") {
            throw WorkerError("docker: cannot reach the Docker daemon (is dockerd running? scripts/docker.sh starts one)")
        }
        let detail = inspect.stderr.split(separator: "\n").last.map(String.init) ?? "\(inspect.termination)"
        throw WorkerError("docker image inspect \(image): \(detail)")
    }

    /// Whether the daemon's default network leaves containers isolated,
    /// looked up once per process.
    private static let isolatedByDefault = Mutex<Bool?>(nil)

    /// The `--network` value that gives a container no network. A daemon
    /// started with `--bridge=none` has no default bridge, so its default
    /// network is the loopback alone: the same isolation as `none`, which
    /// costs ~75 ms more per container there. Elsewhere, `none`.
    nonisolated(nonsending) static func isolatedNetwork(client: String, monitor: ProcessMonitor) async -> String {
        if let known = isolatedByDefault.withLock({ $0 }) { return known ? "default" : "none" }
        let bridge = try? await ChildProcess.output(
            of: ProcessSpec(executable: client, arguments: ["network", "inspect", "--format", "{{.Name}}", "bridge"]),
            monitor: monitor)
        let isolated = bridge.map { !$0.termination.succeeded && $0.stderr.contains("network bridge not found") } ?? false
        isolatedByDefault.withLock { $0 = isolated }
        return isolated ? "default" : "none"
    }

    private static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

    /// The name of the container that runs command `index` of an attempt
    /// (Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
    static func containerName(_ context: StepContext, command index: Int) -> String {
        let step = String(context.stepName.map { nameCharacters.contains($0) ? $0 : "_" })
        return "flowlua-\(context.runID)-\(step)-\(context.attempt)-\(index + 1)"
    }

    /// The `docker run` options every step container gets: the run folder
    /// mounted at its own path as the working directory, the invoking user,
    /// the network, the environment, the step's limits.
    static func options(_ context: StepContext, network: String, info: StepInfo) -> [String] {
        var options = ["--network", network,
                       "--volume", "\(context.folder.path):\(context.folder.path)", "--workdir", context.folder.path,
                       "--user", "\(getuid()):\(getgid())"]
        for (name, value) in context.environment.sorted(by: { $0.key < $1.key }) { options += ["--env", "\(name)=\(value)"] }
        if let cpus = info.cpus { options += ["--cpus", String(cpus)] }
        if let memory = info.memory { options += ["--memory", String(memory)] }
        return options
    }

    /// Runs `arguments` (options, image, command) as container `name` to its
    /// end, its output into `logs`. A stop ends the client and stops and
    /// removes the container, which never outlives the attempt.
    nonisolated(nonsending) static func run(_ arguments: [String], name: String, client: String, context: StepContext,
                                            logs: StepOutput) async throws(SpawnError) -> Termination {
        // --init: signals reach the command, not a shell that ignores them.
        var spec = ProcessSpec(executable: client, arguments: ["run", "--rm", "--init", "--name", name] + arguments,
                               workingDirectory: context.folder.path)
        spec.standardOutput = logs.stdout.writeEnd
        spec.standardError = logs.stderr.writeEnd
        let grace = context.killGrace
        let termination = try await ChildProcess.run(spec, for: context) {
            Task { await Docker.remove(name, client: client, grace: grace, monitor: .shared) }
        }
        // A stop that came before the container existed missed it.
        if context.stop.isStopped { await remove(name, client: client, grace: .zero, monitor: context.monitor) }
        return termination
    }

    /// Stops a container (SIGTERM, SIGKILL after `grace`) and removes it;
    /// nothing if it is gone already.
    nonisolated(nonsending) static func remove(_ name: String, client: String, grace: Duration, monitor: ProcessMonitor) async {
        let seconds = max(0, Int(grace.components.seconds))
        _ = try? await ChildProcess.output(
            of: ProcessSpec(executable: client, arguments: ["stop", "--time", String(seconds), name]), monitor: monitor)
        _ = try? await ChildProcess.output(
            of: ProcessSpec(executable: client, arguments: ["rm", "--force", name]), monitor: monitor)
    }
}

/// Programs found on `PATH`.
enum Executable {
    static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for folder in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A worker that cannot run a step at all (no client, no image, no daemon).
public struct WorkerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
