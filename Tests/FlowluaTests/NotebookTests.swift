import Foundation
import Testing

/// A notebook with a `parameters` cell and a cell that writes what it got.
func notebook(_ cells: [String]) -> String {
    let json: [String: Any] = [
        "cells": cells.enumerated().map { i, source in
            ["cell_type": "code", "execution_count": NSNull(), "id": "c\(i)", "outputs": [], "source": source,
             "metadata": i == 0 ? ["tags": ["parameters"]] : [:]] as [String: Any]
        },
        "metadata": ["kernelspec": ["display_name": "Python 3", "language": "python", "name": "python3"]],
        "nbformat": 4, "nbformat_minor": 5,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// A cell of an executed notebook.
struct ExecutedCell {
    var source: String
    var tags: [String]
    /// Its text outputs, joined.
    var output: String
    var executed: Bool
    var failed: Bool
}

/// The executed notebook's code cells.
func executedCells(_ url: URL) throws -> [ExecutedCell] {
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let cells = try #require(json["cells"] as? [[String: Any]])
    return cells.filter { $0["cell_type"] as? String == "code" }.map { cell in
        let source = (cell["source"] as? [String])?.joined() ?? cell["source"] as? String ?? ""
        let tags = (cell["metadata"] as? [String: Any])?["tags"] as? [String] ?? []
        let outputs = cell["outputs"] as? [[String: Any]] ?? []
        let text = outputs.map { (($0["text"] as? [String])?.joined() ?? $0["text"] as? String ?? "") }.joined()
        return ExecutedCell(source: source, tags: tags, output: text, executed: cell["execution_count"] is Int,
                            failed: outputs.contains { $0["output_type"] as? String == "error" })
    }
}

let typesNotebook = notebook([
    "count = 1\nscale = 1.0\nlabel = 'default'\nflag = False",
    "print(type(count).__name__, count, type(scale).__name__, scale, label, flag)\n"
        + "open('results/seen.txt', 'w').write(f'{count * 2} {label}\\n')",
])

@Suite("Notebook worker, on real papermill", .serialized, .enabled(if: Backends.notebookEnabled, Backends.notebookSkipped))
struct NotebookTests {
    @Test func paramsAreInjectedWithTheirTypesAndTheExecutedNotebookIsKept() async throws {
        _ = try Backends.papermill()
        let folder = try workflowFolder("""
            workflow { name = "nb",
              parameters = { param.int "count" { default = 2 }, param.float "scale" { default = 0.5 } },
              steps = {
                code "label" { run = function(ctx) ctx.vars.label = "from lua" end },
                notebook "types" { after = { "label" }, notebook = "nb/types.ipynb", output = "results/types.ipynb",
                  outputs = { "results/seen.txt" },
                  params = { count = "${count}", scale = "${scale}", label = "${label}!", flag = true } },
              }}
            """, files: ["nb/types.ipynb": typesNotebook])
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-p", "count=21"], in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "results/seen.txt")) == "42 from lua!\n", "count arrived as an int")
        let cells = try executedCells(run.appending(path: "results/types.ipynb"))
        let injected = try #require(cells.first { $0.tags.contains("injected-parameters") })
        #expect(injected.source.contains("count = 21\n"))
        #expect(injected.source.contains("scale = 0.5\n"))
        #expect(injected.source.contains("label = \"from lua!\"\n"))
        #expect(injected.source.contains("flag = True\n"))
        #expect(cells.last?.output == "int 21 float 0.5 from lua! True\n")
    }

    @Test func aFailingCellFailsTheStepWithThatCellsError() async throws {
        _ = try Backends.papermill()
        let folder = try workflowFolder("""
            workflow { name = "nbfail", steps = {
              notebook "broken" { notebook = "broken.ipynb" },
              container "later" { after = { "broken" }, commands = { "touch later" } },
            }}
            """, files: ["broken.ipynb": notebook(["x = 1", "y = x + 1", "raise ValueError(f'bad value {y}')", "z = 3"])])
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("FAILED broken"))
        #expect(result.stderr.contains("ValueError: bad value 2"), "\(result.stderr)")
        let run = try onlyRun(in: folder)
        let stderr = try contents(run.appending(path: ".logs/broken.stderr"))
        #expect(stderr.contains("Traceback") || stderr.contains("----> 1 raise ValueError"), "the traceback is kept")
        let cells = try executedCells(run.appending(path: "broken.out.ipynb"))
        #expect(cells.map(\.executed) == [true, true, true, false], "the executed notebook is kept, up to the failure")
        #expect(cells.map(\.failed) == [false, false, true, false])
        #expect(!FileManager.default.fileExists(atPath: run.appending(path: "later").path))
    }

    @Test func cancelLeavesNoKernel() async throws {
        _ = try Backends.papermill()
        let marker = Int.random(in: 100_000...999_999)
        let folder = try workflowFolder("""
            workflow { name = "nbcancel", steps = { notebook "wait" { notebook = "wait.ipynb" } } }
            """, files: ["wait.ipynb": notebook(["marker = \(marker)", "open('started', 'w').close()\nimport time\ntime.sleep(60)"])])
        let runs = folder.appending(path: "runs")
        var running: [String] = []
        let result = try await interrupt(["workflow.lua", "--runs-dir", "runs", "--grace", "1"], in: folder) {
            guard anyRun(in: runs, has: "started") else { return false }
            running = living { $0.contains("ipykernel") }.filter { Self.isIn(folder, $0) }
            return true
        }
        #expect(result.status == 130, "\(result.stderr)")
        #expect(running.count == 1, "the test sees the kernel that runs the notebook")
        // The kernel notices within a second that papermill, its parent, is gone.
        var left = living { $0.contains("ipykernel") }.filter { Self.isIn(folder, $0) }
        for _ in 0..<30 where !left.isEmpty {
            usleep(100_000)
            left = living { $0.contains("ipykernel") }.filter { Self.isIn(folder, $0) }
        }
        #expect(left.isEmpty, "kernels left running: \(left)")
    }

    @Test func theNotebookExampleRuns() async throws {
        _ = try Backends.papermill()
        let folder = try scratch()
        let result = try await flowlua([repositoryRoot.appending(path: "examples/notebook/workflow.lua").path,
                                  "--runs-dir", folder.appending(path: "runs").path, "-p", "limit=1000"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Collatz steps: up to 1000, 871 takes the longest (178 steps)\n")
    }

    /// Whether the process `pid` works in `folder` (its cwd is inside it).
    static func isIn(_ folder: URL, _ pid: String) -> Bool {
        let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
        return cwd.hasPrefix(folder.resolvingSymlinksInPath().path) || cwd.hasPrefix(folder.path)
    }
}

@Suite("nbdocker worker, on the real daemon", .serialized, .enabled(if: Backends.dockerEnabled, Backends.dockerSkipped))
struct NotebookDockerTests {
    @Test func buildsItsImageOnceThenReusesIt() async throws {
        let docker = try await Backends.docker()
        // A base of its own, so this test builds an image no one else has.
        let base = "flowlua-test/python:\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await execute(docker, ["tag", "local/python:3", base]).status == 0)
        defer {
            let built = (try? executeBlocking(docker, ["images", "--quiet", "--filter", "label=org.flowlua.base=\(base)"]))?.stdout ?? ""
            _ = try? executeBlocking(docker, ["rmi", "--force", base] + built.split(separator: "\n").map(String.init))
        }
        let folder = try workflowFolder("""
            workflow { name = "nbd",
              parameters = { param.int "count" { default = 2 } },
              workers = { nb = worker.nbdocker { image = "\(base)" } },
              steps = {
                notebook "one" { worker = "nb", notebook = "types.ipynb", output = "results/one.ipynb",
                  requirements = { "six" }, params = { count = "${count}", label = "one" } },
                notebook "two" { worker = "nb", notebook = "types.ipynb", output = "results/two.ipynb",
                  requirements = { "six" }, params = { count = 5, label = "two" } },
              }}
            """, files: ["types.ipynb": typesNotebook.replacingOccurrences(of: "results/seen.txt", with: "seen-'+label+'.txt")])
        let first = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-p", "count=4", "--jobs", "2"], in: folder)
        #expect(first.status == 0, "\(first.stderr)")
        let firstRun = try onlyRun(in: folder)
        let notes = try ["one", "two"].map { try contents(firstRun.appending(path: ".logs/\($0).stdout")) }
        #expect(notes.filter { $0.contains("nbdocker: building image flowlua-notebook:") }.count == 1,
                "one of the two steps builds, the other waits for it: \(notes)")
        #expect(notes.filter { $0.contains("nbdocker: using image flowlua-notebook:") }.count == 1)
        #expect(try contents(firstRun.appending(path: "seen-one.txt")) == "8 one\n")
        #expect(try contents(firstRun.appending(path: "seen-two.txt")) == "10 two\n")
        let owner = try FileManager.default.attributesOfItem(atPath: firstRun.appending(path: "results/one.ipynb").path)
        #expect((owner[.ownerAccountID] as? NSNumber)?.uint32Value == getuid())
        let images = try await execute(docker, ["images", "--quiet", "--filter", "label=org.flowlua.base=\(base)"]).stdout
        #expect(images.split(separator: "\n").count == 1)

        try FileManager.default.removeItem(at: folder.appending(path: "runs"))
        let second = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(second.status == 0, "\(second.stderr)")
        let secondRun = try onlyRun(in: folder)
        for step in ["one", "two"] {
            let log = try contents(secondRun.appending(path: ".logs/\(step).stdout"))
            #expect(log.hasPrefix("nbdocker: using image flowlua-notebook:"), "\(step): \(log)")
        }
        #expect(try await execute(docker, ["images", "--quiet", "--filter", "label=org.flowlua.base=\(base)"]).stdout == images)
    }

    @Test func aFailingCellInAContainerReportsTheCellsError() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "nbdfail", workers = { nb = worker.nbdocker { image = "local/python:3" } }, steps = {
              notebook "broken" { worker = "nb", notebook = "broken.ipynb" },
            }}
            """, files: ["broken.ipynb": notebook(["x = 1", "raise KeyError('missing')"])])
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("KeyError: 'missing'"), "\(result.stderr)")
    }
}
