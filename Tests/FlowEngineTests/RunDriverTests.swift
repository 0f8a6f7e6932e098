import FlowEngine
import FlowModel
import Foundation
import Testing

@Suite("Running container steps as real processes")
struct RunDriverTests {
    @Test func stepsRunInTheRunFolderWithSubstitutedCommands() async throws {
        let workflow = Workflow(
            name: "w", parameters: [Parameter(name: "who", kind: .string)],
            workers: ["sh": WorkerSpec(name: "sh", type: .subprocess, env: ["GREETING": "Hi"], vars: ["suffix": .string("!")])],
            steps: [container("greet", ["mkdir -p out", "echo \"$GREETING ${who}${suffix}\" > out/g.txt", "pwd > out/pwd.txt"],
                              outputs: ["out/g.txt"], worker: "sh")])
        let (report, _) = try await run(workflow, arguments: ["who": .string("Ada")])
        #expect(report.status == .success)
        #expect(report.file("out/g.txt") == "Hi Ada!\n")
        #expect(report.file("out/pwd.txt")?.trimmingCharacters(in: .newlines) == URL(fileURLWithPath: report.folder).resolvingSymlinksInPath().path)
    }

    @Test func shellVariablesAreNotMangled() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("shell", ["set -- one two; echo \"$HOME|$1|$#|${HOME:-x}\" > o.txt; echo $$ > pid.txt"], outputs: ["o.txt"]),
        ])
        let (report, _) = try await run(workflow)
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        #expect(report.file("o.txt") == "\(home)|one|2|\(home)\n")
        #expect(Int(report.file("pid.txt")?.trimmingCharacters(in: .newlines) ?? "") != nil)
    }

    @Test func stepEnvironmentOverridesWorkerAndInherited() async throws {
        let workflow = Workflow(
            name: "w", workers: ["sh": WorkerSpec(name: "sh", type: .subprocess, env: ["A": "worker", "B": "worker"])],
            steps: [container("env", ["echo \"$A $B $PATH\" > env.txt"], env: ["B": "step"], worker: "sh")])
        let (report, _) = try await run(workflow)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        #expect(report.file("env.txt") == "worker step \(path)\n")
    }

    @Test func outputIsStreamedToLogFilesAndKeptInTheResult() async throws {
        let workflow = Workflow(name: "w", steps: [container("talk", ["echo out1; echo err1 >&2", "echo out2"])])
        let (report, _) = try await run(workflow)
        let result = try #require(report.step("talk")?.result)
        #expect(result.stdout == "out1\nout2\n")
        #expect(result.stderr == "err1\n")
        #expect(report.file(".logs/talk.stdout") == "out1\nout2\n")
        #expect(report.file(".logs/talk.stderr") == "err1\n")
    }

    @Test func largeOutputIsStreamedWholeAndTheResultKeepsItsTail() async throws {
        let workflow = Workflow(name: "w", steps: [container("loud", ["seq 1 2000000", "seq 1 10 >&2"])])
        let (report, _) = try await run(workflow)
        #expect(report.status == .success)
        let log = try #require(report.file(".logs/loud.stdout"))
        #expect(log.utf8.count == 14_888_896)
        #expect(log.hasSuffix("1999999\n2000000\n"))
        let result = try #require(report.step("loud")?.result)
        #expect(result.stdout.utf8.count == 1 << 20)
        #expect(result.stdout.hasSuffix("2000000\n"))
        #expect(result.stderr == (1...10).map { "\($0)\n" }.joined())
    }

    @Test func aStreamWithNoOutputLeavesNoLogFile() async throws {
        let workflow = Workflow(name: "w", steps: [container("quiet", ["true"]), container("talks", ["echo hi >&2"])])
        let (report, _) = try await run(workflow)
        #expect(report.status == .success)
        #expect(report.file(".logs/quiet.stdout") == nil)
        #expect(report.file(".logs/quiet.stderr") == nil)
        #expect(report.file(".logs/talks.stdout") == nil)
        #expect(report.file(".logs/talks.stderr") == "hi\n")
    }

    @Test func aProcessThatLeftTheSessionCannotHoldTheStepOpen() async throws {
        let marker = uniqueSleep()
        let workflow = Workflow(name: "w", steps: [container("escape", ["setsid sleep \(marker) &", "echo done"])])
        let started = ContinuousClock.now
        let (report, _) = try await run(workflow)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(report.status == .success)
        #expect(report.step("escape")?.result?.stdout == "done\n")
        let left = livingProcesses(matching: "sleep \(marker)")
        #expect(left.isEmpty, "the escaped sleep outlived its step")
        for pid in left { kill(pid, SIGKILL) }
    }

    @Test func theFirstFailingCommandFailsTheStepAndTheRun() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("bad", ["echo before", "echo 'no such thing' >&2; exit 3", "echo after > after.txt"]),
            container("later", ["touch later.txt"]),
            container("downstream", ["true"], after: ["bad"]),
        ])
        let (report, events) = try await run(workflow)
        #expect(report.status == .error)
        let bad = try #require(report.step("bad"))
        #expect(bad.state.status == .error)
        #expect(bad.result?.exitCode == 3)
        #expect(bad.result?.failedCommand == 1)
        #expect(bad.result?.error == "command 2 exited with code 3: echo 'no such thing' >&2; exit 3")
        #expect(bad.result?.stderr == "no such thing\n")
        #expect(report.file("after.txt") == nil)
        #expect(report.step("later")?.state.status == .notRun)
        #expect(report.step("downstream")?.state.status == .notRun)
        #expect(report.step("downstream")?.state.messages == ["not run: depends on 'bad', which failed"])
        #expect(events.contains { if case .runFinished(.error, _, _) = $0 { true } else { false } })
    }

    @Test func aMissingOutputFailsTheStepNamingTheFile() async throws {
        let workflow = Workflow(name: "w", steps: [container("lazy", ["touch a.txt"], outputs: ["a.txt", "results/b.txt"])])
        let (report, _) = try await run(workflow)
        #expect(report.status == .error)
        #expect(report.step("lazy")?.result?.error == "declared output 'results/b.txt' was not produced")
    }

    @Test func inputsAreStagedFromTheWorkflowFolder() async throws {
        let source = try temporaryFolder()
        try FileManager.default.createDirectory(at: source.appending(path: "data/sub"), withIntermediateDirectories: true)
        try "alpha\n".write(to: source.appending(path: "data/a.txt"), atomically: true, encoding: .utf8)
        try "beta\n".write(to: source.appending(path: "data/sub/b.txt"), atomically: true, encoding: .utf8)
        let workflow = Workflow(name: "w", steps: [
            container("cat", ["cat data/a.txt data/sub/b.txt > all.txt"], inputs: ["data/"], outputs: ["all.txt"]),
        ], directory: source.path)
        let (report, _) = try await run(workflow)
        #expect(report.file("all.txt") == "alpha\nbeta\n")
    }

    @Test func independentStepsOverlapWhenJobsAllow() async throws {
        let workflow = Workflow(name: "w", steps: [
            container("a", ["sleep 0.5; date +%s%N > a.end"]), container("b", ["date +%s%N > b.start; sleep 0.5"]),
        ])
        let (report, _) = try await run(workflow, jobs: 2)
        let aEnd = Int(report.file("a.end")?.trimmingCharacters(in: .newlines) ?? "") ?? 0
        let bStart = Int(report.file("b.start")?.trimmingCharacters(in: .newlines) ?? "") ?? .max
        #expect(bStart < aEnd, "b must start before a ends when two jobs run at once")
    }
}
