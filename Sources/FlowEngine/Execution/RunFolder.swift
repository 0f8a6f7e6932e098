import Foundation

/// The folder a run works in: steps run with it as working directory, its
/// inputs are staged into it, and step logs are kept under `.logs/`.
public struct RunFolder: Sendable {
    public let id: String
    public let url: URL

    public var path: String { url.path }
    public var logsURL: URL { url.appending(path: ".logs", directoryHint: .isDirectory) }

    /// Where run folders go: `--runs-dir`, else `FLOWLUA_RUNS_DIR`, else `.flowlua/runs`.
    public static func runsDirectory(_ explicit: String?) -> URL {
        let path = explicit ?? ProcessInfo.processInfo.environment["FLOWLUA_RUNS_DIR"] ?? ".flowlua/runs"
        return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    /// A new, unique run id: 12 lowercase hex digits, time-ordered first.
    public static func newID() -> String {
        let seconds = UInt64(Date().timeIntervalSince1970) & 0xFF_FFFF
        let random = UInt64.random(in: 0 ..< 0x100_0000)
        return String(format: "%06llx%06llx", seconds, random)
    }

    /// Creates the folder `root/id/` and its log folder.
    public static func create(in root: URL, id: String = newID()) throws -> RunFolder {
        let url = root.appending(path: id, directoryHint: .isDirectory)
        try FileManager.default.createDirectory(at: url.appending(path: ".logs"), withIntermediateDirectories: true)
        return RunFolder(id: id, url: url)
    }

    /// Copies each staged file or folder into the run folder.
    public func stage(_ files: [Plan.Staged]) throws {
        let manager = FileManager.default
        for file in files {
            let target = url.appending(path: file.target.hasSuffix("/") ? String(file.target.dropLast()) : file.target)
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
            try manager.copyItem(at: URL(fileURLWithPath: file.source), to: target)
        }
    }

    public func url(for relative: String) -> URL { url.appending(path: relative) }

    public func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: url(for: relative).path)
    }

    /// The log files of a step: `.logs/<step>.stdout` and `.stderr`.
    public func logs(for step: String) -> (stdout: URL, stderr: URL) {
        let safe = step.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" }
        return (logsURL.appending(path: String(safe) + ".stdout"), logsURL.appending(path: String(safe) + ".stderr"))
    }
}
