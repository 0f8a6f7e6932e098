import CLineEditor
import FlowEngine
import Foundation
import Synchronization

/// What Ctrl-C does at the console, by what it is doing: at the prompt it
/// clears the line (the read it ends says so), during Lua code it
/// interrupts it, during a run it cancels the run, and a second one during
/// the same run kills every process the run started.
final class ConsoleInterrupts: Sendable {
    enum Phase: Sendable {
        case prompt
        case evaluating(StopHandle)
        case running(RunDriver)
    }

    private struct State {
        var phase = Phase.prompt
        var canceled = false
    }

    private let state = Mutex(State())

    /// Catches SIGINT for good (the console's own handler, which ends a
    /// blocking read), and reacts to each on a thread of its own.
    init() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            flowlua_edit_catch_interrupts(-1)
            return
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)  // written from a signal handler
        flowlua_edit_catch_interrupts(writeEnd)
        let thread = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                interrupted()
            }
        }
        thread.name = "flowlua.console.interrupts"
        thread.start()
    }

    /// Whether Ctrl-C was pressed since the last call: a read that came
    /// back empty was ended by it, not by the end of the input.
    func takeInterrupt() -> Bool { flowlua_edit_take_interrupts() > 0 }

    /// Runs `body` with Ctrl-C doing what `phase` calls for, then back to
    /// what it does at the prompt.
    func during<T>(_ phase: Phase, _ body: () async throws -> T) async rethrows -> T {
        state.withLock { $0 = State(phase: phase) }
        defer { state.withLock { $0 = State() } }
        return try await body()
    }

    private func interrupted() {
        let action: (() -> Void)? = state.withLock { state in
            switch state.phase {
            case .prompt:
                return nil
            case .evaluating(let stop):
                return { stop.stop() }
            case .running(let driver):
                if state.canceled {
                    return {
                        ChildProcess.signalAllGroups(SIGKILL)
                        RemoteMonitor.stopEverythingNow()
                    }
                }
                state.canceled = true
                return { driver.cancel() }
            }
        }
        action?()
    }
}
