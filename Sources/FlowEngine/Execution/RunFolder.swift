import Foundation

/// The folder a run works in: steps run with it as working directory, its
/// inputs are staged into it, and step logs are kept under `.logs/`.
public struct RunFolder: Sendable {
    public let id: String
    /// The folder's absolute path (kept as text: every step joins paths to it).
    public let path: String

    public init(id: String, path: String) {
        self.id = id
        self.path = path
    }

    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }
    public var logsPath: String { path + "/.logs" }

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
        return RunFolder(id: id, path: url.path)
    }

    /// Copies each staged file or folder into the run folder: contents, a
    /// link replaced by what it points to, so that a step writing to an
    /// input never writes to the original.
    public func stage(_ files: [Plan.Staged]) throws {
        let manager = FileManager.default
        for file in files {
            let target = url.appending(path: file.target.hasSuffix("/") ? String(file.target.dropLast()) : file.target)
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
            do { try TreeCopy.copy(file.source, to: target.path, links: .follow) } catch {
                throw StagingError(source: file.source, failure: error)
            }
        }
    }

    public func url(for relative: String) -> URL { url.appending(path: relative) }

    /// Where a declared file or folder (`out/`) of the run is.
    public func path(of relative: String) -> String { Self.path(of: relative, in: path) }

    /// Where a declared file or folder (`out/`) of the run in `folder` is.
    public static func path(of relative: String, in folder: String) -> String {
        folder + "/" + (relative.hasSuffix("/") ? String(relative.dropLast()) : relative)
    }

    public func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + relative)
    }

    /// What a step left at `relative`, looked at without opening it or
    /// following a link out of the folder.
    public enum Entry: Equatable, Sendable {
        case file, folder, missing
        /// A FIFO, a socket or a device: named.
        case special(String)
        /// It resolves to this path, outside the run folder.
        case outside(String)
    }

    public func entry(_ relative: String) -> Entry {
        var entries = Entries(of: self)
        return entries.entry(relative)
    }

    /// Looks at many entries of one run folder, resolving the folder and
    /// each folder that holds them once: 100,000 outputs in `out/` cost an
    /// `lstat` each, not a `realpath` and a `stat`.
    public struct Entries {
        private let folder: RunFolder
        private let root: String?
        private var parents: [Substring: String] = [:]

        public init(of folder: RunFolder) {
            self.folder = folder
            root = folder.resolved()
        }

        public mutating func entry(_ relative: String) -> Entry {
            let full = folder.path + "/" + relative
            var info = stat()
            // Missing, or a link to nothing.
            guard lstat(full, &info) == 0 else { return .missing }
            let slash = full.lastIndex(of: "/") ?? full.startIndex
            let leaf = full[full.index(after: slash)...]
            let resolved: String
            if info.st_mode & S_IFMT == S_IFLNK || leaf.isEmpty || leaf == "." || leaf == ".." {
                guard let target = RunFolder.resolve(full), stat(target, &info) == 0 else { return .missing }
                resolved = target
            } else {
                // Not a link itself: it is where its folder resolves to.
                let parent = full[..<slash]
                if parents[parent] == nil { parents[parent] = RunFolder.resolve(String(parent)) }
                guard let folder = parents[parent] else { return .missing }
                resolved = folder + "/" + leaf
            }
            guard let root, RunFolder.isInside(resolved, root: root) else { return .outside(resolved) }
            switch info.st_mode & S_IFMT {
            case S_IFREG: return .file
            case S_IFDIR: return .folder
            default: return .special(RunFolder.kind(of: info.st_mode))
            }
        }
    }

    /// The folder's path with every link resolved; nil if it is gone.
    public func resolved() -> String? { Self.resolve(path) }

    /// The path with every link resolved (`realpath`); nil if it leads nowhere.
    static func resolve(_ path: String) -> String? { resolve(RawPath(path)) }

    static func resolve(_ path: RawPath) -> String? {
        guard let resolved = realpath(path.cString, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` (resolved) is `root` (resolved) or below it.
    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// A file type as a message names it.
    static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFLNK: "a link"
        case S_IFDIR: "a folder"
        default: "a file"
        }
    }

    /// Copies `relative` (a file, or a folder ending in `/`) from another
    /// run folder into this one, replacing what is there. Links inside it
    /// that stay in the other run folder are kept; one that leads out is
    /// an error, as is anything that is not a file, folder or link.
    public func copy(_ relative: String, from other: String) throws {
        let name = relative.hasSuffix("/") ? String(relative.dropLast()) : relative
        let target = URL(fileURLWithPath: path + "/" + name)
        let manager = FileManager.default
        try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
        try TreeCopy.copy(other + "/" + name, to: target.path, links: .keepInside(root: Self.resolve(other) ?? other))
    }

    /// Appends `text` to the file at `path`, creating it if need be.
    public static func append(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var text = text
        text.withUTF8 { buffer in _ = write(fd, buffer.baseAddress, buffer.count) }
    }

    /// The log files of a step: `.logs/<step>.stdout` and `.stderr`.
    public func logs(for step: String) -> StepLogPaths {
        // Most names are plain ASCII: checked by byte, they need no copy.
        let plain = step.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2D || byte == 0x5F
                || byte == 0x2E
        }
        let safe = plain ? step
            : String(step.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return StepLogPaths(base: logsPath + "/" + safe)
    }
}

/// An input that could not be copied into the run folder.
public struct StagingError: Error, CustomStringConvertible {
    public var source: String
    var failure: TreeCopy.Failure

    public var description: String {
        failure.path == source ? "cannot stage \(source): \(failure.reason)"
            : "cannot stage \(source): \(failure.description)"
    }
}

/// Where a step's output goes: two files under the run folder's `.logs/`.
public struct StepLogPaths: Sendable, Hashable {
    /// Their path without the extension, `<run folder>/.logs/<step>`: the
    /// two full paths are made only when a step has output.
    public var base: String
    public var stdout: String { base + ".stdout" }
    public var stderr: String { base + ".stderr" }
    /// Where a step that declares `values` writes them (`$FLOWLUA_VALUES`).
    public var values: String { base + ".values.json" }

    public init(base: String) {
        self.base = base
    }
}
