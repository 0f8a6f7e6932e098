import FlowEngine
import FlowModel
import Testing

@Suite("The run as a state machine: code chains")
struct RunStateChainTests {
    @Test func codeStepsInALineStartAsOneChainAndEachLinkCountsOnceItBegan() throws {
        var run = try Machine([codeStep("a"), codeStep("b", after: ["a"]), codeStep("c", after: ["b"])], chains: true)
        let launch = try #require(launches(run.begin()).first)
        #expect(launch.chain == [0, 1, 2])
        #expect(run.state.running == [0])
        let first = run.end("a", nextLinkBegun: true)
        #expect(first.contains(.follow(1)))
        #expect(first.contains(.observe(.stepStarted(step: "b", index: 1, attempt: 1))))
        #expect(started(first).isEmpty)
        #expect(run.state.running == [1])
        // The next link had not begun (a cancel came, say): the driver starts it as any step.
        let second = run.end("b", nextLinkBegun: false)
        #expect(!second.contains(.follow(2)))
        #expect(launches(second).map(\.chain) == [[]], "a single step is no chain")
        #expect(run.end("c").last == .finish)
    }

    @Test func aFailedLinkEndsTheChainAndBlocksTheRest() throws {
        var run = try Machine([codeStep("a"), codeStep("b", after: ["a"]), codeStep("c", after: ["b"])], chains: true)
        _ = run.begin()
        let failed = run.fail("a")
        #expect(finished(failed) == ["a": .error, "b": .notRun, "c": .notRun])
        #expect(failed.last == .finish)
    }

    @Test func noChainWhileAnythingElseRunsOrWhereTheDriverHasWorkBetweenLinks() throws {
        // Another step runs beside the head.
        var beside = try Machine([codeStep("a"), codeStep("b", after: ["a"]), step("x")], chains: true)
        #expect(launches(beside.begin()).map(\.chain) == [[], []])
        // A link with a timeout, an on_success or a second dependency is no link.
        for steps in [[codeStep("a"), codeStep("b", after: ["a"], timeout: 5)],
                      [codeStep("a"), codeStep("b", after: ["a"], callbacks: Callbacks(onSuccess: function))],
                      [codeStep("a"), codeStep("b", after: ["a"]), codeStep("c", after: ["a"])],
                      [codeStep("a", timeout: 5), codeStep("b", after: ["a"])]] {
            var run = try Machine(steps, jobs: 1, chains: true)
            #expect(launches(run.begin()).first?.chain == [], "\(steps.map(\.name))")
        }
        // No Lua state to chain on, or --resume.
        var none = try Machine([codeStep("a"), codeStep("b", after: ["a"])], chains: false)
        #expect(launches(none.begin()).first?.chain == [])
        var resume = try Machine([codeStep("a"), codeStep("b", after: ["a"])], prepares: true, chains: true, resume: true)
        _ = resume.begin()
        #expect(launches(resume.on { $0.prepared(0) }).first?.chain == [])
    }

    @Test func aCancelRevokesTheLinksThatHaveNotBegun() throws {
        var run = try Machine([codeStep("a"), codeStep("b", after: ["a"])], chains: true)
        _ = run.begin()
        let cancel = run.on { $0.cancel() }
        #expect(cancel.contains(.revokeChains))
        #expect(stops(cancel) == [0])
        #expect(finished(run.killed("a")) == ["a": .canceled])
        #expect(run.log.last == .finish)
        _ = run.close()
        #expect(run.status("b") == .canceled)
    }

    @Test func chainsAreAtMostTheirLengthLong() throws {
        let steps = (0..<300).map { codeStep("s\($0)", after: $0 == 0 ? [] : ["s\($0 - 1)"]) }
        var run = try Machine(steps, chains: true)
        let chain = try #require(launches(run.begin()).first?.chain)
        #expect(chain == Array(0..<256))
        var actions: [RunAction] = []
        for link in 0..<256 { actions = run.end("s\(link)", nextLinkBegun: link < 255) }
        #expect(launches(actions).first?.chain == Array(256..<300), "the next chain starts where the last ended")
    }
}
