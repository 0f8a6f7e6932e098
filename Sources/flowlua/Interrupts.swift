import Dispatch
import FlowEngine
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a cancel of the run: the first one asks the
/// run to stop (running steps are stopped, everything is marked canceled);
/// a second one stops at once, killing every process group flowlua started.
/// A run that has not ended `deadline` after the first is stopped at once
/// as if by a second: nothing (a callback, a hung file system) keeps
/// flowlua alive after it was told to end.
final class Interrupts {
    private var sources: [any DispatchSourceSignal] = []
    private let first = FirstSignal()
    private let watchdog = Watchdog()

    /// How long after `--grace` a canceled run may take to record its end
    /// and run its `on_cancel` callbacks.
    static let margin: Duration = .seconds(10)

    /// Starts catching the signals; `cancel` runs once, on the first.
    init(deadline: Duration, cancel: @escaping @Sendable () -> Void) {
        for signo in [SIGINT, SIGTERM] {
            Glibc.signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { [first, watchdog] in
                if let earlier = first.record(signo) {
                    Self.stopAtOnce(exitCode: Self.exitCode(for: earlier), "flowlua: stopping at once\n")
                }
                let what = signo == SIGINT ? "interrupted" : "terminated"
                FileHandle.standardError.write(Data("flowlua: \(what): canceling the run (again to stop at once)\n".utf8))
                let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
                watchdog.arm(after: seconds) {
                    Self.stopAtOnce(exitCode: Self.exitCode(for: signo),
                                    "flowlua: the run did not end \(Int(seconds)) s after the signal; stopping at once\n")
                }
                cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Kills every process flowlua started and exits.
    private static func stopAtOnce(exitCode: Int32, _ message: String) -> Never {
        FileHandle.standardError.write(Data(message.utf8))
        ChildProcess.signalAllGroups(SIGKILL)
        RemoteMonitor.stopEverythingNow()
        exit(exitCode)
    }

    /// The signal that canceled the run, if one did.
    var cancelSignal: Int32? { first.signal }

    /// 130 for SIGINT, 143 for SIGTERM, as shells report them.
    static func exitCode(for signal: Int32) -> Int32 { 128 + signal }

    /// Stops catching: the signals act as usual again.
    func remove() {
        watchdog.disarm()
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

/// A deadline that stops a canceled run that does not end.
private final class Watchdog: Sendable {
    private let disarmed = Atomic<Bool>(false)

    func arm(after seconds: Double, _ body: @escaping @Sendable () -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            if !disarmed.load(ordering: .acquiring) { body() }
        }
    }

    func disarm() { disarmed.store(true, ordering: .releasing) }
}
