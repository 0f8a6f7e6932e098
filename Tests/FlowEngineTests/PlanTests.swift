import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Planning: the DAG, workers and files")
struct PlanTests {
    func plan(_ steps: [Step], workers: [String: WorkerSpec] = [:], directory: String = "/tmp") throws -> Plan {
        try Plan(Workflow(name: "w", workers: workers, steps: steps, directory: directory), arguments: [:], checkFiles: false)
    }

    func failure(_ steps: [Step], workers: [String: WorkerSpec] = [:]) -> String {
        do {
            _ = try plan(steps, workers: workers)
            return "no error"
        } catch { return String(describing: error) }
    }

    @Test func edgesComeFromAfterAndFromFiles() throws {
        let p = try plan([
            container("report", ["cat results/sum.txt"], inputs: ["results/sum.txt"]),
            container("make", ["mkdir -p parts"], outputs: ["parts/"]),
            container("sum", ["cat parts/* > results/sum.txt"], inputs: ["parts/a.txt"], outputs: ["results/sum.txt"]),
            container("tail", ["true"], after: ["report"]),
        ])
        #expect(p.dependencies == [[2], [], [1], [0]])
    }

    @Test func anInputFolderWaitsForEveryOutputInsideItAndNoOther() throws {
        let p = try plan([
            container("a", ["true"], outputs: ["data/a.txt"]),
            container("ab", ["true"], outputs: ["data-b/x.txt"]),
            container("deep", ["true"], outputs: ["data/sub/deep.txt", "other.txt"]),
            container("all", ["true"], inputs: ["data/"]),
            container("sub", ["true"], inputs: ["data/sub/"]),
            container("folder", ["true"], outputs: ["data/"]),
            container("one", ["true"], after: ["a", "a"], inputs: ["data/sub/x.txt"]),
            container("dup", ["true"], after: ["a"], inputs: ["data/a.txt", "data/a.txt"]),
        ])
        #expect(p.dependencies[3] == [0, 2, 5], "data/ waits for data/a.txt, data/sub/deep.txt and the folder itself, not data-b/")
        #expect(p.dependencies[4] == [2, 5])
        #expect(p.dependencies[6] == [0, 5], "a file under an output folder waits for it; a repeated after counts once")
        #expect(p.dependencies[7] == [0, 5])
    }

    @Test func aCycleNamesItsSteps() {
        let message = failure([
            container("a", ["true"], after: ["c"]),
            container("b", ["true"], after: ["a"]),
            container("c", ["true"], inputs: ["x.txt"]),
            container("d", ["true"], after: ["b"], outputs: ["x.txt"]),
        ])
        #expect(message.hasPrefix("the steps form a cycle: "))
        for name in ["'a'", "'b'", "'c'", "'d'"] { #expect(message.contains(name), "\(message)") }
    }

    @Test func badReferencesAreNamed() {
        #expect(failure([container("a", ["true"], after: ["nope"])])
            == "steps[1] (container 'a'): after: unknown step 'nope'")
        #expect(failure([container("a", ["true"]), container("a", ["true"])])
            == "steps[2] (container 'a'): duplicate step name 'a' (first declared as steps[1])")
        #expect(failure([container("a", ["true"], worker: "gpu")])
            == "steps[1] (container 'a'): unknown worker 'gpu' (the workflow declares no workers)")
        #expect(failure([container("a", ["true"], worker: "c")], workers: ["c": WorkerSpec(name: "c", type: .code)])
            == "steps[1] (container 'a'): worker 'c' of type code cannot run a container step")
        #expect(failure([container("a", ["echo ${nope}"])]).hasPrefix("steps[1] (container 'a'): commands[1]: unknown variable ${nope}"))
    }

    @Test func envPlaceholdersAreCheckedAndANotebooksFilesAreItsInputAndOutput() throws {
        let docker = WorkerSpec(name: "box", type: .docker, env: ["TOKEN": "${token}"])
        #expect(failure([container("a", ["true"], worker: "box")], workers: ["box": docker])
            .hasPrefix("steps[1] (container 'a'): env.TOKEN: unknown variable ${token}"))
        #expect(failure([.notebook(NotebookStep(info: StepInfo(name: "n"), notebook: "../nb.ipynb"))])
            == "steps[1] (notebook 'n'): notebook: path '../nb.ipynb' escapes the run folder")
        let p = try plan([
            .notebook(NotebookStep(info: StepInfo(name: "report"), notebook: "nb/report.ipynb", output: "out/report.ipynb")),
            container("publish", ["cp out/report.ipynb public/"], inputs: ["out/report.ipynb"]),
        ])
        #expect(p.inputs[0] == ["nb/report.ipynb"] && p.outputs[0] == ["out/report.ipynb"])
        #expect(p.dependencies == [[], [0]], "a step that reads the executed notebook waits for it")
        #expect(p.staged.map(\.target) == ["nb/report.ipynb"])
    }

    @Test func pathsMayNotLeaveTheRunFolder() throws {
        #expect(failure([container("a", ["true"], outputs: ["../escape.txt"])])
            == "steps[1] (container 'a'): outputs[1]: path '../escape.txt' escapes the run folder")
        #expect(failure([container("a", ["true"], inputs: ["/etc/passwd"])])
            == "steps[1] (container 'a'): inputs[1]: path '/etc/passwd' is absolute; paths are relative to the run folder")
        #expect(throws: PathError.self) { _ = try RunPath.normalize("a/../../b") }
        #expect(try RunPath.normalize("./a//b/../c/") == "a/c/")
        for (path, normal) in [("a/b", "a/b"), ("a/b/", "a/b/"), ("...", "..."), (".hidden/x", ".hidden/x"),
                               ("a/./b", "a/b"), ("a//b", "a/b"), ("./a", "a"), ("a/..b/c", "a/..b/c"), ("a/b/.", "a/b")] {
            #expect(try RunPath.normalize(path) == normal, Comment(rawValue: path))
        }
        for path in ["a/..", ".", "./", "a/../..", ""] {
            #expect(throws: PathError.self, Comment(rawValue: path)) { _ = try RunPath.normalize(path) }
        }
    }

    @Test func aMissingInputIsNamed() throws {
        let folder = try temporaryFolder()
        try "x".write(to: folder.appending(path: "present.txt"), atomically: true, encoding: .utf8)
        let workflow = Workflow(name: "w", steps: [container("a", ["true"], inputs: ["present.txt", "absent.txt"])],
                                directory: folder.path)
        let error = try #require(throws: PlanError.self) { _ = try Plan(workflow, arguments: [:]) }
        #expect(error.description == "steps[1] (container 'a'): input 'absent.txt' does not exist in \(folder.path) and no step produces it")
    }

    @Test func workerVarsAndParametersResolveInPaths() throws {
        let workflow = Workflow(
            name: "w", parameters: [Parameter(name: "n", kind: .int)],
            workers: ["sh": WorkerSpec(name: "sh", type: .subprocess, vars: ["dir": .string("out")])],
            steps: [container("a", ["true"], outputs: ["${dir}/${n}.txt"], worker: "sh")])
        let p = try Plan(workflow, arguments: ["n": .integer(3)], checkFiles: false)
        #expect(p.outputs == [["out/3.txt"]])
    }

    @Test func dotListsNodesAndEdges() throws {
        let dot = try plan([container("a", ["true"]), container("b", ["true"], after: ["a"])]).dot()
        #expect(dot.contains("\"a\" -> \"b\";"))
        #expect(dot.hasPrefix("digraph \"w\" {"))
    }
}
