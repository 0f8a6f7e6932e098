import Foundation

/// A path as the bytes the kernel takes, which need not be UTF-8 (a name
/// from an old Latin-1 dataset): trees are walked by these, so that every
/// name a folder holds can be opened, copied and hashed as it is.
public struct RawPath: Sendable, Hashable, CustomStringConvertible {
    /// The bytes, NUL-terminated: pass it where C takes a path.
    public let cString: [CChar]

    public init(_ path: String) { cString = Array(path.utf8CString) }
    private init(cString: [CChar]) { self.cString = cString }

    /// `self/name`.
    public func appending(_ name: [CChar]) -> RawPath {
        RawPath(cString: cString.dropLast() + [CChar(UInt8(ascii: "/"))] + name + [0])
    }

    /// What the link at this path holds, as bytes (no NUL); nil if it is
    /// not a link or cannot be read.
    public func linkTarget() -> [CChar]? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(cString, &buffer, buffer.count - 1)
        return count < 0 ? nil : Array(buffer.prefix(count))
    }

    /// The path as text: UTF-8 as it is, any other byte as `\xNN`.
    public var description: String {
        let bytes = cString.dropLast().map { UInt8(bitPattern: $0) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16, uppercase: true) }.joined()
    }
}

/// What `readdir` gives for a folder, read in place.
///
/// A `dirent` is only as long as its name: copying its `d_name` field (a
/// 256-byte tuple) reads past the end of the last one in `readdir`'s buffer,
/// as AddressSanitizer reports.
public enum FolderListing {
    /// The names in `path` but `.` and `..`, in `readdir`'s order; nil when
    /// it cannot be opened. `types` keeps only entries of those `d_type`s.
    public static func names(in path: String, types: Set<Int32>? = nil) -> [String]? {
        rawNames(in: RawPath(path), types: types)?.map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// The names as their bytes (no NUL), whatever their encoding.
    public static func rawNames(in path: RawPath, types: Set<Int32>? = nil) -> [[CChar]]? {
        guard let folder = opendir(path.cString) else { return nil }
        defer { closedir(folder) }
        var names: [[CChar]] = []
        while let entry = readdir(folder) {
            if let types, !types.contains(Int32(entry.pointee.d_type)) { continue }
            // In place: `pointee` is addressed, not loaded.
            let name = withUnsafePointer(to: &entry.pointee.d_name) { field in
                let start = UnsafeRawPointer(field).assumingMemoryBound(to: CChar.self)
                return Array(UnsafeBufferPointer(start: start, count: strlen(start)))
            }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        return names
    }
}
