import Crypto
import FlowModel
import Foundation

/// The image an nbdocker step runs in: a base image with papermill, ipykernel
/// and the step's `requirements` installed, tagged by a hash of the base
/// image's ID and the build recipe, so each is built once per machine and
/// then reused, and a changed requirement or base makes a new one.
struct NotebookImage: Sendable {
    /// The base image: Python 3 with pip.
    var base: String
    var requirements: [String]

    /// The repository of every image built for notebooks.
    static let repository = "flowlua-notebook"

    /// The build recipe. Host settings for pip (an index, a mirror) are build
    /// arguments, so they reach pip without changing the recipe.
    var dockerfile: String {
        """
        FROM \(base)
        ARG PIP_INDEX_URL
        ARG PIP_EXTRA_INDEX_URL
        ARG PIP_TRUSTED_HOST
        ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_CACHE_DIR=1
        COPY requirements.txt /opt/flowlua/requirements.txt
        RUN python3 -m pip install --quiet papermill ipykernel -r /opt/flowlua/requirements.txt \\
         && python3 -m ipykernel install --name python3
        """
    }

    var requirementsFile: String { requirements.map { $0 + "\n" }.joined() }

    /// The tag for a base image with ID `baseID`.
    func tag(baseID: String) -> String {
        let digest = SHA256.hash(data: Data([baseID, dockerfile, requirementsFile].joined(separator: "\0").utf8))
        return Self.repository + ":" + digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks the requirements before anything runs: one per line of a
    /// requirements file, so no line breaks.
    func validate() throws(WorkerError) {
        if let i = requirements.firstIndex(where: { $0.contains(where: \.isNewline) || $0.isEmpty }) {
            throw WorkerError("requirements[\(i + 1)]: expected one requirement, without line breaks")
        }
    }

    /// The image's tag, built first if this machine does not have it; the
    /// build's output goes to the step's logs, and a stop ends the build.
    nonisolated(nonsending) func prepare(client: String, context: StepContext,
                                         logs: StepOutput) async throws(WorkerError) -> String {
        try validate()
        let baseID = try await Docker.imageID(base, client: client, monitor: context.monitor)
        let tag = tag(baseID: baseID)
        await Self.builds.acquire(tag)
        defer { Task { await Self.builds.release(tag) } }
        if (try? await Docker.imageID(tag, client: client, monitor: context.monitor)) != nil {
            logs.note("nbdocker: using image \(tag)\n")
            return tag
        }
        logs.note("nbdocker: building image \(tag) from \(base) with papermill, ipykernel"
            + (requirements.isEmpty ? "" : " and \(requirements.joined(separator: " "))") + "\n")
        try await build(tag, client: client, context: context, logs: logs)
        logs.note("nbdocker: built image \(tag)\n")
        return tag
    }

    nonisolated(nonsending) private func build(_ tag: String, client: String, context: StepContext,
                                               logs: StepOutput) async throws(WorkerError) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-build-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(dockerfile.utf8).write(to: folder.appending(path: "Dockerfile"))
            try Data(requirementsFile.utf8).write(to: folder.appending(path: "requirements.txt"))
        } catch {
            throw WorkerError("nbdocker: cannot write the build folder \(folder.path): \(error.localizedDescription)")
        }
        // pip reaches its index through the host's network.
        var arguments = ["build", "--network", "host", "--tag", tag,
                         "--label", "org.flowlua.base=\(base)",
                         "--label", "org.flowlua.requirements=\(requirements.joined(separator: " "))"]
        let environment = ProcessInfo.processInfo.environment
        for name in ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"] {
            if let value = environment[name] { arguments += ["--build-arg", "\(name)=\(value)"] }
        }
        var spec = ProcessSpec(executable: client, arguments: arguments + [folder.path])
        spec.standardOutput = logs.stdout.writeEnd
        spec.standardError = logs.stderr.writeEnd
        let termination: Termination
        do { termination = try await ChildProcess.run(spec, for: context) } catch {
            throw WorkerError("nbdocker: docker build could not start: \(error)")
        }
        if context.stop.isStopped { throw WorkerError("nbdocker: stopped while building image \(tag)") }
        if !termination.succeeded {
            throw WorkerError("nbdocker: building image \(tag) from \(base) failed (docker build \(termination)); "
                + "its output is in the step's stderr")
        }
    }

    /// One build of a tag at a time in this process: a second step that
    /// needs the same image waits for the first to build it.
    private static let builds = BuildGate()
}

/// Serialises work per key: `acquire` waits while another holds the key.
actor BuildGate {
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ key: String) async {
        if waiting[key] == nil {
            waiting[key] = []
            return
        }
        await withCheckedContinuation { waiting[key, default: []].append($0) }
    }

    func release(_ key: String) {
        guard var queue = waiting[key], !queue.isEmpty else {
            waiting[key] = nil
            return
        }
        let next = queue.removeFirst()
        waiting[key] = queue
        next.resume()
    }
}
