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
        defer { if file >= 0 { close(file) } }
        #expect(flowlua_drain(ends[0], &file, log) == 2, "a mebibyte read, and no look for more")
        #expect(lseek(file, 0, SEEK_END) == 1 << 20)
        #expect(chunk.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == chunk.count)
        #expect(flowlua_drain(ends[0], &file, log) == 1, "the rest, then empty for now")
        #expect(lseek(file, 0, SEEK_END) == 17 << 16)
        close(ends[1])
        ends[1] = -1
        // A process another test forks at this moment holds a copy of the
        // write end until it execs: the end comes once every copy is closed.
        var drained = flowlua_drain(ends[0], &file, log)
        for _ in 0..<100 where drained == 1 {
            usleep(10_000)
            drained = flowlua_drain(ends[0], &file, log)
        }
        #expect(drained == 0, "end of file once the write end is closed")
    }
}
