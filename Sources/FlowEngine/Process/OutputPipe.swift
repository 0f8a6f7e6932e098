import CProcessShims
import Foundation
import Synchronization

/// A pipe whose contents go to a log file, created when the first byte
/// arrives.
///
/// A step's processes write to pipes rather than to files opened for them:
/// a step that prints nothing leaves no empty files and allocates no inode.
/// Creating two files was a fifth of a no-op step's cost, and far more on an
/// ext4 volume where many files were just deleted. The monitor that reaps
/// the step's processes copies what arrives as it arrives, so the log still
/// grows while the step runs.
public final class OutputPipe: Sendable {
    /// The end a child writes to; closed by `finish()`.
    public let writeEnd: Int32
    /// The log file it fills.
    public let path: String
    private let readEnd: Int32
    private let monitor: ProcessMonitor
    private let state: Mutex<State>

    private struct State {
        var file: Int32 = -1
        /// Where this pipe's output begins in the file; nil until some came.
        var start: Int64?
        var token: UInt64?
        var failure: Int32?
        /// The end of what could not be written to the file (a full disk):
        /// the reason a step failed is often there.
        var lost = [CChar](repeating: 0, count: OutputPipe.lostSize)
        var kept = 0
        /// What the file may still take (-1: no limit), and what came past it.
        var room: Int64
        var dropped: Int64 = 0
    }

    /// How much of the output that could not be written is kept.
    static let lostSize = OutputLimit.tail

    /// The most this pipe writes to its file, nil for no limit.
    public let limit: Int64?

    /// A pipe into `path` that writes at most `limit` bytes there, watched
    /// by `monitor`.
    public init(into path: String, monitor: ProcessMonitor, limit: Int64? = OutputLimit.log) throws(POSIXError) {
        var ends: [Int32] = [-1, -1]
        guard flowlua_pipe(&ends) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        readEnd = ends[0]
        writeEnd = ends[1]
        self.path = path
        self.monitor = monitor
        self.limit = limit
        state = Mutex(State(room: limit ?? -1))
        do {
            let token = try monitor.watch(self, readEnd)
            state.withLock { $0.token = token }
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
    }

    /// Copies what the pipe holds to the file, for the monitor. Output that
    /// cannot be written (a full disk) is still read, and dropped, so that
    /// the step never blocks on a full pipe; the failure is reported by
    /// `finish()`. At end of file the pipe is no longer watched.
    func drain() {
        state.withLock { state in
            guard let token = state.token else { return }
            switch Self.drain(readEnd, into: &state, path: path) {
            case 0:
                monitor.unwatch(token, readEnd)
                state.token = nil
                close(readEnd)
            case -1:
                state.failure = state.failure ?? errno
            default:
                break  // more, or not yet: the watch is level-triggered and fires again
            }
        }
    }

    private static func drain(_ pipe: Int32, into state: inout State, path: String) -> Int32 {
        var start: Int64 = 0
        var kept = state.kept, room = state.room, dropped = state.dropped
        let result = state.lost.withUnsafeMutableBufferPointer { lost in
            flowlua_drain(pipe, &state.file, path, &start, lost.baseAddress, lost.count, &kept, &room, &dropped)
        }
        (state.kept, state.room, state.dropped) = (kept, room, dropped)
        if state.file >= 0, state.start == nil { state.start = start }
        return result
    }

    /// What came through the pipe, at most its last `keep` bytes: nothing,
    /// without touching the file system, when nothing did. Output the log
    /// could not take comes last, from memory.
    public func written(keep: Int) -> String {
        let (start, lost) = state.withLock { state in
            (state.start, state.lost.prefix(state.kept).map { UInt8(bitPattern: $0) })
        }
        let logged = start.map { Self.tail(of: path, from: off_t($0), keep: keep) } ?? ""
        return lost.isEmpty ? logged : logged + String(decoding: lost, as: UTF8.self)
    }

    /// What was written to the file at `path` past offset `from`, at most
    /// its last `keep` bytes.
    static func tail(of path: String, from: off_t, keep: Int) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > from else { return "" }
        let offset = max(from, info.st_size - off_t(keep))
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size - offset))
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
    }

    /// The attempt is over: closes the write end, copies what is left, and
    /// stops watching. Output a process outside the step's group writes
    /// later is lost. Returns the errno of a failed write to the log, if any.
    @discardableResult
    public func finish() -> Int32? {
        close(writeEnd)
        return state.withLock { state in
            if let token = state.token {
                // What is in the pipe now, not what a stray writer adds forever.
                var drained: Int32, rounds = 0
                repeat {
                    drained = Self.drain(readEnd, into: &state, path: path)
                    rounds += 1
                } while drained == 2 && rounds < 64
                if drained < 0 { state.failure = state.failure ?? errno }
                monitor.unwatch(token, readEnd)
                state.token = nil
                close(readEnd)
            }
            if state.dropped > 0, let limit, state.file >= 0, state.failure == nil {
                let note = OutputLimit.note(dropped: state.dropped - Int64(state.kept), limit: limit, kept: state.kept)
                if Self.append(Array(note.utf8), to: state.file),
                   state.lost.prefix(state.kept).withUnsafeBytes({ Self.append(Array($0), to: state.file) }) {
                    state.kept = 0
                } else {
                    state.failure = errno
                }
            }
            if state.file >= 0 {
                close(state.file)
                state.file = -1
            }
            return state.failure
        }
    }

    private static func append(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
