import ArgumentParser
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua list`: the runs recorded here.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the runs: id, workflow, state, start and duration, newest first.")

        @OptionGroup var store: StoreOptions

        @Flag(help: "Print the runs as JSON.")
        var json = false

        func run() throws {
            let runs = try store.openExisting().runs()
            if json {
                print(try Output.json(runs))
                return
            }
            guard !runs.isEmpty else { return }
            let rows = [["ID", "WORKFLOW", "STATE", "STARTED", "DURATION"]] + runs.map {
                [$0.id, $0.workflow, $0.status.rawValue, Output.time($0.startedAt ?? $0.createdAt), Output.duration($0.duration)]
            }
            print(Output.table(rows))
        }
    }
}
