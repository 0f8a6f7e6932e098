import ArgumentParser
import FlowModel
import FlowStore
import Foundation

extension Flowlua {
    /// `flowlua rm RUN...`: forgets runs and deletes their folders.
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete runs: their records and their run folders.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The runs (ids or unique prefixes).")
        var runIDs: [String]

        @Flag(help: "Stop a run that is still running first.")
        var force = false

        func validate() throws {
            guard !runIDs.isEmpty else { throw ValidationError("name at least one run") }
        }

        func run() async throws {
            let store = try store.openExisting(writing: true)
            let runs = try runIDs.map { try store.run($0) }
            for run in runs where !run.status.isFinished && !force {
                throw CommandFailure("run \(run.id) is \(run.status.rawValue) (flowlua stop \(run.id) first, or rm --force)")
            }
            for run in runs {
                if !run.status.isFinished { try await Stop.stop(run, in: store, timeout: 30) }
                try Self.remove(run, from: store)
                print("removed \(run.id)")
            }
        }

        static func remove(_ run: StoredRun, from store: RunStore) throws {
            // The database says where the folder is; a run folder is named
            // for its run, so a record pointing anywhere else (edited, or
            // damaged) cannot make rm delete a user's folder.
            let folder = URL(fileURLWithPath: run.folder).standardizedFileURL
            guard folder.lastPathComponent == run.id, folder.path != "/" else {
                throw CommandFailure("run \(run.id)'s folder is recorded as \(run.folder), which is not a run folder: nothing deleted")
            }
            if FileManager.default.fileExists(atPath: run.folder) {
                do { try FileManager.default.removeItem(atPath: run.folder) } catch {
                    throw CommandFailure("cannot delete \(run.folder): \(error.localizedDescription)")
                }
            }
            try store.delete(run.id)
        }
    }

    /// `flowlua gc --older-than 7d`: deletes old finished runs.
    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete finished runs older than a given age, with their folders.")

        @OptionGroup var store: StoreOptions

        @Option(help: ArgumentHelp("An age: 45s, 30m, 12h, 7d or 2w.", valueName: "age"))
        var olderThan: String

        @Flag(help: "Only list what would be deleted.")
        var dryRun = false

        func validate() throws {
            guard Self.seconds(olderThan) != nil else {
                throw ValidationError("--older-than expects an age like 45s, 30m, 12h, 7d or 2w, got '\(olderThan)'")
            }
        }

        func run() async throws {
            let store = try store.openExisting(writing: true)
            let cutoff = Date().addingTimeInterval(-(Self.seconds(olderThan) ?? 0))
            let runs = try store.finishedRuns(before: cutoff)
            for run in runs {
                if !dryRun { try Remove.remove(run, from: store) }
                print("\(dryRun ? "would remove" : "removed") \(run.id)  \(run.workflow)  \(run.status.rawValue)  "
                    + Output.time(run.createdAt))
            }
            if runs.isEmpty { print("nothing older than \(olderThan)") }
        }

        static func seconds(_ age: String) -> TimeInterval? {
            let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
            guard let unit = age.last, let scale = units[unit], let number = Double(age.dropLast()), number >= 0 else {
                return nil
            }
            return number * scale
        }
    }
}
