import Foundation
import Testing

@Suite("Ctrl-C and SIGTERM cancel a run", .serialized)
struct CancelTests {
    /// Starts flowlua on a script, sends `signals` once `ready` appears in
    /// its run folder, and waits for it.
    func interrupt(_ script: String, signals: [Int32], gap: Double = 0.3,
                   grace: Int = 1) async throws -> (Outcome, URL, Double) {
        let folder = try scratch()
        let file = folder.appending(path: "flow.lua")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: flowluaBinary)
        process.arguments = [file.path, "--runs-dir", "runs", "--grace", String(grace)]
        process.currentDirectoryURL = folder
        let capture = try Capture(of: process)
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !FileManager.default.fileExists(atPath: folder.appending(path: "ready").path) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let sent = Date()
        for (i, signal) in signals.enumerated() {
            if i > 0 { try await Task.sleep(for: .seconds(gap)) }
            kill(process.processIdentifier, signal)
        }
        let outcome = try await offPool { () -> Outcome in
            process.waitWithoutSpinning()
            return capture.outcome()
        }
        return (outcome, folder, Date().timeIntervalSince(sent))
    }

    /// A sleep of two minutes, unique to the test: bounds of a minute below
    /// tell "stopped" from "waited it out" even on a loaded machine.
    static func marker() -> String { "120.\(Int.random(in: 100_000...999_999))" }

    static func script(_ marker: String, trapTerm: Bool = false) -> String {
        let trap = trapTerm ? "trap '' TERM; " : ""
        return """
            workflow { name = "long", steps = {
              container "sleeper" { commands = { "\(trap)touch ../../ready; sleep \(marker) & \(trap)sleep \(marker); wait" } },
              container "after" { after = { "sleeper" }, commands = { "touch after.txt" } },
            }, on_cancel = function(run) print("on_cancel " .. run.status) end }
            """
    }

    @Test func ctrlCStopsTheStepsAndExits130() async throws {
        let marker = Self.marker()
        let (result, folder, took) = try await interrupt(Self.script(marker), signals: [SIGINT])
        #expect(result.status == 130)
        #expect(took < 60, "took \(took) s")
        #expect(result.stdout == "on_cancel canceled\n")
        #expect(result.stderr.contains("flowlua: interrupted: canceling the run (again to stop at once)"))
        #expect(result.stderr.contains("  sleeper  canceled "))
        #expect(result.stderr.contains("  after    canceled -"))
        #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "runs").path + "/after.txt"))
        #expect(living("sleep \(marker)").isEmpty)
    }

    @Test func ctrlCDuringOnStartCancelsTheRunBeforeAnyStep() async throws {
        let marker = Self.marker()
        let script = """
            workflow { name = "early", steps = { container "sleeper" { commands = { "sleep \(marker)" } } },
              on_start = function(run)
                io.open("ready", "w"):close()
                local t = os.clock() while os.clock() - t < 1 do end
              end }
            """
        let (result, _, took) = try await interrupt(script, signals: [SIGINT])
        #expect(result.status == 130, "\(result.stderr)")
        #expect(took < 60, "took \(took) s")
        #expect(result.stderr.contains("  sleeper  canceled -"), "\(result.stderr)")
        #expect(living("sleep \(marker)").isEmpty)
    }

    @Test func sigtermExits143() async throws {
        let marker = Self.marker()
        let (result, _, _) = try await interrupt(Self.script(marker), signals: [SIGTERM])
        #expect(result.status == 143)
        #expect(result.stderr.contains("terminated: canceling the run"))
        #expect(living("sleep \(marker)").isEmpty)
    }

    @Test func aSecondCtrlCStopsAtOnce() async throws {
        let marker = Self.marker()
        // The step ignores SIGTERM, so the first Ctrl-C waits out the grace period.
        let (result, _, took) = try await interrupt(Self.script(marker, trapTerm: true), signals: [SIGINT, SIGINT], gap: 0.2,
                                              grace: 110)
        #expect(result.status == 130)
        #expect(took < 60, "the second Ctrl-C does not wait for the 110 s grace: took \(took) s")
        #expect(result.stderr.contains("flowlua: stopping at once"))
        usleep(100_000)
        #expect(living("sleep \(marker)").isEmpty)
    }

    @Test func onlyOneCtrlCWaitsForTheGraceThenKills() async throws {
        let marker = Self.marker()
        let (result, _, took) = try await interrupt(Self.script(marker, trapTerm: true), signals: [SIGINT])
        #expect(result.status == 130)
        #expect(took >= 0.9 && took < 60, "SIGKILL after the 1 s grace: took \(took)")
        #expect(living("sleep \(marker)").isEmpty)
    }
}
