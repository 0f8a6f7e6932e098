import ArgumentParser
import FlowEngine
import FlowModel
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua restart RUN`: runs again, in the same folder, the steps of a
    /// run that did not succeed.
    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run again the steps of a run that failed, were canceled, not run or interrupted.",
            discussion: """
                Steps that succeeded keep their results and are not run again; the run
                goes on in its own folder, with its parameters and run variables. Its
                script is read again, so a fix in a failing step takes effect.
                """)

        @OptionGroup var store: StoreOptions

        @Argument(help: "The run (an id or a unique prefix).")
        var runID: String

        @Flag(help: "Go on in the background and print the run id.")
        var detach = false

        @Flag(name: [.short, .long], help: "Print only errors and the summary of a failed run.")
        var quiet = false

        func run() async throws {
            let store = try store.openExisting(writing: true)
            let run = try store.run(runID)
            switch run.status {
            case .pending, .running:
                throw CommandFailure("run \(run.id) is still \(run.status.rawValue) (flowlua stop \(run.id) first)")
            case .success:
                print("run \(run.id) succeeded: nothing to restart")
                return
            default:
                break
            }
            Leftovers.stop(in: run.folder)
            let session = RunSession(arguments: run.arguments, settings: run.settings,
                                     runsDirectory: URL(fileURLWithPath: run.folder).deletingLastPathComponent(),
                                     store: store, quiet: quiet)
            let (host, plan) = try RunSession.prepare(script: run.script, arguments: run.arguments,
                                                      workingDirectory: run.workingDirectory, database: store.path)
            if detach {
                try startDetached(run, store: store)
                return
            }
            // Jobs a cluster still runs (or ran) for steps the dead process
            // was following: followed again, not submitted again.
            let before = try store.steps(of: run.id)
            let jobs = Dictionary(before.compactMap { step -> (String, String)? in
                guard [.running, .interrupted].contains(step.status), let job = step.remoteID else { return nil }
                return (step.name, job)
            }, uniquingKeysWith: { $1 })
            // Steps that added steps run again, adding them again: what they
            // added is not in the script.
            let generators = Set(try store.transitions(of: run.id).filter { $0.status == RunRecorder.added }
                .compactMap { transition in before.first { $0.position == transition.position }?.name })
            let names = try store.prepareRestart(run.id, steps: RunSession.steps(of: plan)).subtracting(generators)
            // What they added and did succeed is done, once they add it again.
            let declared = Set(plan.workflow.steps.map(\.name))
            let added = Set(before.filter { $0.status == .success && !declared.contains($0.name) }.map(\.name))
                .subtracting(generators)
            let completed = Set(plan.workflow.steps.indices.filter { names.contains(plan.workflow.steps[$0].name) })
            var remote: [Int: String] = [:]
            for (index, step) in plan.workflow.steps.enumerated() where plan.workers[index].isRemote {
                if let job = jobs[step.name] { remote[index] = job }
            }
            // A job is followed only if what it waits for succeeded or is followed too:
            // one waiting on a step that runs again would wait on the old job.
            var dropped = true
            while dropped {
                dropped = false
                for index in remote.keys where !plan.dependencies[index].allSatisfy({ completed.contains($0) || remote[$0] != nil }) {
                    remote[index] = nil
                    dropped = true
                }
            }
            let stale = Set(jobs.values).subtracting(remote.values)
            if !stale.isEmpty { WorkerRegistry.standard.remote.stopNow(stale.sorted()) }
            if !quiet {
                let followed = remote.isEmpty ? "" : ", \(remote.count) cluster job\(remote.count == 1 ? "" : "s") followed again"
                FileHandle.standardError.write(Data(
                    "flowlua: restarting run \(run.id): \(completed.count) of \(plan.workflow.steps.count) steps succeeded before\(followed)\n".utf8))
            }
            let (report, signal, unrecorded) = try await session.execute(host, plan, id: run.id,
                                                              carryover: Carryover(completed: completed, vars: run.vars,
                                                                                   remote: remote, added: added))
            let code = RunSession.exitCode(report, signal: signal, unrecorded: unrecorded)
            if code != 0 { throw ExitCode(code) }
        }

        private func startDetached(_ run: StoredRun, store: RunStore) throws {
            let log = open(run.folder + "/.logs/flowlua.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            defer { if log >= 0 { close(log) } }
            var spec = ProcessSpec(executable: Run.executable,
                                   arguments: ["restart", run.id, "--db", store.path] + (quiet ? ["-q"] : []),
                                   workingDirectory: run.workingDirectory,
                                   standardOutput: log >= 0 ? log : nil, standardError: log >= 0 ? log : nil)
            spec.tracked = false  // it outlives this process
            let child = try ChildProcess.spawn(spec)
            try store.update(pid: child.pid, of: run.id)
            print(run.id)
        }
    }
}
