import Foundation
import Testing

/// A step that prints without end fills neither the disk nor flowlua's
/// memory: a log keeps its first `FLOWLUA_LOG_LIMIT` bytes, a note and its
/// last 8 KiB; `flow.sh` returns at most 64 MiB of each stream the same way.
@Suite("Output limits")
struct OutputLimitTests {
    @Test func aLogPastItsLimitKeepsItsStartANoteAndItsEnd() async throws {
        let space = try Workspace("""
            workflow { name = "chatty", steps = { container "a" { commands = {
              "head -c 3000000 /dev/zero | tr '\\\\0' y; echo; echo LAST-LINE; echo why >&2; exit 3" } } } }
            """)
        let outcome = try await flowlua(["run", "flow.lua"], in: space.folder, environment: ["FLOWLUA_LOG_LIMIT": "1M"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("| why"), "the step's stderr is shown as ever: \(outcome.stderr)")
        let id = try #require(try await space.runIDs().first)
        let log = try #require(space.file(".flowlua/runs/\(id)/.logs/a.stdout"))
        let note = "\n[flowlua: \(3_000_011 - (1 << 20) - 8192) bytes of output past the 1M limit were dropped; its last 8K follow]\n"
        #expect(log.utf8.count == (1 << 20) + note.utf8.count + 8192)
        #expect(log.hasPrefix(String(repeating: "y", count: 1 << 20) + note))
        #expect(log.hasSuffix("y\nLAST-LINE\n"))
    }

    @Test func flowShReturnsAtMost64MiBOfAStream() async throws {
        let space = try Workspace("""
            workflow { name = "sh", steps = { code "a" { run = function(ctx)
              local r = ctx:sh("head -c 70000000 /dev/zero | tr '\\\\0' x; echo; echo THE-END")
              ctx.vars.size = #r.stdout
              ctx.vars.note = r.stdout:match("%[flowlua:[^%]]*%]")
              ctx.vars.last = r.stdout:sub(-8)
            end } } }
            """)
        let outcome = try await flowlua(["run", "flow.lua"], in: space.folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let id = try #require(try await space.runIDs().first)
        let vars = try #require((try await space.status(id))["run"] as? [String: Any])["vars"] as? [String: Any]
        let note = "[flowlua: \(70_000_009 - (64 << 20) - 8192) bytes of output past the 64M limit were dropped; its last 8K follow]"
        #expect(vars?["note"] as? String == note)
        #expect(vars?["size"] as? Int == (64 << 20) + note.utf8.count + 2 + 8192)
        #expect(vars?["last"] as? String == "THE-END\n")
    }

    @Test func aLogLimitThatIsNotASizeIsAnErrorBeforeAnythingRuns() async throws {
        let space = try Workspace(#"workflow { name = "w", steps = { container "a" { commands = { "true" } } } }"#)
        let outcome = try await flowlua(["run", "flow.lua"], in: space.folder, environment: ["FLOWLUA_LOG_LIMIT": "lots"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "flowlua: error: FLOWLUA_LOG_LIMIT: 'lots' is not a size (say 100M, 4G, or 0 for no limit)\n")
        #expect(!FileManager.default.fileExists(atPath: space.folder.appending(path: ".flowlua").path))
    }
}
