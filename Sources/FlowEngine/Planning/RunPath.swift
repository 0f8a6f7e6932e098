/// Paths relative to a run folder, kept inside it.
public enum RunPath {
    /// Normalises a relative path (`a/./b/../c` -> `a/c`), keeping a trailing
    /// `/`; throws when it is absolute or climbs out of the run folder.
    public static func normalize(_ path: String) throws(PathError) -> String {
        guard !path.isEmpty else { throw PathError(path: path, reason: "is empty") }
        guard !path.hasPrefix("/") else {
            throw PathError(path: path, reason: "is absolute; paths are relative to the run folder")
        }
        if isNormal(path) { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { throw PathError(path: path, reason: "escapes the run folder") }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        guard !parts.isEmpty else { throw PathError(path: path, reason: "names the run folder itself") }
        return parts.joined(separator: "/") + (path.hasSuffix("/") ? "/" : "")
    }

    /// Whether a relative path has no empty, `.` or `..` part (a trailing
    /// `/` aside): most paths, returned as they are.
    private static func isNormal(_ path: String) -> Bool {
        var partLength = 0, dots = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if partLength == 0 || partLength == dots && dots <= 2 { return false }
                partLength = 0
                dots = 0
            } else {
                partLength += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return partLength == 0 || !(partLength == dots && dots <= 2)
    }

    /// Whether `path` is `folder` itself or inside it (`folder` ends in `/`).
    public static func covers(_ folder: String, _ path: String) -> Bool {
        folder.hasSuffix("/") && (path.hasPrefix(folder) || path + "/" == folder)
    }
}

/// A path that a run may not use.
public struct PathError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "path '\(path)' \(reason)" }
}
