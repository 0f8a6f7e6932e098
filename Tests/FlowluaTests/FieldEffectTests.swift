import Foundation
import Testing

/// A field that cannot take effect is an error before anything runs; `${}`
/// works in the worker fields that name things (image, partition, account,
/// options). The backends' own tests (DockerTests, SlurmTests) run them.
@Suite("Fields take effect or are refused")
struct FieldEffectTests {
    @Test(arguments: [
        ("requirements on a notebook step run by papermill on this machine",
         #"steps = { notebook "n" { notebook = "n.ipynb", requirements = { "numpy" } } }"#,
         "steps[1] (notebook 'n'): requirements: worker 'notebook' of type notebook runs papermill on this machine and installs nothing"),
        ("an image on a step of the default worker",
         #"steps = { container "a" { image = "local/busybox:1", commands = { "true" } } }"#,
         "steps[1] (container 'a'): image: worker 'subprocess' of type subprocess runs commands on this machine"),
        ("an image on a subprocess worker",
         #"workers = { py = worker.subprocess { image = "x" } }, steps = { container "a" { worker = "py", commands = { "true" } } }"#,
         "workers.py.image: a subprocess worker runs its steps on this machine"),
        ("a volume on a worker",
         #"workers = { box = worker.docker { image = "x", volume = "shared" } }, steps = { container "a" { worker = "box", commands = { "true" } } }"#,
         "workers.box.volume: storage volumes are not supported yet"),
        ("an unknown ${} in an image",
         #"workers = { box = worker.docker {} }, steps = { container "a" { worker = "box", image = "${nope}", commands = { "true" } } }"#,
         "steps[1] (container 'a'): image: unknown variable ${nope}"),
        ("an image with a newline in it",
         #"workers = { box = worker.nbdocker { image = "python:3\nRUN id" } }, steps = { notebook "n" { worker = "box", notebook = "n.ipynb" } }"#,
         "worker 'box': image: 'python:3\nRUN id' is not an image name"),
        ("an unknown ${} in a slurm option",
         #"workers = { hpc = worker.slurm { options = { "--qos=${qos}" } } }, steps = { container "a" { worker = "hpc", commands = { "true" } } }"#,
         "worker 'hpc': options[1]: unknown variable ${qos}"),
    ])
    func aFieldThatCannotTakeEffectIsAnError(_ test: (String, String, String)) async throws {
        let folder = try workflowFolder("workflow { name = 'f', \(test.1) }", files: ["n.ipynb": "{}"])
        for command in [["check", "workflow.lua"], ["run", "workflow.lua", "--runs-dir", "runs", "-q"]] {
            let outcome = try await flowlua(command, in: folder)
            #expect(outcome.status == 2, "\(test.0), \(command[0]): \(outcome.stderr)")
            #expect(outcome.stderr.contains(test.2), "\(test.0), \(command[0]): \(outcome.stderr)")
        }
    }
}
