import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

/// A folder holding a script `flow.lua` (and any other files given).
struct ScriptFolder {
    let url: URL
    var script: String { url.appending(path: "flow.lua").path }

    init(_ source: String, files: [String: String] = [:], name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        url = FileManager.default.temporaryDirectory.appending(path: "flowlua-script-\(safe)-\(UUID().uuidString.prefix(8))")
        for (path, text) in files.merging(["flow.lua": source], uniquingKeysWith: { $1 }) {
            let file = url.appending(path: path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    func load(searchPath: String? = nil) throws -> ScriptHost {
        try ScriptHost(script: script, searchPath: searchPath)
    }

    /// The message of the error loading the script raises.
    func error(searchPath: String? = nil) -> String {
        do {
            _ = try load(searchPath: searchPath)
            return "no error"
        } catch { return String(describing: error) }
    }
}
