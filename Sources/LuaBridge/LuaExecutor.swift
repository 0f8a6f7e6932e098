import Foundation
import Synchronization

/// A thread of its own that runs jobs one at a time: the executor of the
/// actor that owns a `LuaState`.
///
/// A dedicated thread rather than the shared pool because Lua code may run
/// long or block (a loop, a command run from a code step) and must not hold
/// one of the pool's few threads. After each batch of jobs it spins briefly
/// before sleeping, so that a chain of short calls (one code step after
/// another) does not pay a thread wake-up for each.
///
/// Also a `TaskExecutor`: a task that will mostly call into the owning actor
/// can start here and save a hop.
public final class LuaExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // `jobs` and `stopping` are guarded by `condition`; `pending` mirrors
    // `jobs.count` for the lock-free spin.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private let pending = Atomic<Int>(0)
    /// How long the thread spins for more work after a batch.
    private let spin: Duration

    public init(name: String = "flowlua.lua", spin: Duration = .microseconds(50)) {
        self.spin = spin
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 16 << 20  // deep Lua recursion and C calls
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        pending.add(1, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    public func isSameExclusiveExecutionContext(other: LuaExecutor) -> Bool { self === other }

    /// Ends the thread once the queued jobs have run.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        let clock = ContinuousClock()
        while true {
            let deadline = clock.now + spin
            while pending.load(ordering: .acquiring) == 0 && clock.now < deadline {}
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            pending.subtract(batch.count, ordering: .relaxed)
            condition.unlock()
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
        }
    }
}
