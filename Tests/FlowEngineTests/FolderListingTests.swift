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
}
