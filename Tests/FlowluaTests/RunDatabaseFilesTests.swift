import Foundation
import Testing

/// The files of the run database are the user's as any other: made under
/// their umask (a fuzz campaign reported 0644 under any umask; not seen
/// with this SQLite, pinned here), the space reserve private to them.
@Suite("The run database's files")
struct RunDatabaseFilesTests {
    @Test(arguments: [("077", 0o600), ("027", 0o640), ("022", 0o644)] as [(String, Int)])
    func theDatabaseAndItsFilesFollowTheUmask(_ umask: String, _ mode: Int) async throws {
        let folder = try workflowFolder("""
            workflow { name = 'm', steps = { container "a" { commands = { "true" } } } }
            """, name: "umask\(umask)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await execute("/bin/sh", ["-c", "umask \(umask); exec \"$0\" run workflow.lua -q", flowluaBinary],
                                        in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let database = folder.appending(path: ".flowlua/flowlua.db").path
        for file in [database, database + "-wal", database + "-shm", database + ".lock", database + ".reserve"]
        where FileManager.default.fileExists(atPath: file) {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let actual = (attributes[.posixPermissions] as? Int ?? -1) & 0o777
            let expected = file.hasSuffix(".reserve") ? 0o600 : mode
            #expect(actual == expected, "\(file): \(String(actual, radix: 8)), expected \(String(expected, radix: 8))")
        }
        #expect(FileManager.default.fileExists(atPath: database))
    }
}
