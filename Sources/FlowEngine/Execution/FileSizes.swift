import Foundation

/// Whether files are small enough to hash where the caller is: reading
/// them costs less than handing the work to another thread.
public enum FileSizes {
    /// What hashes in a few milliseconds.
    public static let small = 8 << 20

    /// Whether the files at `paths` are regular files (or missing) of at
    /// most `limit` bytes together; a folder, a FIFO or a device is not.
    public static func areSmall(_ paths: [String], limit: Int = small) -> Bool {
        var total = 0
        var info = stat()
        for path in paths {
            guard stat(path, &info) == 0 else { continue }  // missing: nothing to read
            guard info.st_mode & S_IFMT == S_IFREG else { return false }
            total += Int(info.st_size)
            if total > limit { return false }
        }
        return true
    }
}
