import Foundation
import Synchronization

/// Follows the active jobs of one remote engine: every `interval` it asks
/// the engine for the states of all of them in one call (never one call a
/// job), and resumes the waiter of each job that reached an end state.
/// Stops asked for between two polls go out together, in one call.
///
/// One per engine and interval in a process (`shared(_:interval:)`): every
/// run of the process, and every step of a run, shares its polls.
public final class RemoteMonitor: Sendable {
    public let engine: any RemoteEngine
    public let interval: Duration

    private struct State {
        var waiters: [String: [CheckedContinuation<RemoteState, Never>]] = [:]
        /// Polls in a row that did not list a job.
        var missing: [String: Int] = [:]
        var stopping: Set<String> = []
        var polling = false
        var failures = 0
    }

    private let state = Mutex(State())

    /// Polls in a row a job may be missing from before it counts as gone
    /// (a job just submitted may not be listed yet).
    static let missingLimit = 3
    /// Failed polls in a row before every waiter is told the engine is gone.
    static let failureLimit = 30

    public init(engine: any RemoteEngine, interval: Duration) {
        self.engine = engine
        self.interval = interval
    }

    private static let monitors = Mutex<[String: RemoteMonitor]>([:])

    /// The process's monitor for `engine` (by its type) polling every `interval`.
    public static func shared(_ engine: any RemoteEngine, interval: Duration) -> RemoteMonitor {
        let key = "\(type(of: engine))@\(interval)"
        return monitors.withLock { monitors in
            if let monitor = monitors[key] { return monitor }
            let monitor = RemoteMonitor(engine: engine, interval: interval)
            monitors[key] = monitor
            return monitor
        }
    }

    /// Stops every job any monitor follows, blocking: for a process about to
    /// exit at once (a second Ctrl-C), which leaves no job behind either.
    public static func stopEverythingNow() {
        for monitor in monitors.withLock({ Array($0.values) }) {
            let ids = monitor.state.withLock { Array(Set($0.waiters.keys).union($0.stopping)) }
            if !ids.isEmpty { monitor.engine.stopNow(ids) }
        }
    }

    /// Waits until job `id` reaches an end state, and returns it.
    public func wait(for id: String) async -> RemoteState {
        await withCheckedContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiters[id, default: []].append(continuation)
                defer { state.polling = true }
                return !state.polling
            }
            if start { Task.detached { await self.poll() } }
        }
    }

    /// Asks for job `id` to be stopped, with the next poll.
    public func stop(_ id: String) {
        _ = state.withLock { $0.stopping.insert(id) }
    }

    private func poll() async {
        while true {
            try? await Task.sleep(for: interval)
            let (ids, stops) = state.withLock { state -> ([String], [String]) in
                let stops = Array(state.stopping)
                state.stopping.removeAll()
                if state.waiters.isEmpty && stops.isEmpty { state.polling = false }
                return (Array(state.waiters.keys), stops)
            }
            if !stops.isEmpty { await engine.stop(stops) }
            if ids.isEmpty {
                if stops.isEmpty { return }
                continue
            }
            let found: [String: RemoteState]
            do {
                found = try await engine.poll(ids)
            } catch {
                let gone = state.withLock { state -> [(String, [CheckedContinuation<RemoteState, Never>])] in
                    state.failures += 1
                    guard state.failures >= Self.failureLimit else { return [] }
                    // Given up on: told so, and stopped if the engine comes back.
                    let waiters = Array(state.waiters)
                    state.failures = 0
                    state.waiters.removeAll()
                    state.missing.removeAll()
                    state.stopping.formUnion(waiters.map(\.0))
                    return waiters
                }
                for (_, waiters) in gone {
                    for waiter in waiters { waiter.resume(returning: .other(state: "UNKNOWN", reason: error.description)) }
                }
                continue
            }
            // Earlier jobs first: a job that failed is reported before the
            // jobs that waited for it and were canceled with it.
            let ended = state.withLock { state -> [(String, RemoteState, [CheckedContinuation<RemoteState, Never>])] in
                state.failures = 0
                var ended: [(String, RemoteState, [CheckedContinuation<RemoteState, Never>])] = []
                for id in ids {
                    var end: RemoteState?
                    if let current = found[id] {
                        state.missing[id] = nil
                        if !current.isActive { end = current }
                    } else {
                        state.missing[id, default: 0] += 1
                        if state.missing[id, default: 0] >= Self.missingLimit { end = .vanished }
                    }
                    if let end, let waiters = state.waiters.removeValue(forKey: id) {
                        state.missing[id] = nil
                        ended.append((id, end, waiters))
                    }
                }
                return ended.sorted { Self.order($0.0, $1.0) }
            }
            for (_, end, waiters) in ended {
                for waiter in waiters { waiter.resume(returning: end) }
            }
        }
    }

    /// Numeric ids in numeric order, others after them.
    private static func order(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case let (x?, y?): x < y
        case (.some, nil): true
        case (nil, .some): false
        default: a < b
        }
    }
}
