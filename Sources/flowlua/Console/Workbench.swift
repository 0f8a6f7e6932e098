import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Logging

/// The workflow a console session tries out: the script loaded, the
/// parameter values set, one scratch run folder where steps run one at a
/// time or all together, the run variables they leave, and how each step
/// ended there last.
///
/// Used from the console's loop only, one operation at a time.
final class Workbench {
    let host: ScriptHost
    private(set) var workflow: Workflow?
    /// `-p` values given on the command line, and a `--params` file.
    private let assignments: [String]
    private let parameterFile: String?
    /// Values set at the console, over those.
    private var overrides: [String: Value] = [:]
    /// Run variables, as code steps (and code typed at the prompt) left them.
    private(set) var vars: [String: Value] = [:]
    /// How each step ended in the scratch folder, by name.
    private(set) var outcomes: [String: StepReport] = [:]
    private let grace: Duration
    /// Holds the scratch run folder; removed by `close()`.
    private let root: URL
    let scratch: RunFolder

    init(host: ScriptHost, assignments: [String], parameterFile: String?, grace: Duration = .seconds(5)) throws {
        self.host = host
        self.assignments = assignments
        self.parameterFile = parameterFile
        self.grace = grace
        var template = Array(FileManager.default.temporaryDirectory.appending(path: "flowlua-console-XXXXXX").path.utf8CString)
        guard mkdtemp(&template) != nil else { throw CommandFailure("cannot create a scratch folder in \(NSTemporaryDirectory())") }
        root = URL(fileURLWithPath: String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                   isDirectory: true)
        scratch = try RunFolder.create(in: root, id: RunFolder.newID())
    }

    /// Removes the scratch folder, or says where it stays. Once.
    func close(keep: Bool = false) {
        guard !closed else { return }
        closed = true
        if keep {
            FileHandle.standardError.write(Data("flowlua: the scratch run folder stays: \(scratch.path)\n".utf8))
        } else {
            try? FileManager.default.removeItem(at: root)
        }
    }

    private var closed = false

    // MARK: Loading and parameters

    /// Loads the script at `path` in place of the workflow loaded before;
    /// what steps did in the scratch folder stays.
    @discardableResult
    func load(_ path: String, stop: StopHandle? = nil) async throws(ConsoleFailure) -> Workflow {
        guard FileManager.default.fileExists(atPath: path) else { throw ConsoleFailure("cannot open \(path): no such file") }
        let loaded: Workflow
        do { loaded = try await host.load(script: path, stop: stop) } catch { throw ConsoleFailure(error.message) }
        workflow = loaded
        overrides = overrides.filter { name, _ in loaded.parameter(named: name) != nil }
        outcomes = outcomes.filter { name, _ in loaded.step(named: name) != nil }
        await refreshContext()
        return loaded
    }

    /// The parameter values: defaults, then `-p` and `--params`, then those
    /// set at the console.
    func arguments() throws(ConsoleFailure) -> [String: Value] {
        let workflow = try loaded()
        let parameters = workflow.parameters.map { parameter in
            var parameter = parameter
            if overrides[parameter.name] != nil { parameter.required = false }
            return parameter
        }
        var values: [String: Value]
        do { values = try Arguments.bind(parameters, assignments: assignments, file: parameterFile) } catch {
            throw ConsoleFailure(error.description.replacingOccurrences(of: "(give it with -p ", with: "(set it with :set "))
        }
        values.merge(overrides) { $1 }
        return values
    }

    /// Sets parameter `name`, from text (`:set name=value`) or a typed value
    /// (`flow.set(name, value)`), checked as `-p` checks it.
    func set(_ name: String, text: String? = nil, value: Value? = nil) async throws(ConsoleFailure) -> Value {
        let workflow = try loaded()
        guard let parameter = workflow.parameter(named: name) else {
            let known = workflow.parameters.map(\.name)
            throw ConsoleFailure("unknown parameter '\(name)'"
                + (known.isEmpty ? " (the workflow declares none)" : " (known: \(known.joined(separator: ", ")))"))
        }
        let checked: Value
        do {
            if let text {
                checked = try parameter.parse(text)
            } else if let value {
                checked = try parameter.check(value)
            } else {
                throw ConsoleFailure("flow.set: parameter '\(name)' needs a value")
            }
        } catch let error as ConsoleFailure {
            throw error
        } catch {
            throw ConsoleFailure("\(error)")
        }
        overrides[name] = checked
        await refreshContext()
        return checked
    }

    // MARK: Looking

    /// The plan of the loaded workflow with the current values; with
    /// `only`, a plan for running that step alone: the workflow's own
    /// callbacks left out.
    func plan(only: String? = nil) throws(ConsoleFailure) -> Plan {
        var workflow = try loaded()
        if only != nil { workflow.callbacks = Callbacks() }
        do { return try Plan(workflow, arguments: try arguments()) } catch let error as ConsoleFailure {
            throw error
        } catch {
            throw ConsoleFailure("\(error)")
        }
    }

    /// Each step, in order: its kind, what it waits for and how it last
    /// ended in the scratch folder.
    func steps() throws(ConsoleFailure) -> [ConsoleValue] {
        try rows().map { step, after in
            var fields: [String: ConsoleValue] = [
                "name": .string(step.name), "kind": .string(step.kind), "after": .list(after.map(ConsoleValue.string)),
            ]
            fields.merge(outcome(of: step.name)) { $1 }
            return .table(fields)
        }
    }

    /// The `:steps` listing.
    func stepsText() throws(ConsoleFailure) -> String {
        let workflow = try loaded()
        let width = workflow.steps.map(\.name.count).max() ?? 0
        var lines = ["workflow '\(workflow.name)', \(workflow.steps.count) step\(workflow.steps.count == 1 ? "" : "s"), "
            + "scratch folder \(scratch.path)"]
        for (step, after) in try rows() {
            var line = "  \(step.name.padding(toLength: width, withPad: " ", startingAt: 0))  "
                + step.kind.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
            let ended = outcomes[step.name]
            line += ended?.state.status.rawValue ?? "not run"
            if let duration = ended?.state.duration() { line += " in " + Progress.format(duration) }
            if !after.isEmpty { line += "   after " + after.joined(separator: ", ") }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Each step and the names of the steps it waits for (none while the
    /// values given leave the workflow unplanned).
    private func rows() throws(ConsoleFailure) -> [(step: Step, after: [String])] {
        let workflow = try loaded()
        let plan = try? plan()
        return workflow.steps.enumerated().map { index, step in
            (step, (plan?.dependencies[index] ?? []).map { workflow.steps[$0].name })
        }
    }

    /// Step `name` as it would run now in the scratch folder: commands
    /// after substitution, worker, inputs and outputs.
    func show(_ name: String) throws(ConsoleFailure) -> ConsoleValue {
        let view = try resolved(name)
        let (step, resolved) = (view.step, view.resolved)
        var fields: [String: ConsoleValue] = [
            "name": .string(step.name), "kind": .string(step.kind),
            "worker": .table(["name": .string(view.worker.name), "type": .string(view.worker.type.rawValue)]),
            "inputs": .list(resolved.inputs.map(ConsoleValue.string)),
            "outputs": .list(resolved.outputs.map(ConsoleValue.string)),
            "after": .list(view.after.map(ConsoleValue.string)),
            "env": .table(resolved.environment.mapValues(ConsoleValue.string)),
        ]
        if case .container = step { fields["commands"] = .list(resolved.commands.map(ConsoleValue.string)) }
        if let image = resolved.image { fields["image"] = .string(image) }
        if let code = resolved.code { fields[step.kind == "code" ? "source" : "notebook"] = .string(code) }
        if let origin = step.info.origin { fields["origin"] = .string(origin) }
        if let timeout = step.info.timeout { fields["timeout"] = .number(timeout) }
        if step.info.retries > 0 { fields["retries"] = .integer(step.info.retries) }
        return .table(fields)
    }

    /// The `:show` text.
    func showText(_ name: String) throws(ConsoleFailure) -> String {
        let view = try resolved(name)
        let (step, resolved) = (view.step, view.resolved)
        var lines = ["\(step.kind) '\(step.name)'" + (step.info.origin.map { " (\($0))" } ?? "")]
        lines.append("  worker    \(view.worker.name) (\(view.worker.type.rawValue))")
        if let image = resolved.image { lines.append("  image     \(image)") }
        for (items, label) in [(view.after, "after   "), (resolved.inputs, "inputs  "), (resolved.outputs, "outputs ")] {
            lines.append("  \(label)  \(items.isEmpty ? "-" : items.joined(separator: ", "))")
        }
        if !resolved.environment.isEmpty {
            lines.append("  env       " + resolved.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: " "))
        }
        if case .container = step, !resolved.commands.isEmpty {
            lines.append("  commands")
            lines += resolved.commands.map { "    \($0)" }
        }
        if let body = resolved.code {
            lines.append("  \(step.kind == "code" ? "source" : "notebook")")
            lines += body.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    /// Step `name` resolved in the scratch folder, its worker and what it waits for.
    private func resolved(_ name: String) throws(ConsoleFailure)
        -> (step: Step, worker: WorkerSpec, resolved: ResolvedStep, after: [String])
    {
        let (plan, index) = try locate(name)
        let resolved: ResolvedStep
        do { resolved = try plan.resolve(index, vars: vars, folder: scratch) } catch {
            throw ConsoleFailure("\(name): \(error) (it would fail as it starts)")
        }
        return (plan.workflow.steps[index], plan.workers[index], resolved,
                plan.dependencies[index].map { plan.workflow.steps[$0].name })
    }

    // MARK: Running

    /// Runs step `name` (nil: the whole workflow) in the scratch folder,
    /// showing its progress through `observe`; the run variables of the
    /// session go in and come back. A step alone needs the files that the
    /// steps before it make to be there already.
    func run(_ name: String?, interrupts: ConsoleInterrupts,
             observe: @escaping @Sendable (RunEvent) -> Void) async throws(ConsoleFailure) -> RunReport {
        switch await host.contextVars() {
        case .success(let current): vars = current
        case .failure(let failure): throw failure
        }
        let plan: Plan
        var completed = Set<Int>()
        if let name {
            let (full, index) = try locate(name)
            try checkInputs(of: index, in: full)
            plan = try self.plan(only: name)
            completed = Set(plan.workflow.steps.indices).subtracting([index])
        } else {
            plan = try self.plan()
        }
        let driver = RunDriver(
            plan: plan,
            options: RunOptions(runsDirectory: root, killGrace: grace),
            code: host, logger: Logger(label: "flowlua.console"),
            carryover: Carryover(completed: completed, vars: vars), observe: observe)
        let report: RunReport
        do {
            report = try await interrupts.during(.running(driver)) { try await driver.run(id: scratch.id) }
        } catch {
            throw ConsoleFailure("\(error)")
        }
        vars = report.vars
        for (index, step) in report.steps.enumerated() where !completed.contains(index) {
            outcomes[step.name] = step
        }
        await refreshContext()
        return report
    }

    /// A step's result as `last` shows it: status, exit, stdout, stderr,
    /// error, duration, attempts, the scratch folder.
    func result(of step: StepReport) -> ConsoleValue {
        var fields = outcome(report: step)
        fields["step"] = .string(step.name)
        fields["stdout"] = .string(step.result?.stdout ?? "")
        fields["stderr"] = .string(step.result?.stderr ?? "")
        fields["folder"] = .string(scratch.path)
        return .table(fields)
    }

    /// A whole run as `last` shows it: its status, each step's result by
    /// name, the run variables.
    func result(of report: RunReport) -> ConsoleValue {
        var steps: [String: ConsoleValue] = [:]
        for step in report.steps { steps[step.name] = result(of: step) }
        return .table([
            "status": .string(report.status.rawValue), "steps": .table(steps), "folder": .string(scratch.path),
            "vars": .table(report.vars.mapValues(ConsoleValue.init)),
            "duration": .number(report.run.duration() ?? 0),
        ])
    }

    /// The DOT graph of the loaded workflow.
    func graph() throws(ConsoleFailure) -> String { try plan().dot() }

    // MARK: Helpers

    private func loaded() throws(ConsoleFailure) -> Workflow {
        guard let workflow else { throw ConsoleFailure("no workflow loaded (:load file.lua)") }
        return workflow
    }

    private func locate(_ name: String) throws(ConsoleFailure) -> (Plan, Int) {
        let plan = try plan()
        guard let index = plan.workflow.steps.firstIndex(where: { $0.name == name }) else {
            let names = plan.workflow.steps.map(\.name)
            throw ConsoleFailure("no step '\(name)' (steps: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        return (plan, index)
    }

    /// A step run alone finds what the steps before it made: each of its
    /// inputs that another step produces must be in the scratch folder.
    private func checkInputs(of index: Int, in plan: Plan) throws(ConsoleFailure) {
        let step = plan.workflow.steps[index]
        let variables = plan.variables(for: index, vars: vars, folder: scratch)
        for input in plan.inputs[index] {
            let path = (try? variables.substitute(input)) ?? input
            guard !scratch.exists(path.hasSuffix("/") ? String(path.dropLast()) : path) else { continue }
            let producer = plan.dependencies[index].first { other in
                plan.outputs[other].contains { output in
                    let made = (try? plan.variables(for: other, vars: vars, folder: scratch).substitute(output)) ?? output
                    return made == path || RunPath.covers(made, path)
                }
            }
            if let producer {
                let name = plan.workflow.steps[producer].name
                throw ConsoleFailure("'\(step.name)' needs \(path), which '\(name)' makes: run that first (:run \(name))")
            }
        }
    }

    private func outcome(of name: String) -> [String: ConsoleValue] {
        outcomes[name].map(outcome(report:)) ?? ["status": .string("not run")]
    }

    private func outcome(report step: StepReport) -> [String: ConsoleValue] {
        var fields: [String: ConsoleValue] = [
            "status": .string(step.state.status.rawValue), "attempts": .integer(step.attempts),
        ]
        if let code = step.result?.exitCode { fields["exit"] = .integer(Int(code)) }
        if let error = step.result?.error { fields["error"] = .string(error) }
        if let duration = step.state.duration() { fields["duration"] = .number(duration) }
        return fields
    }

    /// Gives the console's `ctx` the current parameters and run variables.
    func refreshContext() async {
        let parameters = (try? arguments()) ?? [:]
        await host.setContext(parameters: parameters, vars: vars, runID: scratch.id, folder: scratch.path)
    }
}
