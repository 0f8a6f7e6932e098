import FlowEngine
import FlowModel
import FlowStore
import Foundation
import Testing

@Suite("Step cache keys")
struct CacheKeyTests {
    /// A step with something in every field the key covers.
    private let step = """
        {"name": "s", "kind": "code", "commands": ["echo a"], "image": "img", "code": "function(ctx) end",
         "environment": {"B": "2", "A": "1"}, "worker": "w", "workerVars": {"v": 3},
         "parameters": {"p": "x", "n": 1.5}, "vars": {"n": 2}, "inputs": ["b.txt", "a.txt"], "outputs": ["o.txt"]}
        """

    /// The key is the SHA-256 of the step's canonical text, which must not
    /// change unnoticed: every cache written before would be missed. The
    /// digest below is Python's hashlib.sha256 of
    ///   flowlua-key-1 NUL code NUL s NUL command NUL echo a NUL image NUL img NUL
    ///   code NUL function(ctx) end NUL worker NUL w NUL env NUL A=1 NUL env NUL B=2 NUL
    ///   worker-var NUL v=integer:3 NUL param NUL n=float:1.5 NUL param NUL p=string:x NUL
    ///   output NUL o.txt NUL run-var NUL n=integer:2 NUL, then NUL a.txt NUL ha NUL b.txt NUL hb
    /// (maps in name order, inputs in path order with their content hashes).
    @Test func aKeyIsTheDigestOfTheStepsCanonicalTextAndInputs() throws {
        let store = try temporaryStore()
        let recorder = store.recorder(for: "run1")
        defer { recorder.finish() }
        let cache = RunCache(store: store, recorder: recorder)
        let resolved = try JSONDecoder().decode(ResolvedStep.self, from: Data(step.utf8))
        let key = cache.key(for: resolved, inputs: ["a.txt": "ha", "b.txt": "hb"])
        #expect(key == "d302390f8a36a065807f4f4093c87134838386ea0c54f45309f1bc13cbf55e92")

        var changed = resolved
        changed.vars["n"] = .integer(3)
        #expect(cache.key(for: changed, inputs: ["a.txt": "ha", "b.txt": "hb"]) != key, "a run variable is part of it")
        #expect(cache.key(for: resolved, inputs: ["a.txt": "ha", "b.txt": "hc"]) != key, "an input's content is part of it")
    }

    @Test func listsAndRecordsInAKeyAreTellApartWhereTheirTextIsNot() throws {
        let store = try temporaryStore()
        let recorder = store.recorder(for: "run1")
        defer { recorder.finish() }
        let cache = RunCache(store: store, recorder: recorder)
        let base = try JSONDecoder().decode(ResolvedStep.self, from: Data(step.utf8))
        func key(_ value: Value) -> String? {
            var changed = base
            changed.vars["n"] = value
            return cache.key(for: changed, inputs: [:])
        }
        #expect(key(.list([.string("a b")])) != key(.list([.string("a"), .string("b")])), "both render as 'a b'")
        #expect(key(.record(["k": .integer(1)])) != key(.record(["k": .string("1")])))
        #expect(key(.record(["a": .integer(1), "b": .integer(2)])) == key(.record(["b": .integer(2), "a": .integer(1)])))
    }
}
