import Foundation

/// Whether a file system has room, and how to say it has none.
///
/// SQLite reports a full disk as "database or disk is full", or as a disk
/// I/O error when it is its shared-memory file that cannot grow; flowlua
/// tells the user where space ran out instead.
public enum DiskSpace {
    /// Below this much free space a file system counts as full: less than
    /// a few database pages and a log line.
    static let margin: UInt64 = 128 << 10

    /// Bytes free to unprivileged users on the file system holding `path`
    /// (or its nearest existing folder); nil when it cannot be asked.
    public static func available(at path: String) -> UInt64? {
        var stats = statvfs()
        guard statvfs(existing(path), &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }

    /// Whether the file system holding `path` has (almost) no space left.
    public static func isFull(at path: String) -> Bool {
        available(at: path).map { $0 < margin } ?? false
    }

    /// "no space left on /mnt/data": the mount point of the file system
    /// holding `path`.
    public static func noSpace(at path: String) -> String {
        "no space left on \(mountPoint(of: path))"
    }

    /// The top folder of `path`'s file system.
    public static func mountPoint(of path: String) -> String {
        var current = URL(fileURLWithPath: existing(path)).standardizedFileURL
        var info = stat()
        guard stat(current.path, &info) == 0 else { return current.path }
        let device = info.st_dev
        while current.path != "/" {
            let parent = current.deletingLastPathComponent()
            guard stat(parent.path, &info) == 0, info.st_dev == device else { break }
            current = parent
        }
        return current.path
    }

    /// `path`, or its nearest ancestor that exists.
    private static func existing(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url = url.deletingLastPathComponent() }
        return url.path
    }
}
