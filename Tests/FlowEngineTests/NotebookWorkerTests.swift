@testable import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Notebook workers: parameters, errors, images")
struct NotebookWorkerTests {
    let variables = Variables(runVars: ["rows": .integer(12)], parameters: ["rate": .float(0.25), "name": .string("x y")],
                              builtins: .init(runID: "r1", step: "s"))

    @Test func aParamThatIsOnePlaceholderKeepsItsValuesType() throws {
        let json = try Papermill.parameters(["rows": .string("${rows}"), "rate": .string("${rate}"), "fixed": .integer(3),
                                             "label": .string("${name}: ${rows}"), "flag": .boolean(true)], variables)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(decoded["rows"] as? Int == 12)
        #expect(decoded["rate"] as? Double == 0.25)
        #expect(decoded["fixed"] as? Int == 3)
        #expect(decoded["label"] as? String == "x y: 12", "text around a placeholder makes a string")
        #expect(decoded["flag"] as? Bool == true)
    }

    @Test func anUnknownPlaceholderInParamsIsAnError() {
        let step = NotebookStep(info: StepInfo(name: "nb"), notebook: "a.ipynb", params: ["n": .string("${nope}")])
        let error = #expect(throws: WorkerError.self) { try Papermill(step, variables: variables) }
        #expect(error?.description.hasPrefix("params: unknown variable ${nope}") == true)
    }

    @Test func papermillsReportNamesTheFailingCell() {
        let stderr = """
            Executing notebook with kernel: python3
            Traceback (most recent call last):
              File "/usr/bin/papermill", line 8, in <module>
            papermill.exceptions.PapermillExecutionError:
            ---------------------------------------------------------------------------
            Exception encountered at "In [3]":
            ---------------------------------------------------------------------------
            ValueError                                Traceback (most recent call last)
            Cell In[3], line 1
            ----> 1 raise ValueError('bad value 2')

            ValueError: bad value 2

            """
        #expect(Papermill.cellError(in: stderr) == "cell In [3] failed: ValueError: bad value 2")
        #expect(Papermill.cellError(in: "papermill: no such file") == nil)
        let failed = Papermill.result(.exited(1), stdout: "", stderr: "No such kernel named python9\n")
        #expect(failed.error == "papermill exited with code 1")
    }

    @Test func theImageTagFollowsBaseAndRequirements() throws {
        let image = NotebookImage(base: "local/python:3", requirements: ["six", "numpy==1.26"])
        let tag = image.tag(baseID: "sha256:aaa")
        #expect(tag.hasPrefix("flowlua-notebook:") && tag.count == "flowlua-notebook:".count + 16)
        #expect(image.tag(baseID: "sha256:aaa") == tag, "the same content, the same tag")
        #expect(image.tag(baseID: "sha256:bbb") != tag, "a rebuilt base makes a new image")
        #expect(NotebookImage(base: "local/python:3", requirements: ["six"]).tag(baseID: "sha256:aaa") != tag)
        #expect(image.requirementsFile == "six\nnumpy==1.26\n")
        #expect(throws: WorkerError.self) { try NotebookImage(base: "b", requirements: ["six\nrm -rf /"]).validate() }
    }

    @Test func containerNamesAreValidForDocker() {
        let context = StepContext(runID: "0495abc", folder: RunFolder(id: "0495abc", path: "/tmp/r"), stepName: "plot data/2024 ü",
                                  attempt: 2, variables: variables, environment: [:],
                                  logs: StepLogPaths(base: "/tmp/l"))
        let name = Docker.containerName(context, command: 0)
        #expect(name == "flowlua-0495abc-plot_data_2024__-2-1")
    }
}
