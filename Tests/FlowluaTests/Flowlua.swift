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
             environment: [String: String] = [:]) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: flowluaBinary)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain stdout on another thread while this one drains stderr, so neither pipe fills up.
    let stdout = Drained()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        stdout.data = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus,
                   stdout: String(decoding: stdout.data, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
}

private final class Drained: @unchecked Sendable { var data = Data() }

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
