import Foundation

/// What `readdir` gives for a folder, read in place.
///
/// A `dirent` is only as long as its name: copying its `d_name` field (a
/// 256-byte tuple) reads past the end of the last one in `readdir`'s buffer,
/// as AddressSanitizer reports.
public enum FolderListing {
    /// The names in `path` but `.` and `..`, in `readdir`'s order; nil when
    /// it cannot be opened. `types` keeps only entries of those `d_type`s.
    public static func names(in path: String, types: Set<Int32>? = nil) -> [String]? {
        guard let folder = opendir(path) else { return nil }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            if let types, !types.contains(Int32(entry.pointee.d_type)) { continue }
            // In place: `pointee` is addressed, not loaded.
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
