import Foundation
import Testing

@Suite("The examples run as the README says", .serialized)
struct ExampleTests {
    @Test func helloRuns() async throws {
        let runs = try scratch()
        let result = try await flowlua(["examples/hello/workflow.lua", "--runs-dir", runs.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "greeted 4 names\n")
        for step in ["greet", "count", "report"] { #expect(result.stderr.contains("done   \(step) ("), "\(result.stderr)") }
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: runs.path).first)
        let greetings = try String(contentsOf: runs.appending(path: "\(run)/results/greetings.txt"), encoding: .utf8)
        #expect(greetings == "Hello, Alice!\nHello, Bob!\nHello, Claire!\nHello, Darius!\n")
        let report = try String(contentsOf: runs.appending(path: "\(run)/results/report.txt"), encoding: .utf8)
        #expect(report.hasPrefix("4 greetings, for "))
    }

    @Test func helloTakesParametersAndRunsFromAnyFolder() async throws {
        let elsewhere = try scratch()
        let script = repositoryRoot.appending(path: "examples/hello/workflow.lua").path
        let result = try await flowlua([script, "-p", "greeting=Bonjour", "--runs-dir", "runs"], in: elsewhere)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: elsewhere.appending(path: "runs").path).first)
        let greetings = try String(contentsOf: elsewhere.appending(path: "runs/\(run)/results/greetings.txt"), encoding: .utf8)
        #expect(greetings.hasPrefix("Bonjour, Alice!\n"))
    }

    @Test func runsGoUnderDotFlowluaByDefaultOrWhereTheEnvironmentSays() async throws {
        let cwd = try scratch()
        let script = repositoryRoot.appending(path: "examples/hello/workflow.lua").path
        #expect(try await flowlua([script, "-q"], in: cwd).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.appending(path: ".flowlua/runs").path).count == 1)
        let elsewhere = try scratch()
        #expect(try await flowlua([script, "-q"], in: cwd, environment: ["FLOWLUA_RUNS_DIR": elsewhere.path]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).count == 1)
    }

    @Test func wordfreqCountsTheShippedTexts() async throws {
        let runs = try scratch()
        let result = try await flowlua(["examples/wordfreq/workflow.lua", "-p", "top=5", "--runs-dir", runs.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("wordfreq: 486 words, 226 distinct"))
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: runs.path).first)
        let top = try String(contentsOf: runs.appending(path: "\(run)/results/top.txt"), encoding: .utf8)
        let words = top.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }
        #expect(words == ["the", "and", "was", "his", "that"])
        let summary = try String(contentsOf: runs.appending(path: "\(run)/results/summary.txt"), encoding: .utf8)
        #expect(summary.contains("total\t486\n"))
        #expect(summary.contains("most_frequent\tthe\t88\n"))
    }

    @Test func samplesAddsAStepPerSampleAndSummarisesThem() async throws {
        let runs = try scratch()
        let result = try await flowlua(["examples/samples/workflow.lua", "-p", "samples=5", "--runs-dir", runs.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("add    5 steps from measure: measure-sample1, measure-sample2"), "\(result.stderr)")
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: runs.path).first { !$0.hasPrefix(".") })
        let summary = try String(contentsOf: runs.appending(path: "\(run)/results/summary.tsv"), encoding: .utf8)
        #expect(summary == (1...5).map { "sample\($0)\t7\n" }.joined())
    }

    @Test func checkValidatesWithoutRunning() async throws {
        let cwd = try scratch()
        let script = repositoryRoot.appending(path: "examples/hello/workflow.lua").path
        let result = try await flowlua(["check", script], in: cwd)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "\(script): ok: workflow 'hello', 3 parameters, 3 steps, 2 dependencies\n")
        #expect(!FileManager.default.fileExists(atPath: cwd.appending(path: ".flowlua").path))
        let graph = try await flowlua(["check", "--graph", "examples/wordfreq/workflow.lua"])
        #expect(graph.status == 0)
        #expect(graph.stdout.contains("\"normalise\" -> \"count\";"))
        #expect(graph.stdout.contains("\"summarise\" -> \"report\";"))
    }

    @Test func versionAndHelp() async throws {
        let version = try await flowlua(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0\n")
        let help = try await flowlua(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("check"))
        #expect(help.stdout.contains("Exit status"))
    }
}
