import Crypto
import FlowEngine
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
    func hash(_ path: String) -> String? { hash(path, lookUp: true) }

    /// The hashes of many paths, in order. Where several share a folder,
    /// what the memo knows under it is read in one query, not one a file
    /// (a step declaring 100,000 outputs).
    func hashes(_ paths: [String]) -> [String?] {
        guard paths.count > 1 else { return paths.map(hash) }
        var shared: [Substring: Int] = [:]
        for path in paths { shared[Self.parent(of: path), default: 0] += 1 }
        let read = Set(shared.compactMap { $0.value >= 8 ? $0.key : nil })
        for folder in read { remember(under: String(folder)) }
        return paths.map { hash($0, lookUp: !read.contains(Self.parent(of: $0))) }
    }

    private static func parent(of path: String) -> Substring {
        path[..<(path.lastIndex(of: "/") ?? path.startIndex)]
    }

    private func hash(_ path: String, lookUp: Bool) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if info.st_mode & S_IFMT == S_IFDIR {
            // One read of what the memo knows under the folder, not one a file.
            remember(under: path)
            return hashTree(RawPath(path))
        }
        return hash(RawPath(path), info, lookUp: lookUp)
    }

    /// A file's hash from what `stat` said of it: remembered (by the path as
    /// text, `\xNN` for bytes that are not UTF-8), else read.
    private func hash(_ raw: RawPath, _ info: stat, lookUp: Bool) -> String? {
        let path = raw.description
        guard info.st_mode & S_IFMT == S_IFREG else { return "special:\(info.st_mode & S_IFMT)" }
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let current = { (row: FileHashRow) in
            row.device == Int64(info.st_dev) && row.inode == Int64(info.st_ino) && row.size == Int64(info.st_size)
                && row.modifiedAt == modified
        }
        if let known = memo.withLock({ $0[path] }), current(known) { return known.hash }
        if lookUp, let stored = try? store.pool.read({ db in try FileHashRow.fetchOne(db, key: path) }), current(stored) {
            memo.withLock { $0[path] = stored }
            return stored.hash
        }
        guard let digest = Self.digest(of: raw, size: Int(info.st_size)) else { return nil }
        let row = FileHashRow(path: path, device: Int64(info.st_dev), inode: Int64(info.st_ino), size: Int64(info.st_size),
                              modifiedAt: modified, hash: digest)
        memo.withLock { $0[path] = row }
        fresh.withLock { $0.append(row) }
        return digest
    }

    /// `target` is a copy of `source` just made: each of its files takes
    /// the hash remembered for its original, so that a copied tree (a
    /// result `--resume` reuses) is not read again to be hashed. A file
    /// whose original has no hash remembered is read when asked for.
    func vouch(copyOf source: String, at target: String) {
        var info = stat()
        guard lstat(target, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            remember(under: source)
            vouch(tree: RawPath(source), at: RawPath(target))
        case S_IFREG:
            vouch(file: source, at: RawPath(target), info)
        default:
            break
        }
    }

    private func vouch(tree source: RawPath, at target: RawPath) {
        for name in FolderListing.rawNames(in: target) ?? [] {
            let entry = target.appending(name)
            var info = stat()
            guard lstat(entry.cString, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: vouch(tree: source.appending(name), at: entry)
            case S_IFREG: vouch(file: source.appending(name).description, at: entry, info)
            default: break
            }
        }
    }

    private func vouch(file source: String, at target: RawPath, _ info: stat) {
        guard let known = memo.withLock({ $0[source] }) else { return }
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let row = FileHashRow(path: target.description, device: Int64(info.st_dev), inode: Int64(info.st_ino),
                              size: Int64(info.st_size), modifiedAt: modified, hash: known.hash)
        guard row.size == known.size else { return }
        memo.withLock { $0[row.path] = row }
        fresh.withLock { $0.append(row) }
    }

    /// Loads the memo's rows for every path under `folder`.
    private func remember(under folder: String) {
        // Paths under "a/b" sort between "a/b/" and "a/b0" ('0' follows '/').
        let rows = (try? store.pool.read { db in
            try FileHashRow.fetchAll(db, sql: "SELECT * FROM fileHash WHERE path > ? AND path < ?",
                                     arguments: [folder + "/", folder + "0"])
        }) ?? []
        guard !rows.isEmpty else { return }
        memo.withLock { memo in
            for row in rows where memo[row.path] == nil { memo[row.path] = row }
        }
    }

    /// Hashes computed since the last call, for the database's memo.
    func takeFresh() -> [FileHashRow] {
        fresh.withLock { rows in
            defer { rows.removeAll() }
            return rows
        }
    }

    /// Names are taken as bytes, in byte order: a name that is not UTF-8
    /// hashes as what it is (and a UTF-8 one as it always has).
    private func hashTree(_ path: RawPath) -> String? {
        guard let names = FolderListing.rawNames(in: path) else { return nil }
        var hasher = SHA256()
        let ordered = names.map { $0.map { UInt8(bitPattern: $0) } }.sorted { $0.lexicographicallyPrecedes($1) }
        for name in ordered {
            let entry = path.appending(name.map { CChar(bitPattern: $0) })
            var info = stat()
            let hash: String
            if lstat(entry.cString, &info) != 0 {
                hash = "?"
            } else if info.st_mode & S_IFMT == S_IFLNK {
                hash = "link:" + (entry.linkTarget().map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) } ?? "?")
            } else if info.st_mode & S_IFMT == S_IFDIR {
                hash = hashTree(entry) ?? "?"
            } else {
                hash = self.hash(entry, info, lookUp: false) ?? "?"
            }
            hasher.update(data: name + [0] + Array(hash.utf8) + [0])
        }
        return Self.hex(hasher.finalize())
    }

    /// SHA-256 of a file's content, read 1 MiB at a time (`size` is what
    /// `stat` said: a small file gets a small buffer).
    static func digest(of path: RawPath, size: Int = 1 << 20) -> String? {
        // Non-blocking: a FIFO that took the file's place must not hang us.
        let fd = open(path.cString, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var hasher = SHA256()
        let ok = withUnsafeTemporaryAllocation(byteCount: min(1 << 20, max(size, 0) + 4096), alignment: 16) { buffer in
            while true {
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { return false }
                if count == 0 { return true }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer.prefix(count)))
            }
        }
        return ok ? hex(hasher.finalize()) : nil
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
