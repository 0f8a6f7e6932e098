import CProcessShims
import Foundation
import Synchronization

/// A thread of its own that runs jobs one at a time, and reaps the child
/// processes started through its `monitor`: the executor of an actor that
/// must not share the pool, or wait for it.
///
/// The run driver runs here because every step passes through it twice: a
/// process that exits is reaped on this thread and the driver goes on at
/// once, with no hand-off between threads (each costs about 0.1 ms, as much
/// as a no-op step). The Lua state's owner runs on another one because Lua
/// code may run long or block and must not hold one of the pool's threads.
///
/// When idle the thread sleeps in `epoll_wait` on an eventfd (new jobs) and
/// its children's pidfds. After a batch of jobs it spins for a moment first,
/// but only while work has been coming back quickly (a chain of short code
/// steps): an executor fed every few hundred microseconds sleeps at once and
/// leaves the cores to the steps.
public final class ThreadExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    /// Reaps children on this executor's thread; pass it to
    /// `ChildProcess.spawn` from code running here.
    public let monitor: ProcessMonitor

    // `jobs`, `sleeping` and `stopping` are guarded by `lock`; `pending`
    // mirrors `jobs.count` for the lock-free spin. `wake` is written only
    // under `lock`, and closed under it when the thread ends, so no write
    // reaches a file that reused its number.
    private let lock = NSLock()
    private var jobs: [UnownedJob] = []
    private var sleeping = false
    private var stopping = false
    private let pending = Atomic<Int>(0)
    private let epoll: Int32
    private let wake: Int32
    /// The longest spin, and the idle gap under which spinning pays.
    private let spin: Duration

    public init(name: String, spin: Duration = .microseconds(50)) {
        self.spin = spin
        epoll = Descriptor.required(flowlua_epoll_create(), "create an epoll set")
        wake = Descriptor.required(flowlua_eventfd(), "create an eventfd")
        Descriptor.check(flowlua_epoll_add(epoll, wake, 0), "watch an eventfd")
        monitor = ProcessMonitor(epoll: epoll)
        let thread = Thread { [self] in
            ThreadName.set(name)
            // The children it spawns signal it as they exit: ignored here,
            // rather than waking the main thread (see the C shim).
            flowlua_thread_accept_sigchld()
            self.loop()
        }
        thread.name = name
        thread.stackSize = 16 << 20  // deep Lua recursion and C calls
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.lock()
        jobs.append(job)
        pending.add(1, ordering: .releasing)
        if sleeping { flowlua_eventfd_signal(wake) }
        sleeping = false
        lock.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Ends the thread once the queued jobs have run.
    public func shutdown() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return }
        stopping = true
        flowlua_eventfd_signal(wake)
    }

    private func loop() {
        let clock = ContinuousClock()
        var spinning = false
        var ready = [UInt64](repeating: 0, count: 64)
        while true {
            var batch = takeJobs()
            if batch.isEmpty && spinning {
                let deadline = clock.now + spin
                while pending.load(ordering: .acquiring) == 0 && clock.now < deadline { sched_yield() }
                batch = takeJobs()
                spinning = !batch.isEmpty
            }
            if batch.isEmpty {
                lock.lock()
                if !jobs.isEmpty {  // queued since `takeJobs`: no sleep
                    lock.unlock()
                    continue
                }
                if stopping {
                    close(wake)
                    close(epoll)
                    lock.unlock()
                    return
                }
                sleeping = true
                lock.unlock()
                let asleep = clock.now
                let count = flowlua_epoll_wait(epoll, &ready, Int32(ready.count), -1)
                // Awake: jobs queued by the reaping below need no eventfd write.
                lock.lock()
                sleeping = false
                lock.unlock()
                var woken = false
                for token in ready[..<Int(max(count, 0))] {
                    if token == 0 {
                        flowlua_eventfd_drain(wake)
                        woken = true
                    } else {
                        monitor.reap(token)  // resumes waiters: their jobs queue here
                    }
                }
                // Another thread handed work back soon after we slept (the
                // Lua thread ending a short code step): spin next time.
                spinning = woken && clock.now - asleep < spin
                batch = takeJobs()
            }
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
        }
    }

    private func takeJobs() -> [UnownedJob] {
        lock.lock()
        defer { lock.unlock() }
        guard !jobs.isEmpty else { return [] }
        let batch = jobs
        jobs.removeAll(keepingCapacity: true)
        pending.subtract(batch.count, ordering: .relaxed)
        return batch
    }
}
