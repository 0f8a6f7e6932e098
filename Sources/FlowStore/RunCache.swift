import Crypto
import FlowEngine
import FlowModel
import Foundation

/// The step cache of a run, kept in the run database: keys from a step's
/// resolved definition and its inputs' content, results checked for intact
/// outputs before they are reused.
public final class RunCache: StepCache {
    private let store: RunStore
    private let recorder: RunRecorder
    private let hasher: ContentHasher

    /// A cache for the run `recorder` records; new entries are written by it.
    public init(store: RunStore, recorder: RunRecorder) {
        self.store = store
        self.recorder = recorder
        hasher = recorder.hasher
    }

    public func hashInputs(of step: ResolvedStep, in folder: RunFolder) -> [String: String] {
        var hashes: [String: String] = [:]
        for input in step.inputs {
            let path = folder.path + "/" + (input.hasSuffix("/") ? String(input.dropLast()) : input)
            hashes[input] = hasher.hash(path) ?? "missing"
        }
        return hashes
    }

    public func key(for step: ResolvedStep, inputs: [String: String]) -> String {
        var digest = SHA256()
        Self.feed(&digest, Self.canonical(step))
        for input in step.inputs.sorted() {
            Self.feed(&digest, "\0\(input)\0\(inputs[input] ?? "missing")")
        }
        return ContentHasher.hex(digest.finalize())
    }

    /// Hashes a string's UTF-8 bytes where they are, with no copy.
    private static func feed(_ digest: inout SHA256, _ text: String) {
        var text = text
        text.withUTF8 { digest.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    /// The definition part of a step's key as text: every field, tagged and
    /// separated by NULs, maps sorted (a hand-written form: `JSONEncoder` cost
    /// more than a no-op step).
    static func canonical(_ step: ResolvedStep) -> String {
        var text = "flowlua-key-1\0\(step.kind)\0\(step.name)\0"
        for command in step.commands { text += "command\0\(command)\0" }
        text += "image\0\(step.image ?? "")\0code\0\(step.code ?? "")\0worker\0\(step.worker)\0"
        for (name, value) in step.environment.sorted(by: { $0.key < $1.key }) { text += "env\0\(name)=\(value)\0" }
        for (tag, values) in [("worker-var", step.workerVars), ("param", step.parameters)] {
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                text += "\(tag)\0\(name)=\(value.typeName):\(value.rendered)\0"
            }
        }
        for output in step.outputs { text += "output\0\(output)\0" }
        for (name, value) in step.vars.sorted(by: { $0.key < $1.key }) {
            text += "run-var\0\(name)=\(value.typeName):\(value.rendered)\0"
        }
        return text
    }

    public func reusable(_ key: String) -> CachedResult? {
        guard let entry = try? store.cached(key), FileManager.default.fileExists(atPath: entry.folder) else { return nil }
        for output in entry.outputs {
            let path = entry.folder + "/" + (output.path.hasSuffix("/") ? String(output.path.dropLast()) : output.path)
            guard hasher.hash(path) == output.hash else { return nil }
        }
        return CachedResult(runID: entry.runID, folder: entry.folder, outputs: entry.outputs.map(\.path),
                            changes: entry.changes)
    }

    public func remember(_ step: ResolvedStep, inputs: [String: String], key: String?, changes: [String: Value?],
                         in folder: RunFolder) {
        let entry = CacheEntry(key: key ?? "", runID: recorder.runID, step: step.name, folder: folder.path,
                               outputs: step.outputs.map { CachedFile(path: $0, hash: "") }, changes: changes)
        recorder.remember(entry) { [self] in self.key(for: step, inputs: inputs) }
    }
}
