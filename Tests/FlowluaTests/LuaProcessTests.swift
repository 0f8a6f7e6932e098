import Foundation
import Testing

/// `os.execute` and `io.popen` in a script run through `flow.sh`: their
/// commands are stopped with the step and leave nothing behind.
@Suite("os.execute and io.popen are tracked like flow.sh")
struct LuaProcessTests {
    @Test func theyKeepLuasResults() async throws {
        let folder = try workflowFolder("""
            workflow { name = "lua", steps = { code "a" { run = function(ctx)
              local p = io.popen("printf 'one\\\\ntwo\\\\n'"); local lines = {}
              for l in p:lines() do lines[#lines + 1] = l end
              local ok, how, code = p:close()
              assert(#lines == 2 and lines[2] == "two" and ok == true and how == "exit" and code == 0, "popen r")
              local w = io.popen("cat > got.txt", "w"); w:write("abc", "def"); assert(w:close())
              local f = io.open(ctx:path("got.txt")); assert(f:read("a") == "abcdef", "popen w, in the run folder"); f:close()
              local ok2, how2, code2 = os.execute("exit 3")
              assert(ok2 == nil and how2 == "exit" and code2 == 3, "execute")
              assert(os.execute() == true, "a shell is there")
              local q = io.popen("false"); q:read("a"); assert(select(3, q:close()) == 1, "popen's exit")
              assert(not pcall(io.popen, "true", "rw"), "a bad mode")
            end } } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    @Test func aTimeoutStopsACodeStepWaitingInOsExecute() async throws {
        let marker = "120.\(Int.random(in: 100_000...999_999))"
        let folder = try workflowFolder("""
            workflow { name = "t", steps = { code "a" { timeout = 1, run = function(ctx) os.execute("sleep \(marker)") end } } }
            """)
        let started = Date()
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q", "--grace", "1"], in: folder)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("timed out after 1s"), "\(outcome.stderr)")
        #expect(Date().timeIntervalSince(started) < 60, "the command sleeps 120 s")
        #expect(living("sleep \(marker)").isEmpty)
    }

    @Test func whatTheirCommandsStartEndsWithTheStepOrCallback() async throws {
        let marker = String(Int.random(in: 100_000...999_999))
        let folder = try workflowFolder("""
            workflow { name = "escape", steps = {
              code "a" { run = function(ctx)
                os.execute("setsid sleep 600.1\(marker) >/dev/null 2>&1 </dev/null &")
                local p = io.popen("setsid sleep 600.2\(marker) >/dev/null 2>&1 </dev/null & echo started")
                assert(p:read("a") == "started\\n"); p:close()
              end },
              container "b" { commands = { "true" },
                on_success = function() os.execute("setsid sleep 600.3\(marker) >/dev/null 2>&1 </dev/null &") end },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let left = living { $0.contains(marker) }
        #expect(left.isEmpty, "left running: \(left)")
        for pid in left { kill(pid_t(pid) ?? 0, SIGKILL) }
    }
}
