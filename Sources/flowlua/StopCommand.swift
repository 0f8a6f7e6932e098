import ArgumentParser
import FlowEngine
import FlowModel
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua stop RUN`: cancels a run that another flowlua process runs.
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a run: its process stops the running steps and marks the run canceled.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The run (an id or a unique prefix).")
        var runID: String

        @Option(help: ArgumentHelp("Seconds to wait for the run to end before killing its process.", valueName: "seconds"))
        var timeout: Double = 30

        func run() async throws {
            let store = try store.openExisting(writing: true)
            let run = try store.run(runID)
            if run.status.isFinished {
                print("run \(run.id) already ended: \(run.status.rawValue)")
                return
            }
            try await Self.stop(run, in: store, timeout: timeout)
            print("run \(run.id) \(try store.run(run.id).status.rawValue)")
        }

        /// Asks the run's process to cancel (SIGTERM), waits for it, and
        /// kills it if it does not end in time; a run no process runs is
        /// marked canceled directly.
        static func stop(_ run: StoredRun, in store: RunStore, timeout: Double) async throws {
            if let pid = run.pid, RunStore.isAlive(pid), pid != getpid() {
                kill(pid, SIGTERM)
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline {
                    if try store.run(run.id).status.isFinished { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                kill(pid, SIGKILL)
            }
            Leftovers.stop(in: run.folder)
            // The cluster jobs of steps that had not ended, if no process canceled them.
            let jobs = try store.steps(of: run.id).filter { [.running, .interrupted, .pending].contains($0.status) }
                .compactMap(\.remoteID)
            if !jobs.isEmpty { WorkerRegistry.standard.remote.stopNow(jobs) }
            if !(try store.run(run.id).status == .canceled) {
                try store.finish(run.id, as: .canceled, message: "stopped with flowlua stop")
            }
        }
    }
}

/// Processes a dead run left behind: those working inside its folder.
enum Leftovers {
    /// Stops the process groups of every process whose working directory is
    /// `folder` or below it: SIGTERM, then SIGKILL a second later.
    static func stop(in folder: String) {
        let groups = self.groups(in: folder)
        guard !groups.isEmpty else { return }
        for group in groups { kill(-group, SIGTERM) }
        usleep(1_000_000)
        for group in self.groups(in: folder) { kill(-group, SIGKILL) }
    }

    static func groups(in folder: String) -> Set<pid_t> {
        let root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        let own = getpgrp()
        var groups = Set<pid_t>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), pid != getpid(),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  cwd == root || cwd.hasPrefix(root + "/"), RunStore.isAlive(pid), !isClusterJob(pid)
            else { continue }
            let group = getpgid(pid)
            if group > 1 && group != own { groups.insert(group) }
        }
        return groups
    }

    /// Whether a process belongs to a Slurm job (a slurm step's job runs in
    /// the run folder on the node): Slurm's, which a restart follows and
    /// `scancel` stops, not a leftover. Its environment says so, or, for a
    /// command that dropped it or a job not yet past its exec, an ancestor
    /// that is Slurm's step daemon.
    static func isClusterJob(_ pid: pid_t) -> Bool {
        if let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
           environment.split(separator: 0).contains(where: { $0.starts(with: Array("SLURM_JOB_ID=".utf8)) }) {
            return true
        }
        var current = pid
        for _ in 0..<32 {
            guard current > 1, let status = ProcessStatus(current) else { return false }
            if status.name == "slurmstepd" { return true }
            current = status.parent
        }
        return false
    }
}
