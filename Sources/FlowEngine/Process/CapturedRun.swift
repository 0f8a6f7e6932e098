import CProcessShims
import Foundation

/// A process run to its end by a synchronous caller, with its output.
public struct CapturedRun: Sendable {
    public var termination: Termination
    public var stdout: String
    public var stderr: String
    /// Whether it was stopped because the caller asked.
    public var stopped: Bool
}

extension ChildProcess {
    /// Runs `spec` on the calling thread until it ends, capturing stdout and
    /// stderr (in memory files, so neither can fill a pipe and stall it):
    /// of each, the first `OutputLimit.captured` bytes and the last
    /// `OutputLimit.tail`, with a line saying what was dropped between.
    /// When `shouldStop` turns true (it is polled every 20 ms) the process
    /// group is stopped: SIGTERM, then SIGKILL after `grace`.
    public static func runCapturing(_ spec: ProcessSpec, grace: Duration,
                                    shouldStop: () -> Bool) throws(SpawnError) -> CapturedRun {
        let out = flowlua_memfd("stdout"), err = flowlua_memfd("stderr")
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw SpawnError(executable: spec.executable, code: errno) }
        var spec = spec
        spec.standardOutput = out
        spec.standardError = err
        let child = try ChildProcess.spawn(spec, monitor: .shared)
        var stopped = false
        var termination: Termination
        while true {
            if let ended = child.wait(timeout: .milliseconds(20)) {
                termination = ended
                break
            }
            for fd in [out, err] { _ = flowlua_memfd_bound(fd, OutputLimit.captured, Int64(OutputLimit.tail)) }
            if !stopped && shouldStop() {
                stopped = true
                child.terminate(grace: grace)
            }
        }
        child.sweepBlocking(grace: stopped ? .zero : grace)
        return CapturedRun(termination: termination, stdout: contents(of: out), stderr: contents(of: err),
                           stopped: stopped)
    }

    static func contents(of fd: Int32, limit: Int64 = OutputLimit.captured) -> String {
        let size = Int64(lseek(fd, 0, SEEK_END))
        guard size > 0 else { return "" }
        let tail = Int64(OutputLimit.tail)
        guard size > limit + tail else { return String(decoding: read(fd, from: 0, count: size), as: UTF8.self) }
        let dropped = size - limit - tail
        return String(decoding: read(fd, from: 0, count: limit), as: UTF8.self)
            + OutputLimit.note(dropped: dropped, limit: limit, kept: Int(tail))
            + String(decoding: read(fd, from: size - tail, count: tail), as: UTF8.self)
    }

    private static func read(_ fd: Int32, from offset: Int64, count: Int64) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(count))
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        return Array(buffer.prefix(max(0, n)))
    }
}

extension ChildProcess {
    /// Runs `spec` to its end and returns what it printed, for awaiting
    /// callers (a `docker image inspect`, say). Not stoppable: for short
    /// commands only.
    nonisolated(nonsending) public static func output(of spec: ProcessSpec,
                                                      monitor: ProcessMonitor = .shared) async throws(SpawnError) -> CapturedRun {
        let out = flowlua_memfd("stdout"), err = flowlua_memfd("stderr")
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw SpawnError(executable: spec.executable, code: errno) }
        var spec = spec
        spec.standardOutput = out
        spec.standardError = err
        let child = try ChildProcess.spawn(spec, monitor: monitor)
        let termination = await child.termination()
        await child.sweep(grace: .seconds(1))
        return CapturedRun(termination: termination, stdout: contents(of: out), stderr: contents(of: err), stopped: false)
    }
}
