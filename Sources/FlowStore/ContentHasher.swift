import Crypto
import Foundation
import GRDB
import Synchronization

/// SHA-256 of files and folder trees, remembered by path, device, inode,
/// size and modification time so that a file nobody touched is hashed once
/// (the memo is kept in the run database for later runs).
final class ContentHasher: Sendable {
    private let store: RunStore
    private let memo = Mutex<[String: FileHashRow]>([:])
    /// Hashes computed since the last `takeFresh()`, to persist.
    private let fresh = Mutex<[FileHashRow]>([])

    init(store: RunStore) { self.store = store }

    /// The content hash of a file, or of a folder's whole tree (names and
    /// contents, in order); nil when there is nothing at `path`.
    /// Nothing is opened that is not a regular file: a FIFO, socket or
    /// device hashes as its kind, and a link inside a folder as its target.
    func hash(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if info.st_mode & S_IFMT == S_IFDIR { return hashTree(path) }
        guard info.st_mode & S_IFMT == S_IFREG else { return "special:\(info.st_mode & S_IFMT)" }
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let current = { (row: FileHashRow) in
            row.device == Int64(info.st_dev) && row.inode == Int64(info.st_ino) && row.size == Int64(info.st_size)
                && row.modifiedAt == modified
        }
        if let known = memo.withLock({ $0[path] }), current(known) { return known.hash }
        if let stored = try? store.pool.read({ db in try FileHashRow.fetchOne(db, key: path) }), current(stored) {
            memo.withLock { $0[path] = stored }
            return stored.hash
        }
        guard let digest = Self.digest(of: path) else { return nil }
        let row = FileHashRow(path: path, device: Int64(info.st_dev), inode: Int64(info.st_ino), size: Int64(info.st_size),
                              modifiedAt: modified, hash: digest)
        memo.withLock { $0[path] = row }
        fresh.withLock { $0.append(row) }
        return digest
    }

    /// Hashes computed since the last call, for the database's memo.
    func takeFresh() -> [FileHashRow] {
        fresh.withLock { rows in
            defer { rows.removeAll() }
            return rows
        }
    }

    private func hashTree(_ path: String) -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        var hasher = SHA256()
        for name in names.sorted() {
            let entry = path + "/" + name
            var info = stat()
            let hash = lstat(entry, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
                ? "link:" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: entry)) ?? "?")
                : self.hash(entry) ?? "?"
            hasher.update(data: Data("\(name)\0\(hash)\0".utf8))
        }
        return Self.hex(hasher.finalize())
    }

    /// SHA-256 of a file's content, read 1 MiB at a time.
    static func digest(of path: String) -> String? {
        // Non-blocking: a FIFO that took the file's place must not hang us.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
        return hex(hasher.finalize())
    }

    /// Lowercase hex, by table: `String(format:)` per byte cost more than
    /// the hashing.
    static func hex<Bytes: Sequence<UInt8>>(_ digest: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
