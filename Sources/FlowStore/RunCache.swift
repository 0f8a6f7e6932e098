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
        let hashes = hasher.hashes(step.inputs.map(folder.path(of:)))
        return Dictionary(zip(step.inputs, hashes.map { $0 ?? "missing" }), uniquingKeysWith: { first, _ in first })
    }

    public func key(for step: ResolvedStep, inputs: [String: String]) -> String {
        ContentHasher.hex(Self.digest(step, inputs: inputs))
    }

    /// The key's hash: the step's definition, then each input's path and
    /// content hash, in path order.
    static func digest(_ step: ResolvedStep, inputs: [String: String]) -> SHA256.Digest {
        var text = canonical(step)
        for input in step.inputs.sorted() {
            text.end(); text.put(input); text.end(); text.put(inputs[input] ?? "missing")
        }
        var digest = SHA256()
        text.bytes.withUnsafeBytes { digest.update(bufferPointer: $0) }
        return digest.finalize()
    }

    /// The definition part of a step's key: every field, tagged and
    /// separated by NULs, maps sorted (a hand-written form: `JSONEncoder` cost
    /// more than a no-op step).
    static func canonical(_ step: ResolvedStep) -> KeyText {
        var text = KeyText()
        text.field("flowlua-key-1", step.kind)
        text.put(step.name); text.end()
        for command in step.commands { text.field("command", command) }
        text.field("image", step.image ?? "")
        text.field("code", step.code ?? "")
        text.field("worker", step.worker)
        inOrder(step.environment) { text.assignment("env", $0, $1) }
        inOrder(step.workerVars) { text.assignment("worker-var", $0, $1) }
        inOrder(step.parameters) { text.assignment("param", $0, $1) }
        for output in step.outputs { text.field("output", output) }
        inOrder(step.vars) { text.assignment("run-var", $0, $1) }
        return text
    }

    /// A map's entries in key order; none or one without sorting, or an array.
    private static func inOrder<V>(_ map: [String: V], _ body: (String, V) -> Void) {
        if map.count < 2 {
            for (name, value) in map { body(name, value) }
        } else {
            for (name, value) in map.sorted(by: { $0.key < $1.key }) { body(name, value) }
        }
    }

    public func reusable(_ key: String) -> CachedResult? {
        guard let entry = try? store.cached(key), FileManager.default.fileExists(atPath: entry.folder) else { return nil }
        let hashes = hasher.hashes(entry.outputs.map { RunFolder.path(of: $0.path, in: entry.folder) })
        guard zip(entry.outputs, hashes).allSatisfy({ $0.hash == $1 }) else { return nil }
        return CachedResult(runID: entry.runID, folder: entry.folder, outputs: entry.outputs.map(\.path),
                            changes: entry.changes)
    }

    public func copied(_ result: CachedResult, into folder: RunFolder) {
        for output in result.outputs {
            hasher.vouch(copyOf: RunFolder.path(of: output, in: result.folder), at: folder.path(of: output))
        }
    }

    public func remember(_ step: ResolvedStep, inputs: [String: String], key: String?, changes: [String: Value?],
                         in folder: RunFolder) {
        let entry = CacheEntry(key: key ?? "", runID: recorder.runID, step: step.name, folder: folder.path,
                               outputs: step.outputs.map { CachedFile(path: $0, hash: "") }, changes: changes)
        recorder.remember(entry) { Array(Self.digest(step, inputs: inputs)) }
    }
}

/// The bytes a cache key hashes, put together without interpolating strings.
struct KeyText {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func put(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// The NUL that ends a part.
    mutating func end() { bytes.append(0) }

    /// `tag` NUL `value` NUL.
    mutating func field(_ tag: String, _ value: String) {
        put(tag); end(); put(value); end()
    }

    /// `tag` NUL `name=value` NUL.
    mutating func assignment(_ tag: String, _ name: String, _ value: String) {
        put(tag); end(); put(name); put("="); put(value); end()
    }

    /// `tag` NUL `name=type:value` NUL.
    mutating func assignment(_ tag: String, _ name: String, _ value: Value) {
        // Lists and records as JSON: ["a b"] and ["a", "b"] render alike.
        let text = switch value {
        case .list, .record: value.json
        default: value.rendered
        }
        put(tag); end(); put(name); put("="); put(value.typeName); put(":"); put(text); end()
    }
}
