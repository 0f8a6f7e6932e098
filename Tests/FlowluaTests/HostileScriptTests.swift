import Foundation
import Testing

/// Scripts a fuzz campaign found crashing flowlua (a stack overflow, an
/// allocation of exabytes, a trap): each is one clear error, exit 2, with
/// the table path where the problem is.
@Suite("Hostile scripts: clear errors, never a crash")
struct HostileScriptTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var script: String
        var command = "check"
        var status: Int32 = 2
        /// Parts the error message must hold.
        var message: [String]
        var environment: [String: String] = [:]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a 40,000-deep workflow field", script: """
            local t = {} for i = 1, 40000 do t = {t} end
            workflow { name = "deep", description = t, steps = { container "a" { commands = { "true" } } } }
            """, message: ["workflow.lua:2: description: tables nested more than 200 deep (at [1][1][1]"]),
        Case(name: "a workflow field that contains itself", script: """
            local t = {} t.x = t
            workflow { name = "self",
              workers = { w = t }, steps = { container "a" { commands = { "true" } } } }
            """, message: ["workflow.lua:2: workers: cannot copy a table that contains itself (at w.x)"]),
        Case(name: "parameters that contain themselves", script: """
            local t = {} t[1] = t
            workflow { name = "self", parameters = t, steps = {} }
            """, message: ["workflow.lua:2: parameters: cannot copy a table that contains itself (at [1])"]),
        Case(name: "a 40,000-deep step env", script: """
            local t = {} for i = 1, 40000 do t = {x = t} end
            workflow { name = "deep", steps = { container "a" { env = { A = t }, commands = { "true" } } } }
            """, message: ["workflow.lua:2: steps[1].env: tables nested more than 200 deep (at A.x.x.x"]),
        Case(name: "steps whose __len is math.maxinteger", script: """
            workflow { name = 'h', steps = setmetatable({ container "a" { commands = { "true" } } },
              { __len = function() return math.maxinteger end }) }
            """, status: 0, message: ["ok: workflow 'h', 0 parameters, 1 step"]),
        Case(name: "dsl.take patched to return a negative count", script: """
            local d = require('flowlua.dsl') local t = d.take d.take = function(x) local a, b = t(x) return a, b, -5 end
            workflow { name = 'h', steps = { container "a" { commands = { "true" } } } }
            """, message: ["steps: expected a list of steps (-5 announced, 1 present)"]),
        Case(name: "dsl.take patched to return a huge count", script: """
            local d = require('flowlua.dsl') local t = d.take d.take = function(x) local a, b = t(x) return a, b, math.maxinteger end
            workflow { name = 'h', steps = { container "a" { commands = { "true" } } } }
            """, message: ["steps: expected a list of steps"]),
        Case(name: "a 2 GB ${} expansion", script: """
            local s = string.rep('${n}', 200000)
            workflow { name = 'h', parameters = { param.string 'n' { default = string.rep('x', 10000) } },
              steps = { container 's' { commands = { s } } } }
            """, message: ["commands[1]: substituting ${n} in '${n}${n}", "makes a text longer than 16 MiB"]),
        Case(name: "a run variable nested 30,000 deep", script: """
            workflow { name = "dv", steps = { code "s" { run = function(ctx)
              local t = {} for i = 1, 30000 do t = {t} end ctx.vars.v = t end } } }
            """, command: "run", status: 1, message: ["ctx.vars: tables nested more than 200 deep (at v[1][1]"]),
        Case(name: "os.exit in the script", script: """
            os.exit(0)
            workflow { name = 'h', steps = { container "a" { commands = { 42 } } } }
            """, message: ["workflow.lua:1: os.exit cannot end a workflow"]),
        Case(name: "os.exit in a code step", script: """
            workflow { name = 'h', steps = { code "a" { run = function() os.exit(0) end } } }
            """, command: "run", status: 1, message: ["os.exit cannot end a workflow", "error"]),
        Case(name: "200,000 unclosed ${ in a command", script: """
            local s = string.rep('${\\255', 200000)
            workflow { name = 'h', parameters = { param.string 'n' { default = 'x' } }, steps = { container 's' { commands = { s } } } }
            """, status: 0, message: ["ok: workflow 'h', 1 parameter, 1 step"]),
        Case(name: "a script that grows a table without end", script: """
            local t = {} for i = 1, math.huge do t[i] = {i} end
            workflow { name = 'h', steps = { container "a" { commands = { "true" } } } }
            """, message: ["not enough memory (Lua code may hold at most 64M; FLOWLUA_LUA_MEMORY sets it)"],
            environment: ["FLOWLUA_LUA_MEMORY": "64M"]),
        Case(name: "a code step that grows a string without end", script: """
            workflow { name = 'h', steps = { code "a" { run = function() local s = "x" while true do s = s .. s end end } } }
            """, command: "run", status: 1, message: ["FAILED a", "not enough memory (Lua code may hold at most 64M"],
            environment: ["FLOWLUA_LUA_MEMORY": "64M"]),
        Case(name: "a parameter type that is not a name", script: """
            local p = param[true] "x" {}
            """, message: ["workflow.lua:1: param: expected a type name (param.string, ...), got a boolean"]),
        Case(name: "a worker type that is not a name", script: """

            local w = worker[{}] {}
            """, message: ["workflow.lua:2: worker: expected a type name (worker.subprocess, ...), got a table"]),
        Case(name: "the DSL's internals called with nonsense", script: """
            require("flowlua.dsl").take(5)
            """, message: ["workflow.lua:1: take: expected a declared workflow table, got number"]),
        Case(name: "ctx.log called as a function", script: """
            workflow { name = 'h', steps = { code "a" { run = function(ctx)
              ctx.log("x") end } } }
            """, command: "run", status: 1, message: ["workflow.lua:2: ctx:log: call it as a method, ctx:log(...)"]),
        Case(name: "ctx:sh given a number", script: """
            workflow { name = 'h', steps = { code "a" { run = function(ctx)
              ctx:sh(5) end } } }
            """, command: "run", status: 1, message: ["workflow.lua:2: ctx:sh: expected a command string, got number"]),
        Case(name: "a memory limit that is not a size", script: """
            workflow { name = 'h', steps = { container "a" { commands = { "true" } } } }
            """, message: ["FLOWLUA_LUA_MEMORY: 'lots' is not a size"], environment: ["FLOWLUA_LUA_MEMORY": "lots"]),
    ]

    @Test(.timeLimit(.minutes(1)), arguments: cases)
    func aHostileScriptIsOneClearError(_ test: Case) async throws {
        let folder = try workflowFolder(test.script)
        let arguments = test.command == "run" ? ["run", "workflow.lua", "--runs-dir", "runs"] : ["check", "workflow.lua"]
        let outcome = try await flowlua(arguments, in: folder, environment: test.environment)
        #expect(outcome.status == test.status, "\(outcome.stderr)")
        for part in test.message {
            #expect((outcome.stderr + outcome.stdout).contains(part), "\(outcome.stderr)\(outcome.stdout)")
        }
        let messages = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("flowlua: error:") || $0.hasPrefix("flowlua: FAILED") }
        #expect(!messages.contains { $0.contains("stdlib/") }, "an error is placed in the script, not in flowlua's own modules: \(messages)")
    }

    /// Deep nesting within the limit is copied whole: a run variable 150
    /// tables deep reaches the next step intact.
    @Test func nestingWithinTheLimitIsAccepted() async throws {
        let folder = try workflowFolder("""
            local t = {} for i = 1, 150 do t = {t} end
            workflow { name = "deep", steps = {
              code "a" { run = function(ctx) ctx.vars.deep = t end },
              code "b" { after = { "a" }, run = function(ctx)
                local d, n = ctx.vars.deep, 0
                while d[1] do d, n = d[1], n + 1 end
                assert(n == 150, "depth " .. n)
              end },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }
}
