import Dispatch
import FlowEngine
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a cancel of the run: the first one asks the
/// run to stop (running steps are stopped, everything is marked canceled);
/// a second one stops at once, killing every process group flowlua started.
final class Interrupts {
    private var sources: [any DispatchSourceSignal] = []
    private let first = FirstSignal()

    /// Starts catching the signals; `cancel` runs once, on the first.
    init(cancel: @escaping @Sendable () -> Void) {
        for signo in [SIGINT, SIGTERM] {
            Glibc.signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { [first] in
                if let earlier = first.record(signo) {
                    FileHandle.standardError.write(Data("flowlua: stopping at once\n".utf8))
                    ChildProcess.signalAllGroups(SIGKILL)
                    RemoteMonitor.stopEverythingNow()
                    exit(Self.exitCode(for: earlier))
                }
                let what = signo == SIGINT ? "interrupted" : "terminated"
                FileHandle.standardError.write(Data("flowlua: \(what): canceling the run (again to stop at once)\n".utf8))
                cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal that canceled the run, if one did.
    var cancelSignal: Int32? { first.signal }

    /// 130 for SIGINT, 143 for SIGTERM, as shells report them.
    static func exitCode(for signal: Int32) -> Int32 { 128 + signal }

    /// Stops catching: the signals act as usual again.
    func remove() {
        for source in sources { source.cancel() }
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
    }
}

/// The first signal received.
private final class FirstSignal: Sendable {
    private let seen = Mutex<Int32?>(nil)

    /// Records `signo` if it is the first; returns the earlier one otherwise.
    func record(_ signo: Int32) -> Int32? {
        seen.withLock { seen in
            if let earlier = seen { return earlier }
            seen = signo
            return nil
        }
    }

    var signal: Int32? { seen.withLock { $0 } }
}
