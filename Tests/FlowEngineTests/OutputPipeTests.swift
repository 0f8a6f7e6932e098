import CProcessShims
import FlowEngine
import Foundation
import Testing

@Suite("Output pipes into log files")
struct OutputPipeTests {
    @Test func oneDrainMovesAtMostAMebibyteSoAChattyStepCannotHoldTheThread() throws {
        var ends: [Int32] = [-1, -1]
        #expect(flowlua_pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        // A full 1 MiB pipe (F_SETPIPE_SZ is 1031 on Linux; Glibc does not export it).
        let capacity = fcntl(ends[1], 1031, 1 << 20)
        guard capacity >= 1 << 20 else {
            Issue.record("cannot make a 1 MiB pipe (fcntl returned \(capacity))")
            return
        }
        let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
        for _ in 0..<16 { #expect(chunk.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == chunk.count) }
        let log = FileManager.default.temporaryDirectory.appending(path: "flowlua-drain-\(UUID().uuidString.prefix(8))").path
        defer { unlink(log) }
        var file: Int32 = -1
        var start: Int64 = -1
        var kept = 0
        var room: Int64 = -1, dropped: Int64 = 0
        defer { if file >= 0 { close(file) } }
        #expect(flowlua_drain(ends[0], &file, log, &start, nil, 0, &kept, &room, &dropped) == 2, "a mebibyte read, and no look for more")
        #expect(lseek(file, 0, SEEK_END) == 1 << 20)
        #expect(start == 0, "the file was new: this output begins at its start")
        #expect(chunk.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == chunk.count)
        #expect(flowlua_drain(ends[0], &file, log, &start, nil, 0, &kept, &room, &dropped) == 1, "the rest, then empty for now")
        #expect(lseek(file, 0, SEEK_END) == 17 << 16)
        close(ends[1])
        ends[1] = -1
        // A process another test forks at this moment holds a copy of the
        // write end until it execs: the end comes once every copy is closed.
        var drained = flowlua_drain(ends[0], &file, log, &start, nil, 0, &kept, &room, &dropped)
        for _ in 0..<100 where drained == 1 {
            usleep(10_000)
            drained = flowlua_drain(ends[0], &file, log, &start, nil, 0, &kept, &room, &dropped)
        }
        #expect(drained == 0, "end of file once the write end is closed")
    }

    @Test func outputTheLogCannotTakeIsKeptInMemoryItsLastBytesInOrder() throws {
        var ends: [Int32] = [-1, -1]
        #expect(flowlua_pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        var lost = [CChar](repeating: 0, count: 16)
        var kept = 0, file: Int32 = -1, start: Int64 = -1
        var room: Int64 = -1, dropped: Int64 = 0
        let unwritable = "/nonexistent-\(UUID().uuidString)/x.log"
        for text in ["0123456789", "abcdefghij", "KLM"] {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == bytes.count)
            #expect(flowlua_drain(ends[0], &file, unwritable, &start, &lost, lost.count, &kept, &room, &dropped) == -1)
            #expect(errno == ENOENT)
        }
        #expect(file == -1)
        #expect(String(decoding: lost.prefix(kept).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "789abcdefghijKLM")
    }

    @Test func aLogPastItsLimitKeepsItsStartANoteAndItsEnd() throws {
        let log = FileManager.default.temporaryDirectory.appending(path: "flowlua-limit-\(UUID().uuidString.prefix(8))").path
        defer { unlink(log) }
        let pipe = try OutputPipe(into: log, monitor: .shared, limit: 1000)
        // 100,000 numbered lines of 8 bytes, in writes of 8 KiB: more than a pipe holds, drained as it fills.
        let lines = (0..<100_000).map { String(String($0 + 10_000_000).dropFirst()) + "\n" }.joined()
        let bytes = Array(lines.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress! + done, min(8192, $0.count - done)) }
            #expect(n > 0)
            done += max(n, 0)
        }
        #expect(pipe.finish() == nil)
        let written = try String(contentsOfFile: log, encoding: .utf8)
        let note = "\n[flowlua: \(800_000 - 1000 - 8192) bytes of output past the 1000B limit were dropped; its last 8K follow]\n"
        #expect(written == String(lines.prefix(1000)) + note + String(lines.suffix(8192)))
        #expect(pipe.written(keep: 16) == "0099998\n0099999\n", "the end of the output, as the log has it")
    }

    @Test func aPipeReadsBackOnlyWhatCameThroughItAndLeavesNoFileForNothing() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "flowlua-pipes-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let silent = folder.appending(path: "silent.log").path
        let quiet = try OutputPipe(into: silent, monitor: .shared)
        #expect(quiet.finish() == nil)
        #expect(quiet.written(keep: 100) == "")
        #expect(!FileManager.default.fileExists(atPath: silent), "no output, no file")

        // A log an earlier attempt wrote to: this pipe's output follows it, and is all it reads back.
        let retried = folder.appending(path: "retried.log").path
        try "attempt 1\n--- flowlua: attempt 2 of 2 ---\n".write(toFile: retried, atomically: false, encoding: .utf8)
        let pipe = try OutputPipe(into: retried, monitor: .shared)
        let text = Array("attempt 2 says hello\n".utf8)
        #expect(text.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) } == text.count)
        #expect(pipe.finish() == nil)
        #expect(pipe.written(keep: 100) == "attempt 2 says hello\n")
        #expect(pipe.written(keep: 6) == "hello\n", "the tail, at most keep bytes")
        #expect(try String(contentsOfFile: retried, encoding: .utf8)
            == "attempt 1\n--- flowlua: attempt 2 of 2 ---\nattempt 2 says hello\n")
    }
}
