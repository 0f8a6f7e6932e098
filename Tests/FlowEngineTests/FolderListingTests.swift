import Foundation
import Testing
@testable import FlowEngine

@Suite("Listing a folder")
struct FolderListingTests {
    @Test func namesOfEveryLengthAreReadWholeAndDotsLeftOut() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-listing-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Enough entries to fill readdir's 32 KiB buffer many times over,
        // names of every length up to 255 bytes: a read of d_name as a
        // whole runs past the last entry of a full buffer (AddressSanitizer
        // reports it).
        let names = ["a", "é"] + (0..<1_500).map { String(repeating: "n", count: 1 + $0 % 255) + "\($0)" }
            .map { String($0.prefix(255)) }
        for name in names { #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: nil), "\(name)") }
        #expect(FolderListing.names(in: folder).map(Set.init) == Set(names + ["sub"]))
        #expect(FolderListing.names(in: folder, types: [Int32(DT_DIR)]) == ["sub"])
        #expect(FolderListing.names(in: folder + "/none") == nil)
    }

    @Test func aTreeWhoseNamesAreNotUTF8IsStagedByteForByte() throws {
        let base = FileManager.default.temporaryDirectory.appending(path: "flowlua-latin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        // "café.txt" and a folder "donnée" in Latin-1, a file in it.
        let data = RawPath(base + "/data")
        let file = Array("caf".utf8CString.dropLast()) + [CChar(bitPattern: 0xE9)] + Array(".txt".utf8CString.dropLast())
        let folder = Array("donn".utf8CString.dropLast()) + [CChar(bitPattern: 0xE9), CChar(bitPattern: 0x65)]
        #expect(mkdir(data.appending(folder).cString, 0o755) == 0)
        for path in [data.appending(file), data.appending(folder).appending(file)] {
            let fd = open(path.cString, O_WRONLY | O_CREAT, 0o644)
            #expect(fd >= 0, "\(path)")
            _ = Foundation.write(fd, "latin\n", 6)
            close(fd)
        }
        let run = RunFolder(id: "r", path: base + "/run")
        try FileManager.default.createDirectory(atPath: run.path, withIntermediateDirectories: true)
        try run.stage([Plan.Staged(source: base + "/data", target: "data/")])

        let staged = RawPath(run.path + "/data")
        #expect(Set(FolderListing.rawNames(in: staged) ?? []) == [file, folder])
        #expect(FolderListing.rawNames(in: staged.appending(folder)) == [file])
        var info = stat()
        #expect(stat(staged.appending(folder).appending(file).cString, &info) == 0 && info.st_size == 6)
        #expect(data.appending(file).description.hasSuffix("/data/caf\\xE9.txt"), "messages show the byte")
    }
}
