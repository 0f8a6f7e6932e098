import Foundation
import GRDB
import Testing

@testable import FlowStore

/// Content hashes of files and trees: what cache keys and `--resume` rest
/// on. A tree's hash is fixed by its names and contents alone, and a
/// file's hash is read again only when its stat changes.
@Suite("Content hashes")
struct ContentHasherTests {
    /// a.txt, b/c.txt, b/d/e.txt, an empty f, and a link g -> a.txt.
    func tree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appending(path: "flowlua-tree-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root.appending(path: "b/d"), withIntermediateDirectories: true)
        try "alpha\n".write(to: root.appending(path: "a.txt"), atomically: false, encoding: .utf8)
        try "gamma\n".write(to: root.appending(path: "b/c.txt"), atomically: false, encoding: .utf8)
        try "epsilon\n".write(to: root.appending(path: "b/d/e.txt"), atomically: false, encoding: .utf8)
        try Data().write(to: root.appending(path: "f"))
        try FileManager.default.createSymbolicLink(atPath: root.appending(path: "g").path, withDestinationPath: "a.txt")
        return root
    }

    /// What every earlier flowlua computed for `tree()`: cache entries of
    /// older runs stay valid.
    static let treeHash = "a2e9fc21ce6dceaf92c6da97cd43b313c6cc90116620a559d647f0c5b577717e"
    static let alphaHash = "b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060"

    @Test func aTreeHashesByItsNamesAndContentsAsBefore() throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        let hasher = ContentHasher(store: try temporaryStore())
        #expect(hasher.hash(root.appending(path: "a.txt").path) == Self.alphaHash)
        #expect(hasher.hash(root.path) == Self.treeHash)
        #expect(hasher.hash(root.appending(path: "missing").path) == nil)
    }

    @Test func aFileWhoseNameIsNotUTF8CountsInItsFoldersHash() throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        // "café.txt" in Latin-1, as an old dataset may name it.
        let path = Array(root.path.utf8CString.dropLast()) + Array("/caf".utf8CString.dropLast())
            + [CChar(bitPattern: 0xE9)] + Array(".txt".utf8CString)
        func write(_ text: String) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            #expect(fd >= 0)
            _ = text.withCString { Foundation.write(fd, $0, strlen($0)) }
            close(fd)
        }
        write("one\n")
        let first = ContentHasher(store: try temporaryStore()).hash(root.path)
        write("two, longer\n")
        let second = ContentHasher(store: try temporaryStore()).hash(root.path)
        #expect(first != nil && first != Self.treeHash, "the file is part of the tree")
        #expect(first != second, "its content is read, not taken for a name that cannot be opened")
    }

    @Test func aChangeDeepInATreeChangesItsHash() throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try temporaryStore()
        let hasher = ContentHasher(store: store)
        let before = try #require(hasher.hash(root.path))
        try "EPSILON\n".write(to: root.appending(path: "b/d/e.txt"), atomically: true, encoding: .utf8)
        #expect(hasher.hash(root.path) != before, "same size, new content and inode")
        try "epsilon\n".write(to: root.appending(path: "b/d/e.txt"), atomically: true, encoding: .utf8)
        #expect(hasher.hash(root.path) == before)
    }

    /// The memo a run leaves in the database spares the next run reading
    /// files nobody touched: a file rewritten in place with its old size and
    /// time is taken as unchanged (as make and Snakemake take it).
    @Test func aLaterRunTakesUntouchedFilesFromTheDatabaseMemo() throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try temporaryStore()
        let first = ContentHasher(store: store)
        let before = try #require(first.hash(root.path))
        let rows = first.takeFresh()
        #expect(rows.count == 4, "a.txt, c.txt, e.txt and f: the link is not read")
        try store.write { db in for row in rows { try row.save(db) } }

        let file = root.appending(path: "b/d/e.txt").path
        var info = stat()
        #expect(stat(file, &info) == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.write(contentsOf: Data("EPSILON\n".utf8))
        try handle.close()
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)

        let later = ContentHasher(store: store)
        #expect(later.hash(root.path) == before, "the memo, not the file, gave e.txt's hash")
        #expect(later.takeFresh().isEmpty, "nothing was read")
        #expect(ContentHasher(store: try temporaryStore()).hash(root.path) != before, "with no memo the change is seen")
    }

    @Test func aCopyVouchedForTakesItsOriginalsHashesWithoutBeingRead() throws {
        let root = try tree()
        let copy = root.path + "-copy"
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(atPath: copy) }
        let hasher = ContentHasher(store: try temporaryStore())
        #expect(hasher.hash(root.path) == Self.treeHash)
        try FileManager.default.copyItem(atPath: root.path, toPath: copy)
        // Same size, other bytes: were the copy read, its hash would differ.
        try "ALPHA\n".write(toFile: copy + "/a.txt", atomically: false, encoding: .utf8)
        try "EPSILON\n".write(toFile: copy + "/b/d/e.txt", atomically: false, encoding: .utf8)
        hasher.vouch(copyOf: root.path, at: copy)
        #expect(hasher.hash(copy) == Self.treeHash, "the copy's files took their originals' hashes")
        #expect(Set(hasher.takeFresh().map(\.path)).isSuperset(of: [copy + "/a.txt", copy + "/b/d/e.txt"]),
                "and they are kept for the database's memo")

        // A file whose size is not its original's is read after all.
        try "gamma, longer\n".write(toFile: copy + "/b/c.txt", atomically: false, encoding: .utf8)
        let later = ContentHasher(store: try temporaryStore())
        #expect(later.hash(root.path) == Self.treeHash)
        later.vouch(copyOf: root.path, at: copy)
        #expect(later.hash(copy) != Self.treeHash)
    }
}
