import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Testing

@Suite("Loading workflow scripts into model values")
struct WorkflowLoaderTests {
    @Test func everyDSLElementBecomesAModelValue() throws {
        let folder = try ScriptFolder("""
            workflow {
              name = "all",
              description = "every element",
              parameters = {
                param.string "s" { default = "x", help = "a string" },
                param.int    "i" { default = 0, min = 0, max = 9 },
                param.float  "f" { default = 0.5 },
                param.bool   "b" { default = false },
                param.select "m" { choices = { "fast", "slow" }, default = "slow" },
                param.file   "names" { default = "data/names.txt", target = "in/names.txt" },
                param.list   "l" { default = { "a", "b" } },
                param.string "r" { required = true },
                param.int    "bare",
              },
              workers = {
                py  = worker.subprocess { vars = { python = "python3", n = 2 }, env = { A = "1", N = 3 } },
                box = worker.docker { image = "local/busybox:1" },
                lua = worker.code {},
                nb  = worker.notebook {},
                nbd = worker.nbdocker {},
              },
              steps = {
                container "c" {
                  worker = "py", image = "img", inputs = { "data/names.txt" }, outputs = { "out/" },
                  commands = { "echo hi" }, env = { X = "y" }, cpus = 2, memory = "1g", retries = 2, retry_delay = 0.5, timeout = 30,
                },
                code "k" { after = { "c" }, run = function(ctx) ctx.vars.k = 1 end },
                code "short" (function(ctx) end),
                notebook "n" { notebook = "nb/report.ipynb", params = { count = "${k}", ratio = 0.5 }, requirements = { "pandas" } },
              },
              on_start = function(run) end,
              on_success = function(run) end,
              on_failure = function(run, step, err) end,
              on_cancel = function(run) end,
            }
            """)
        let workflow = try folder.load().workflow
        #expect(workflow.name == "all")
        #expect(workflow.description == "every element")
        #expect(workflow.parameters.map(\.name) == ["s", "i", "f", "b", "m", "names", "l", "r", "bare"])
        #expect(workflow.parameter(named: "i")?.defaultValue == .integer(0))
        #expect(workflow.parameter(named: "i")?.max == 9)
        #expect(workflow.parameter(named: "b")?.defaultValue == .boolean(false))
        #expect(workflow.parameter(named: "f")?.defaultValue == .float(0.5))
        #expect(workflow.parameter(named: "m")?.kind == .select(choices: ["fast", "slow"]))
        #expect(workflow.parameter(named: "names")?.kind == .file(target: "in/names.txt"))
        #expect(workflow.parameter(named: "l")?.defaultValue == .list([.string("a"), .string("b")]))
        #expect(workflow.parameter(named: "r")?.required == true)
        #expect(workflow.parameter(named: "bare")?.kind == .int)
        #expect(workflow.parameter(named: "s")?.help == "a string")

        #expect(workflow.workers["py"] == WorkerSpec(name: "py", type: .subprocess, env: ["A": "1", "N": "3"],
                                                     vars: ["python": .string("python3"), "n": .integer(2)]))
        #expect(workflow.workers["box"]?.image == "local/busybox:1")
        #expect(workflow.workers.mapValues(\.type) == ["py": .subprocess, "box": .docker, "lua": .code, "nb": .notebook, "nbd": .nbdocker])

        #expect(workflow.steps.map(\.kind) == ["container", "code", "code", "notebook"])
        guard case .container(let c) = workflow.steps[0] else { Issue.record("not a container"); return }
        #expect(c.commands == ["echo hi"])
        #expect(c.image == "img")
        #expect(c.info == StepInfo(name: "c", inputs: ["data/names.txt"], outputs: ["out/"], worker: "py", env: ["X": "y"],
                                   cpus: 2, memory: 1 << 30, retries: 2, retryDelay: 0.5, timeout: 30,
                                   origin: "\(folder.script):23"))
        guard case .code(let k) = workflow.steps[1] else { Issue.record("not code"); return }
        #expect(k.info.after == ["c"])
        #expect(k.function.location == "\(folder.script):27")
        #expect(k.function.source == "    code \"k\" { after = { \"c\" }, run = function(ctx) ctx.vars.k = 1 end },")
        guard case .notebook(let n) = workflow.steps[3] else { Issue.record("not a notebook"); return }
        #expect(n.notebook == "nb/report.ipynb")
        #expect(n.output == "nb/report.out.ipynb")
        #expect(n.params == ["count": .string("${k}"), "ratio": .float(0.5)])
        #expect(n.requirements == ["pandas"])
        #expect(workflow.callbacks.onStart != nil && workflow.callbacks.onSuccess != nil)
        #expect(workflow.callbacks.onFailure != nil && workflow.callbacks.onCancel != nil)
        #expect(workflow.directory == folder.url.path)
    }

    @Test func workersMayBeAListWithNames() throws {
        let folder = try ScriptFolder("""
            workflow { name = "w", workers = { { name = "sh", type = "subprocess", vars = { x = "1" } } },
              steps = { container "a" { worker = "sh", commands = { "echo ${x}" } } } }
            """)
        #expect(try folder.load().workflow.workers["sh"]?.vars == ["x": .string("1")])
    }

    @Test func aScriptMayReturnItsWorkflow() throws {
        let folder = try ScriptFolder("return workflow { name = \"r\", steps = {} }")
        #expect(try folder.load().workflow.name == "r")
    }

    @Test func syntaxErrorsNameFileAndLine() throws {
        let folder = try ScriptFolder("workflow {\n  name = \"x\"\n  steps = {},\n}\n")
        #expect(folder.error() == "\(folder.script):3: '}' expected (to close '{' at line 1) near 'steps'")
    }

    @Test func runtimeErrorsNameFileAndLine() throws {
        let folder = try ScriptFolder("local n = nil\n\nworkflow { name = \"x\" .. n, steps = {} }\n")
        #expect(folder.error() == "\(folder.script):3: attempt to concatenate a nil value (local 'n')")
    }

    @Test func aWrongFieldTypeNamesLineAndTablePath() throws {
        let folder = try ScriptFolder("""
            workflow {
              name = "x",
              steps = {
                container "a" { commands = { "true" } },
                container "b" {
                  commands = { 42 },
                },
              },
            }
            """)
        #expect(folder.error() == "\(folder.script):5: steps[2].commands[1]: expected string, got number")
    }

    @Test func unknownAndMisplacedFieldsAreNamed() throws {
        let typo = try ScriptFolder("workflow { name = 'x', steps = {\n container 'a' { comands = { 'true' } } } }")
        #expect(typo.error() == "\(typo.script):2: steps[1].comands: unknown field")
        let misplaced = try ScriptFolder("workflow { name = 'x', steps = {\n code 'a' { commands = { 'true' }, run = print } } }")
        #expect(misplaced.error() == "\(misplaced.script):2: steps[1].commands: not a field of a code step (it belongs to container steps)")
        let missing = try ScriptFolder("workflow { name = 'x', steps = {\n code 'a' {} } }")
        #expect(missing.error() == "\(missing.script):2: steps[1]: missing field 'run' (the step's function)")
        let run = try ScriptFolder("workflow { name = 'x', steps = {\n code 'a' { run = 'print' } } }")
        #expect(run.error() == "\(run.script):2: steps[1].run: expected function, got string")
        let top = try ScriptFolder("workflow { nmae = 'x', steps = {} }")
        #expect(top.error() == "\(top.script):1: nmae: unknown field")
    }

    @Test func fieldsTheConstructorSetsAndNonTablesAreRefusedWithTheirNames() throws {
        let cases = [
            ("workflow { name = 'x', steps = {\n container 'a' { kind = 'code' } } }",
             "2: container 'a': field 'kind' is set by the constructor"),
            ("workflow { name = 'x', steps = {\n code 'b' { name = 'c', run = print } } }",
             "2: code 'b': field 'name' is set by the constructor"),
            ("workflow { name = 'x', steps = {\n container 'a' (42) } }",
             "2: container 'a': expected a table of fields, got number"),
            ("workflow { name = 'x', workers = { w = worker.docker { type = 'slurm' } },\n steps = {} }",
             "1: worker.docker: field 'type' is set by the constructor"),
            ("workflow { name = 'x', parameters = {\n param.int 'n' { name = 'm' } }, steps = {} }",
             "2: param.int 'n': field 'name' is set by the constructor"),
            ("workflow { name = 'x', __kind = 'y', steps = {} }",
             "1: workflow: field '__kind' is set by the constructor"),
            ("workflow 'x'", "1: workflow: expected a table of fields, got string"),
        ]
        for (source, message) in cases {
            let folder = try ScriptFolder(source)
            #expect(folder.error() == "\(folder.script):\(message)", Comment(rawValue: source))
        }
    }

    @Test func stepTablesThatAreNotPlainFieldsAreRefusedWithTheirPaths() throws {
        let cases = [
            ("container 'a' { commands = { 'true', x = 1 } }", "steps[1].commands: expected a list, got a table with key 'x'"),
            ("container 'a' { commands = { 'true' }, inputs = { 'a', nil, 'c' } }",
             "steps[1].inputs: expected a list, got a table with key '3'"),
            ("container 'a' { commands = 'true' }", "steps[1].commands: expected list, got string"),
            ("container 'a' { 'true', commands = {} }", "steps[1][1]: unexpected list item in a table of named fields"),
            ("container 'a' { [true] = 1, commands = {} }", "steps[1]: unexpected key true in a table of named fields"),
            ("container 'a' { commands = { 'true' }, network = 1 }", "steps[1].network: expected boolean, got number"),
            ("notebook 'n' { notebook = 'a.ipynb', commands = { 'x' } }",
             "steps[1].commands: not a field of a notebook step (it belongs to container steps)"),
            ("container 'a' { commands = {}, env = { X = {} } }", "steps[1].env.X: expected string, got table"),
            ("container '' { commands = {} }", "container: expected a name string, got an empty string"),
            ("code(7) { run = print }", "code: expected a name string, got number"),
            ("container() { commands = {} }", "container: expected a name string, got nil"),
        ]
        for (step, message) in cases {
            let folder = try ScriptFolder("workflow { name = 'x', steps = {\n \(step) } }")
            #expect(folder.error() == "\(folder.script):2: \(message)", Comment(rawValue: step))
        }
        let bare = try ScriptFolder("workflow { name = 'x',\n steps = { 42 } }")
        #expect(bare.error() == "\(bare.script):1: steps[1]: expected a step (container \"name\" { ... }, "
            + "code \"name\" { ... } or notebook \"name\" { ... }), got number")
        let kind = try ScriptFolder("workflow { name = 'x',\n steps = { { kind = 'shell', name = 'a' } } }")
        #expect(kind.error() == "\(kind.script):1: steps[1].kind: unknown step kind 'shell' (container, code, notebook)")
    }

    @Test func eachStepKeepsTheLineAndFileThatDeclaredIt() throws {
        let folder = try ScriptFolder("""
            local more = require("more")
            local shared = { commands = { "true" } }
            workflow { name = "x", steps = {
              container "a" (shared),
              more.step,
              container "b" (shared),
              { kind = "container", name = "c", commands = { "true" } },
            } }
            """, files: ["more.lua": "return { step = container 'm' { commands = { 'false' } } }\n"])
        let steps = try folder.load().workflow.steps
        #expect(steps.map(\.name) == ["a", "m", "b", "c"])
        #expect(steps.map(\.info.origin) == ["\(folder.script):4", folder.url.appending(path: "more.lua").path + ":1",
                                             "\(folder.script):6", nil])
        guard case .container(let a) = steps[0], case .container(let m) = steps[1] else {
            Issue.record("expected container steps")
            return
        }
        #expect(a.commands == ["true"] && m.commands == ["false"])
    }

    @Test func aStepMadeByAHelperIsPlacedWhereTheHelperWasCalled() throws {
        // The helper tail-calls the constructor: its frame is gone, so the
        // line is the caller's, and two such steps are told apart.
        let folder = try ScriptFolder("""
            local function step(name)
              return container(name)
            end
            workflow { name = "x", steps = {
              step "a" { commands = { "true" } },
              step "b" { commands = { "true" } },
            } }
            """)
        let steps = try folder.load().workflow.steps
        #expect(steps.map(\.info.origin) == ["\(folder.script):5", "\(folder.script):6"])
        let bad = try ScriptFolder("local function step(n) return container(n) end\nworkflow { name = 'x', steps = {\n step(5) } }")
        #expect(bad.error() == "\(bad.script):3: container: expected a name string, got number")
    }

    @Test func resourcesRetriesAndTimeoutsAreChecked() throws {
        func error(_ fields: String) throws -> String {
            try ScriptFolder("workflow { name = 'x', steps = {\n container 'a' { commands = { 'true' }, \(fields) } } }",
                             name: "resources\(fields.filter(\.isLetter))").error()
        }
        #expect(try error("memory = 'lots'").hasSuffix(":2: steps[1].memory: expected a size like \"512M\" or \"2G\", got 'lots'"))
        #expect(try error("memory = 2048").hasSuffix(":2: steps[1].memory: expected string, got number"))
        #expect(try error("cpus = 0").hasSuffix(":2: steps[1].cpus: must be more than 0"))
        #expect(try error("cpus = math.huge").hasSuffix(":2: steps[1].cpus: must be more than 0"))
        #expect(try error("retries = -1").hasSuffix(":2: steps[1].retries: must be from 0 to 1000000"))
        #expect(try error("retries = math.maxinteger").hasSuffix(":2: steps[1].retries: must be from 0 to 1000000"))
        #expect(try error("retry_delay = -2").hasSuffix(":2: steps[1].retry_delay: must be from 0 to 315576000 seconds"))
        #expect(try error("retry_delay = 0/0").hasSuffix(":2: steps[1].retry_delay: must be from 0 to 315576000 seconds"))
        #expect(try error("timeout = 0").hasSuffix(":2: steps[1].timeout: must be more than 0 and at most 315576000 seconds"))
        #expect(try error("timeout = math.huge").hasSuffix(":2: steps[1].timeout: must be more than 0 and at most 315576000 seconds"))
        #expect(try error("timeout = 1e30").hasSuffix(":2: steps[1].timeout: must be more than 0 and at most 315576000 seconds"))
        #expect(try error("on_success = 'print'").hasSuffix(":2: steps[1].on_success: expected function, got string"))
    }

    @Test func stepCallbacksAreKept() throws {
        let folder = try ScriptFolder("""
            workflow { name = "x", steps = {
              container "a" { commands = { "true" },
                on_start = function(step) end, on_success = function(step) end,
                on_failure = function(step, err) end, on_cancel = function(step) end },
              container "b" { commands = { "true" } },
            } }
            """)
        let steps = try folder.load().workflow.steps
        let callbacks = steps[0].info.callbacks
        #expect(callbacks.onStart?.location == "\(folder.script):3")
        #expect(callbacks.onSuccess != nil && callbacks.onFailure?.location == "\(folder.script):4")
        #expect(callbacks.onCancel != nil)
        #expect(steps[1].info.callbacks == Callbacks())
    }

    @Test func parameterDeclarationsAreChecked() throws {
        let badDefault = try ScriptFolder("workflow { name = 'x', steps = {}, parameters = {\n param.int 'n' { default = 'ten' } } }")
        #expect(badDefault.error() == "\(badDefault.script):2: parameters[1].default: expected an integer, got string 'ten'")
        let outOfRange = try ScriptFolder("workflow { name = 'x', steps = {}, parameters = {\n param.int 'n' { default = 5, max = 3 } } }")
        #expect(outOfRange.error() == "\(outOfRange.script):2: parameters[1].default: 5 is above the maximum 3")
        let type = try ScriptFolder("workflow { name = 'x', steps = {}, parameters = {\n param.integr 'n' {} } }")
        #expect(type.error().hasPrefix("\(type.script):2: parameters[1].type: unknown parameter type 'integr'"))
        let name = try ScriptFolder("workflow { name = 'x', steps = {}, parameters = {\n param.int(3) } }")
        #expect(name.error() == "\(name.script):2: param.int: expected a name string, got number")
        let select = try ScriptFolder("workflow { name = 'x', steps = {}, parameters = {\n param.select 'm' {} } }")
        #expect(select.error() == "\(select.script):2: parameters[1].choices: a select parameter needs a non-empty list of choices")
    }

    @Test func workersAreChecked() throws {
        let folder = try ScriptFolder("workflow { name = 'x', steps = {}, workers = {\n w = worker.dockr {} } }")
        #expect(folder.error().hasPrefix("\(folder.script):2: workers.w.type: unknown worker type 'dockr'"))
    }

    @Test func aScriptMustDeclareExactlyOneWorkflow() throws {
        let none = try ScriptFolder("local x = 1\n")
        #expect(none.error().hasPrefix("\(none.script): the script declares no workflow"))
        let two = try ScriptFolder("workflow { name = 'a', steps = {} }\nworkflow { name = 'b', steps = {} }\n")
        #expect(two.error() == "\(two.script):2: workflow: a script declares one workflow (already declared at \(two.script):1)")
        let step = try ScriptFolder("workflow { name = 'a', steps = { 'echo hi' } }")
        #expect(step.error().hasPrefix("\(step.script):1: steps[1]: expected a step (container \"name\""))
    }

    @Test func modulesNextToTheScriptLoad() throws {
        let folder = try ScriptFolder("""
            local names = require "lib.names"
            workflow { name = names.workflow, steps = {} }
            """, files: ["lib/names.lua": "return { workflow = 'from-module' }"])
        #expect(try folder.load().workflow.name == "from-module")
    }

    @Test func flowluaPathAddsAndOverridesModules() throws {
        let extra = try ScriptFolder("", files: [
            "mods/shared.lua": "return { where = 'FLOWLUA_PATH' }",
            "mods/flowlua/flow.lua": "return { marker = 'overridden' }",
        ])
        let folder = try ScriptFolder("""
            local shared = require "shared"
            workflow { name = shared.where .. "+" .. tostring(flow.marker), steps = {} }
            """, files: ["shared.lua": "return { where = 'script folder' }"])
        #expect(try folder.load().workflow.name == "script folder+nil")
        #expect(try folder.load(searchPath: extra.url.appending(path: "mods").path).workflow.name == "FLOWLUA_PATH+overridden")
        let missing = try ScriptFolder("require 'nowhere'")
        let message = missing.error()
        #expect(message.hasPrefix("\(missing.script):1: module 'nowhere' not found"))
        #expect(message.contains("no embedded module 'nowhere'"))
    }
}
