import Foundation
import Testing

/// Values that reach a shell: `${name:q}` makes any value one word, step
/// names keep to a safe set, `check --graph` is valid DOT whatever the names.
@Suite("Quoting: values, step names and the graph")
struct QuotingTests {
    /// Whether a file named `name` exists anywhere under `folder`.
    func exists(_ name: String, under folder: URL) -> Bool {
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let path = walker?.nextObject() as? String {
            if (path as NSString).lastPathComponent == name { return true }
        }
        return false
    }

    @Test func aQuotedParameterCannotBreakOutOfTheCommand() async throws {
        let hostile = "x'; touch PWNED; echo '"
        let folder = try workflowFolder("""
            workflow { name = "q", parameters = { param.string "greeting" { default = "hi" } }, steps = {
              container "say" { outputs = { "out.txt" }, commands = { "printf '%s\\\\n' ${greeting:q} > out.txt" } },
            } }
            """)
        let run = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-q", "-p", "greeting=\(hostile)"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try contents(onlyRun(in: folder).appending(path: "out.txt")) == hostile + "\n")
        #expect(!exists("PWNED", under: folder), "the value ran as a command")
    }

    @Test func aFileParameterWithShellCharactersInItsNameIsOneWord() async throws {
        let name = "a;touch PWNED;b $(touch PWNED2).txt"
        let folder = try workflowFolder("""
            workflow { name = "q", parameters = { param.file "data" {} }, steps = {
              container "copy" { outputs = { "copy.txt" }, commands = { "cat ${data:q} > copy.txt" } },
            } }
            """, files: [name: "payload\n"])
        let run = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-q", "-p", "data=\(name)"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try contents(onlyRun(in: folder).appending(path: "copy.txt")) == "payload\n")
        #expect(!exists("PWNED", under: folder) && !exists("PWNED2", under: folder), "the file name ran as a command")
    }

    @Test(arguments: ["$(touch PWNED)", "a/b", "a b", "-rf", ".hidden", "", "é", String(repeating: "s", count: 129)])
    func aStepNameOutsideTheSafeSetIsAnError(_ name: String) async throws {
        let lua = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let folder = try workflowFolder("""
            workflow { name = "q", steps = { container "\(lua)" { commands = { "echo ${step} > log.txt" } } } }
            """)
        for command in [["check", "workflow.lua"], ["run", "workflow.lua", "--runs-dir", "runs", "-q"]] {
            let outcome = try await flowlua(command, in: folder)
            #expect(outcome.status == 2, "\(command[0]): \(outcome.stderr)")
            #expect(outcome.stderr.contains(name.isEmpty ? "name" : "steps[1]"), "\(outcome.stderr)")
        }
        #expect(!exists("PWNED", under: folder), "the name ran as a command")
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: folder.appending(path: "runs").path)) ?? []
        #expect(runs.filter { !$0.hasPrefix(".") }.isEmpty, "no run was started")
    }

    @Test func safeStepNamesHaveTheirOwnLogs() async throws {
        let folder = try workflowFolder("""
            workflow { name = "q", steps = {
              container "a_b" { commands = { "echo one" } },
              container "a-b" { commands = { "echo two" } },
              container "a.b" { commands = { "echo ${step}" } },
            } }
            """)
        let run = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let logs = try onlyRun(in: folder).appending(path: ".logs")
        #expect(try contents(logs.appending(path: "a_b.stdout")) == "one\n")
        #expect(try contents(logs.appending(path: "a-b.stdout")) == "two\n")
        #expect(try contents(logs.appending(path: "a.b.stdout")) == "a.b\n")
    }

    @Test func theGraphIsValidDOTWhateverTheWorkflowName() async throws {
        let folder = try workflowFolder(#"""
            workflow { name = "we\"ird\\\nname", steps = {
              container "a" { commands = { "true" } },
              container "b" { after = { "a" }, commands = { "true" } },
            } }
            """#)
        let graph = try await flowlua(["check", "workflow.lua", "--graph"], in: folder)
        #expect(graph.status == 0, "\(graph.stderr)")
        #expect(graph.stdout == #"""
            digraph "we\"ird\\\nname" {
              rankdir=LR;
              "a" [shape=box];
              "b" [shape=box];
              "a" -> "b";
            }

            """#)
    }
}
