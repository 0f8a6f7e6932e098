import Foundation
import Testing

/// A step is resolved once as it starts: a `${name}` with no value then
/// fails it, naming the field, before anything of it runs.
@Suite("Resolving a step as it starts")
struct ResolutionTests {
    @Test func aFieldThatCannotBeResolvedFailsTheStepOnceBeforeItStarts() async throws {
        for (field, message) in [
            ("commands = { \"echo ${later} > ran.txt\" }", "commands[1]: unknown variable ${later}"),
            ("env = { X = \"${later}\" }, commands = { \"touch ran.txt\" }", "env.X: unknown variable ${later}"),
            ("inputs = { \"${later}.txt\" }, commands = { \"touch ran.txt\" }", "inputs[1]: unknown variable ${later}"),
        ] {
            // A code step may set any variable: only running the step can tell.
            let folder = try workflowFolder("""
                workflow { name = "late", steps = {
                  code "set" { run = function(ctx) ctx.vars.other = 1 end },
                  container "use" { after = { "set" }, \(field),
                    on_start = function() local f = io.open("started.txt", "w"); f:close() end },
                } }
                """)
            let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs"], in: folder)
            #expect(outcome.status == 1, "\(field): \(outcome.stderr)")
            let failed = outcome.stderr.split(separator: "\n").first { $0.contains("FAILED use (") }
            #expect(failed?.contains("ms): \(message)") == true, "\(field): \(outcome.stderr)")
            #expect(outcome.stderr.components(separatedBy: "unknown variable").count == 2, "reported once: \(outcome.stderr)")
            let run = try onlyRun(in: folder)
            #expect(!FileManager.default.fileExists(atPath: run.appending(path: "ran.txt").path))
            #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "started.txt").path), "on_start is not called")
        }
    }
}
