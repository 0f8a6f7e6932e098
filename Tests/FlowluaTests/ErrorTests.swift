import Foundation
import Testing

@Suite("Bad input: one clear message and the right exit code", .serialized)
struct ErrorTests {
    @Test func aSyntaxErrorExits2NamingTheLine() async throws {
        let script = try brokenHello { $0.replacingOccurrences(of: "name = \"hello\",", with: "name = \"hello\"") }
        let result = try await flowlua([script.path, "--runs-dir", "runs"], in: script.deletingLastPathComponent())
        #expect(result.status == 2)
        let line = try line(of: "description =", in: script)
        #expect(result.stderr == "flowlua: error: \(script.path):\(line): '}' expected (to close '{' at line \(line - 2)) near 'description'\n")
        #expect(!FileManager.default.fileExists(atPath: script.deletingLastPathComponent().appending(path: "runs").path))
    }

    @Test func aWrongFieldTypeExits2NamingLineAndTablePath() async throws {
        let script = try brokenHello { $0.replacingOccurrences(of: "\"mkdir -p results\",", with: "42,") }
        let result = try await flowlua(["check", script.path])
        #expect(result.status == 2)
        let line = try line(of: "container \"greet\"", in: script)
        #expect(result.stderr == "flowlua: error: \(script.path):\(line): steps[1].commands[1]: expected string, got number\n")
    }

    @Test func aRuntimeErrorInTheScriptExits2NamingTheLine() async throws {
        let script = try brokenHello { "local broken = nil\nbroken.call()\n" + $0 }
        let result = try await flowlua([script.path])
        #expect(result.status == 2)
        #expect(result.stderr == "flowlua: error: \(script.path):2: attempt to index a nil value (local 'broken')\n")
    }

    @Test func parameterErrorsExit2BeforeAnythingRuns() async throws {
        let cwd = try scratch()
        let script = repositoryRoot.appending(path: "examples/hello/workflow.lua").path
        let unknown = try await flowlua([script, "-p", "greting=Hi"], in: cwd)
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "flowlua: error: unknown parameter 'greting' (did you mean 'greeting'?)\n")
        let type = try await flowlua([script, "-p", "sleep=soon"], in: cwd)
        #expect(type.status == 2)
        #expect(type.stderr == "flowlua: error: parameter 'sleep': expected an integer, got 'soon'\n")
        let range = try await flowlua([script, "-p", "sleep=99"], in: cwd)
        #expect(range.status == 2)
        #expect(range.stderr == "flowlua: error: parameter 'sleep': 99 is above the maximum 10\n")
        let file = try await flowlua([script, "-p", "names=missing.txt"], in: cwd)
        #expect(file.status == 2)
        #expect(file.stderr == "flowlua: error: parameter 'names': file 'missing.txt' does not exist\n")
        #expect(!FileManager.default.fileExists(atPath: cwd.appending(path: ".flowlua").path), "nothing may run")
    }

    @Test func aMissingScriptOrABadOptionExits2() async throws {
        let missing = try await flowlua(["no/such/workflow.lua"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "flowlua: error: cannot open no/such/workflow.lua: no such file\n")
        let option = try await flowlua(["examples/hello/workflow.lua", "--jobz", "2"])
        #expect(option.status == 2)
        #expect(option.stderr.contains("--jobz"))
        let jobs = try await flowlua(["examples/hello/workflow.lua", "--jobs", "0"])
        #expect(jobs.status == 2)
        for (option, value) in [("--grace", "inf"), ("--grace", "1e300"), ("--cpus", "inf")] {
            let huge = try await flowlua(["examples/hello/workflow.lua", option, value])
            #expect(huge.status == 2, "\(option) \(value) is a usage error, not a crash")
            #expect(huge.stderr.contains(option))
        }
    }

    @Test func aWorkerThatCannotRunItsStepIsACheckError() async throws {
        let folder = try workflowFolder("""
            workflow { name = "w", workers = { box = worker.docker { image = "local/busybox:1" } }, steps = {
              container "c" { worker = "box", commands = { "touch ran" } },
              notebook "n" { worker = "box", notebook = "x.ipynb" },
            }}
            """)
        for command in [["check", "workflow.lua"], ["workflow.lua", "--runs-dir", "runs"]] {
            let result = try await flowlua(command, in: folder)
            #expect(result.status == 2)
            #expect(result.stderr == "flowlua: error: workflow.lua:3: steps[2] (notebook 'n'): worker 'box' of type docker "
                + "cannot run a notebook step\n")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "runs").path), "nothing ran")
    }

    @Test func aFailingCommandExits1ShowingItsStderr() async throws {
        let script = try brokenHello {
            $0.replacingOccurrences(of: "\"mkdir -p results\",", with: "\"mkdir -p results\", \"echo 'greet.py: cannot parse names' >&2; exit 3\",")
        }
        let result = try await flowlua([script.path, "--runs-dir", "runs"], in: script.deletingLastPathComponent())
        #expect(result.status == 1)
        #expect(result.stderr.contains("FAILED greet"))
        #expect(result.stderr.contains("command 2 exited with code 3"))
        #expect(result.stderr.contains("| greet.py: cannot parse names"))
        #expect(result.stderr.contains("skip   count: not run: depends on 'greet', which failed"))
        #expect(result.stderr.contains("greet: command 2 exited with code 3"), "on_failure reports the step")
        #expect(!result.stdout.contains("greeted"))
    }

    @Test func aMissingOutputExits1NamingTheFile() async throws {
        let script = try brokenHello { $0.replacingOccurrences(of: "outputs  = { \"results/greetings.txt\" },", with: "outputs  = { \"results/greetings.txt\", \"results/extra.txt\" },") }
        let result = try await flowlua([script.path, "--runs-dir", "runs"], in: script.deletingLastPathComponent())
        #expect(result.status == 1)
        #expect(result.stderr.contains("declared output 'results/extra.txt' was not produced"))
    }

    @Test func aFailingCodeStepExits1WithItsLine() async throws {
        let script = try brokenHello { $0.replacingOccurrences(of: "ctx.vars.count = n", with: "ctx.vars.count = n .. nil") }
        let result = try await flowlua([script.path, "--runs-dir", "runs"], in: script.deletingLastPathComponent())
        #expect(result.status == 1)
        let line = try line(of: "ctx.vars.count = n .. nil", in: script)
        #expect(result.stderr.contains("FAILED count"))
        #expect(result.stderr.contains("\(script.path):\(line): attempt to concatenate a nil value"))
    }
}
