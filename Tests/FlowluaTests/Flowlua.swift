import Foundation
import Testing

/// The repository root (this file is Tests/FlowluaTests/Flowlua.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built `flowlua`: `FLOWLUA_BIN`, else beside the test bundle.
let flowluaBinary: String = {
    if let path = ProcessInfo.processInfo.environment["FLOWLUA_BIN"] { return path }
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "flowlua").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    return repositoryRoot.appending(path: ".build/debug/flowlua").path
}()

struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `flowlua arguments...` in `directory` and waits for it.
func flowlua(_ arguments: [String], in directory: URL = repositoryRoot,
             environment: [String: String] = [:]) async throws -> Outcome {
    try await execute(flowluaBinary, arguments, in: directory, environment: environment)
}

/// Runs a program (an absolute path) in `directory` and waits for it, on a
/// thread of its own.
func execute(_ executable: String, _ arguments: [String], in directory: URL = repositoryRoot,
             environment: [String: String] = [:]) async throws -> Outcome {
    try await offPool { try executeBlocking(executable, arguments, in: directory, environment: environment) }
}

/// Runs blocking work (waiting for a process) on a thread of its own: the
/// cooperative pool has one thread per core, two here, and a test that
/// blocks one holds up every async test running alongside.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// `execute`, blocking the calling thread; `input` (small) is its
/// standard input.
func executeBlocking(_ executable: String, _ arguments: [String], in directory: URL = repositoryRoot,
                     environment: [String: String] = [:], input: String? = nil) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let capture = try Capture(of: process, input: input)
    try process.run()
    process.waitWithoutSpinning()
    return capture.outcome()
}

extension Process {
    /// `waitUntilExit()` without its cost: on Linux it spins a run loop that
    /// has nothing to wait for, a core per waiting test, and four such tests
    /// at once slowed every other test of the suite to a crawl.
    func waitWithoutSpinning() {
        while isRunning { usleep(5_000) }
    }
}

/// A child's standard output and error, in files rather than pipes: a
/// pipe's end of file waits for every copy of its write end, and a process
/// another test spawns at the same moment may take a copy and keep it for as
/// long as it runs (a Slurm time-limit test, 80 s, held up a test of 1 s
/// that way). Read once the process has ended.
struct Capture {
    private let process: Process
    private let folder: URL
    /// Closed by `outcome()`: a Process keeps its handles, and a suite of
    /// hundreds of runs would pile up descriptors to removed files (past
    /// ~1,300, Foundation's Process.run reads past its listing of them).
    private let handles: [FileHandle]

    init(of process: Process, input: String? = nil) throws {
        self.process = process
        folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-capture-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["stdout", "stderr"] {
            _ = FileManager.default.createFile(atPath: folder.appending(path: name).path, contents: nil)
        }
        var handles = [try FileHandle(forWritingTo: folder.appending(path: "stdout")),
                       try FileHandle(forWritingTo: folder.appending(path: "stderr"))]
        process.standardOutput = handles[0]
        process.standardError = handles[1]
        if let input {
            let file = folder.appending(path: "stdin")
            try input.write(to: file, atomically: true, encoding: .utf8)
            handles.append(try FileHandle(forReadingFrom: file))
            process.standardInput = handles[2]
        }
        self.handles = handles
    }

    /// What the ended process wrote, and its status; the files are removed.
    func outcome() -> Outcome {
        for handle in handles { try? handle.close() }
        let read = { (name: String) in (try? String(contentsOf: folder.appending(path: name), encoding: .utf8)) ?? "" }
        defer { try? FileManager.default.removeItem(at: folder) }
        return Outcome(status: process.terminationStatus, stdout: read("stdout"), stderr: read("stderr"))
    }
}

/// A fresh temporary folder.
func scratch(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appending(path: "flowlua-e2e-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A copy of `examples/hello` in a scratch folder, with `edit` applied to its script.
func brokenHello(_ edit: (String) -> String, name: String = #function) throws -> URL {
    let folder = try scratch(name).appending(path: "hello")
    try FileManager.default.copyItem(at: repositoryRoot.appending(path: "examples/hello"), to: folder)
    let script = folder.appending(path: "workflow.lua")
    let original = try String(contentsOf: script, encoding: .utf8)
    let edited = edit(original)
    #expect(edited != original, "the edit must change the script")
    try edited.write(to: script, atomically: true, encoding: .utf8)
    return script
}

/// The 1-based line of the first line containing `text` in a file.
func line(of text: String, in file: URL) throws -> Int {
    let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    return (lines.firstIndex { $0.contains(text) } ?? -1) + 1
}

/// Living processes whose command line starts with `prefix`.
func living(_ prefix: String) -> [String] {
    living { $0.hasPrefix(prefix) }
}

/// Living processes whose command line (arguments joined by spaces) passes `test`.
func living(where test: (String) -> Bool) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { entry in
        guard Int32(entry) != nil,
              let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
              test(String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}

/// Starts `flowlua arguments...` in `folder`, sends `signal` once `ready`
/// holds (or after a minute), and waits for it to end.
func interrupt(_ arguments: [String], in folder: URL, signal: Int32 = SIGINT, environment: [String: String] = [:],
               when ready: () async -> Bool) async throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: flowluaBinary)
    process.arguments = arguments
    process.currentDirectoryURL = folder
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let capture = try Capture(of: process)
    try process.run()
    let outcome = Task {
        try await offPool { () -> Outcome in
            process.waitWithoutSpinning()
            return capture.outcome()
        }
    }
    // Long enough for a loaded machine (a cluster busy with other tests' jobs).
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, process.isRunning, !(await ready()) { try await Task.sleep(for: .milliseconds(20)) }
    kill(process.processIdentifier, signal)
    return try await outcome.value
}

/// Whether some run folder under `runs` holds `path`.
func anyRun(in runs: URL, has path: String) -> Bool {
    let ids = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
    return ids.contains { FileManager.default.fileExists(atPath: runs.appending(path: $0).appending(path: path).path) }
}

/// The run ID flowlua announced on stderr ("flowlua: run ID: ...").
func runID(in stderr: String) -> String? {
    guard let range = stderr.range(of: "flowlua: run ") else { return nil }
    return stderr[range.upperBound...].prefix { $0.isLetter || $0.isNumber }.description
}
