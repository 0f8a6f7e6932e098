import FlowEngine
import FlowModel
import Testing

@Suite("What ${name} means in a step")
struct VariablesTests {
    let variables = Variables(runVars: ["sample": .record(["id": .string("s1"), "reads": .list([.string("r1.fq")])])],
                              parameters: ["n": .integer(2), "sample": .string("shadowed")],
                              builtins: .init(step: "align"))

    @Test func aDottedNameReadsIntoARunVariablesRecord() throws {
        #expect(try variables.substitute("${sample.id} ${sample.reads.1:q} ${n} ${step}") == "s1 'r1.fq' 2 align")
        #expect(variables.value("sample.reads") == .list([.string("r1.fq")]))
    }

    @Test func aPathThatLeadsNowhereIsAnUnknownVariable() {
        for text in ["${sample.nope}", "${sample.reads.2}", "${n.x}", "${step.x}"] {
            let error = #expect(throws: SubstitutionError.self, "\(text)") { _ = try variables.substitute(text) }
            #expect(error.map { "${\($0.name)}" } == text)
        }
    }
}
