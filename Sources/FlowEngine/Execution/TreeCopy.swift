import CProcessShims
import Foundation

/// Copies files and folders into a run folder as contents, never as links
/// that lead out of it: a step writing to a staged input must not write
/// through to the original, and a reused output must not point elsewhere.
///
/// Nothing here opens what is not a regular file: a FIFO, a socket or a
/// device is an error naming it, not an open that blocks for ever.
enum TreeCopy {
    /// What to do with a symbolic link met on the way.
    enum Links {
        /// Copy what it points to (staging inputs: the step gets a copy).
        case follow
        /// Keep it as a link if it resolves inside `root`; one that leads
        /// out is an error (reused outputs).
        case keepInside(root: String)
    }

    struct Failure: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): \(reason)" }
    }

    /// Copies `source` to `target`, which must not exist.
    static func copy(_ source: String, to target: String, links: Links) throws(Failure) {
        var folders: Set<FileID> = []
        try copy(RawPath(source), to: RawPath(target), links: links, folders: &folders)
    }

    private struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private static func copy(_ source: RawPath, to target: RawPath, links: Links,
                             folders: inout Set<FileID>) throws(Failure) {
        var info = stat()
        guard lstat(source.cString, &info) == 0 else { throw failure(source) }
        if info.st_mode & S_IFMT == S_IFLNK {
            switch links {
            case .follow:
                guard stat(source.cString, &info) == 0 else { throw Failure(path: "\(source)", reason: "a link to nothing") }
            case .keepInside(let root):
                guard let resolved = RunFolder.resolve(source), RunFolder.isInside(resolved, root: root) else {
                    throw Failure(path: "\(source)", reason: "a link that leads out of its run folder")
                }
                // A relative link is kept; an absolute one would point into
                // the other run folder, so what it points to is copied.
                if let destination = source.linkTarget(), destination.first != CChar(UInt8(ascii: "/")) {
                    guard symlink(destination + [0], target.cString) == 0 else { throw failure(target) }
                    return
                }
                guard stat(source.cString, &info) == 0 else { throw failure(source) }
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            try copyFile(source, to: target, mode: info.st_mode & 0o7777)
        case S_IFDIR:
            let id = FileID(info)
            guard folders.insert(id).inserted else {
                throw Failure(path: "\(source)", reason: "a link to a folder that contains it")
            }
            defer { folders.remove(id) }
            guard mkdir(target.cString, (info.st_mode & 0o7777) | 0o700) == 0 else { throw failure(target) }
            guard let names = FolderListing.rawNames(in: source) else { throw failure(source) }
            for name in names {
                try copy(source.appending(name), to: target.appending(name), links: links, folders: &folders)
            }
        default:
            throw Failure(path: "\(source)", reason: "\(RunFolder.kind(of: info.st_mode)), not a file or folder")
        }
    }

    /// The contents of a regular file, shared with the source where the
    /// file system can (a reflink), else copied in the kernel.
    private static func copyFile(_ source: RawPath, to target: RawPath, mode: mode_t) throws(Failure) {
        // Non-blocking, in case a FIFO took the file's place since it was looked at.
        let input = open(source.cString, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard input >= 0 else { throw failure(source) }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw Failure(path: "\(source)", reason: "not a regular file")
        }
        let output = open(target.cString, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode | 0o200)
        guard output >= 0 else { throw failure(target) }
        defer { close(output) }
        if flowlua_clone_file(input, output) != 0 {
            var left = Int(info.st_size)
            while left > 0 {
                let copied = Int(flowlua_copy_range(input, output, Int64(left)))
                if copied < 0 && errno == EINTR { continue }
                if copied < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL) {
                    try copyByReading(input, output, source: source, target: target)
                    break
                }
                guard copied > 0 else {
                    if copied == 0 { break }  // the file shrank meanwhile
                    throw failure(target)
                }
                left -= copied
            }
        }
        var times = [info.st_atim, info.st_mtim]
        _ = futimens(output, &times)
        if mode & 0o200 == 0 { _ = fchmod(output, mode) }
    }

    private static func copyByReading(_ input: Int32, _ output: Int32, source: RawPath, target: RawPath) throws(Failure) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw failure(source) }
            if count == 0 { return }
            var done = 0
            while done < count {
                let written = buffer.withUnsafeBytes { write(output, $0.baseAddress! + done, count - done) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw failure(target) }
                done += written
            }
        }
    }

    private static func failure(_ path: RawPath) -> Failure {
        Failure(path: "\(path)", reason: String(cString: strerror(errno)))
    }
}
