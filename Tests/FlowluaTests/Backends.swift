import Foundation
import Testing

/// The real backends the end-to-end tests run against. scripts/test.sh
/// starts them (scripts/docker.sh: the daemon and the local images); a test
/// whose backend is missing fails, unless its skip variable says to skip it,
/// which Swift Testing then reports as a skip with the reason.
enum Backends {
    /// `FLOWLUA_SKIP_DOCKER=1`: skip the Docker and nbdocker tests.
    static let dockerEnabled = ProcessInfo.processInfo.environment["FLOWLUA_SKIP_DOCKER"] == nil
    static let dockerSkipped: Comment = "SKIPPED: FLOWLUA_SKIP_DOCKER is set, so the Docker workers are NOT tested"

    /// `FLOWLUA_SKIP_NOTEBOOK=1`: skip the papermill tests.
    static let notebookEnabled = ProcessInfo.processInfo.environment["FLOWLUA_SKIP_NOTEBOOK"] == nil
    static let notebookSkipped: Comment = "SKIPPED: FLOWLUA_SKIP_NOTEBOOK is set, so the notebook worker is NOT tested"

    /// The docker client, failing the test with what to do if it or the daemon is missing.
    static func docker() async throws -> String {
        let client = try #require(which("docker"), "docker is not installed: run scripts/setup.sh and scripts/docker.sh")
        let info = try await execute(client, ["image", "inspect", "local/busybox:1", "local/python:3"])
        try #require(info.status == 0, "no Docker daemon or no local test images: run scripts/docker.sh\n\(info.stderr)")
        return client
    }

    /// Runs `docker arguments...`.
    static func docker(_ arguments: [String]) async throws -> Outcome {
        try await execute(try docker(), arguments)
    }

    static func papermill() throws -> String {
        try #require(which("papermill"), "papermill is not installed: run scripts/setup.sh")
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Writes `script` as `workflow.lua` (and `files`) into a scratch folder.
func workflowFolder(_ script: String, files: [String: String] = [:], name: String = #function) throws -> URL {
    let folder = try scratch(name)
    try script.write(to: folder.appending(path: "workflow.lua"), atomically: true, encoding: .utf8)
    for (path, text) in files {
        let url = folder.appending(path: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return folder
}

/// The one run folder under `folder/runs`.
func onlyRun(in folder: URL) throws -> URL {
    let runs = folder.appending(path: "runs")
    let ids = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { !$0.hasPrefix(".") }
    try #require(ids.count == 1, "expected one run folder, found \(ids)")
    return runs.appending(path: ids[0])
}

func contents(_ url: URL) throws -> String {
    try String(contentsOf: url, encoding: .utf8)
}
