import Foundation
import Testing
@testable import FlowEngine

@Suite("What a step left in its run folder")
struct RunFolderEntryTests {
    /// A run folder reached through a link (as /tmp often is), beside a
    /// folder outside it.
    func layout() throws -> (RunFolder, outside: String) {
        let made = FileManager.default.temporaryDirectory.appending(path: "flowlua-entries-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: made + "/real/out/deep", withIntermediateDirectories: true)
        // Resolved, as the entries name what is outside.
        let base = try #require(RunFolder.resolve(made))
        let real = base + "/real"
        try FileManager.default.createDirectory(atPath: base + "/elsewhere", withIntermediateDirectories: true)
        symlink(real, base + "/run")
        let folder = RunFolder(id: "r", path: base + "/run")
        for file in ["out/a", "out/deep/b", "../elsewhere/secret"] {
            #expect(FileManager.default.createFile(atPath: real + "/" + file, contents: Data("x".utf8)))
        }
        symlink("a", real + "/out/near")
        symlink(base + "/elsewhere/secret", real + "/out/far")
        symlink(base + "/elsewhere", real + "/away")
        symlink("nothing", real + "/out/dangling")
        mkfifo(real + "/out/pipe", 0o600)
        return (folder, base + "/elsewhere")
    }

    @Test func manyEntriesInOneFolderAreSeenAsOneAtATimeWould() throws {
        let (folder, outside) = try layout()
        defer { try? FileManager.default.removeItem(atPath: outside + "/..") }
        let expected: [(String, RunFolder.Entry)] = [
            ("out/a", .file), ("out/deep/b", .file), ("out/deep", .folder), ("out/", .folder), ("out", .folder),
            ("out/near", .file), ("out/far", .outside(outside + "/secret")),
            ("away/secret", .outside(outside + "/secret")), ("away", .outside(outside)),
            ("out/dangling", .missing), ("out/none", .missing), ("none/a", .missing),
            ("out/pipe", .special("a FIFO")), ("out/deep/../a", .file), ("out/.", .folder),
        ]
        var entries = RunFolder.Entries(of: folder)
        for (relative, entry) in expected {
            #expect(entries.entry(relative) == entry, "\(relative)")
            #expect(folder.entry(relative) == entry, "\(relative), alone")
        }
    }

    @Test func aFolderReplacedByALinkBetweenChecksIsSeenAnew() throws {
        let (folder, outside) = try layout()
        defer { try? FileManager.default.removeItem(atPath: outside + "/..") }
        var entries = RunFolder.Entries(of: folder)
        #expect(entries.entry("out/a") == .file)
        // A new check (each attempt makes one) resolves the folders again.
        let real = (outside as NSString).deletingLastPathComponent + "/real"
        try FileManager.default.removeItem(atPath: real + "/out")
        symlink(outside, real + "/out")
        #expect(FileManager.default.createFile(atPath: outside + "/a", contents: nil))
        var again = RunFolder.Entries(of: folder)
        #expect(again.entry("out/a") == .outside(outside + "/a"))
    }
}
