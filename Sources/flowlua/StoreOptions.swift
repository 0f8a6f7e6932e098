import ArgumentParser
import FlowEngine
import FlowStore
import Foundation

/// Where runs live: the runs folder and the run database beside it.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Where run folders go (default: $FLOWLUA_RUNS_DIR or .flowlua/runs).", valueName: "dir"))
    var runsDir: String?

    @Option(help: ArgumentHelp("The run database (default: $FLOWLUA_DB, or flowlua.db beside the runs folder).",
                               valueName: "file"))
    var db: String?

    var runsDirectory: URL { RunFolder.runsDirectory(runsDir) }

    var databasePath: String {
        db.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? RunStore.defaultPath(runsDirectory: runsDirectory)
    }

    /// Opens the run database; an error is a usage error (exit 2).
    func open() throws -> RunStore {
        do { return try RunStore(path: databasePath) } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Opens the run database only if it exists (for commands that read; on
    /// a full disk, for reading only).
    func openExisting(writing: Bool = false) throws -> RunStore {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw CommandFailure("no runs here: \(databasePath) does not exist (runs are recorded where they ran; see --runs-dir and --db)")
        }
        if writing { return try open() }
        do { return try RunStore.reading(at: databasePath) } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// A command that could not do what it was asked: one message, exit 2.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
