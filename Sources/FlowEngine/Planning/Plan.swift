import FlowModel
import Foundation

/// A workflow checked and bound to its arguments, ready to run: the DAG of
/// its steps, the worker of each, and the files to stage into the run folder.
public struct Plan: Sendable {
    public let workflow: Workflow
    public let arguments: [String: Value]
    /// For each step (by index), the steps it waits for.
    public internal(set) var dependencies: [[Int]]
    /// For each step, the worker it runs on.
    public let workers: [WorkerSpec]
    /// For each step, its input and output paths, normalised; `${}` left in
    /// those that name run variables, resolved when the step starts.
    public let inputs: [[String]]
    public let outputs: [[String]]
    /// Files and folders copied into the run folder before the first step.
    public let staged: [Staged]
    /// What the plan was made from, to plan again with steps added.
    let given: (arguments: [String: Value], directory: String, checkFiles: Bool)

    /// A file copied from `source` (absolute) to `target` (relative to the run folder).
    public struct Staged: Sendable, Hashable {
        public var source: String
        public var target: String
    }

    /// Checks `workflow` and binds it to `arguments` (already checked by `Arguments.bind`).
    ///
    /// - Parameters:
    ///   - checkFiles: whether inputs must exist now (false for a `check`
    ///     that has no real argument values).
    ///   - runFolder: for a plan grown as a run goes on: an input that no
    ///     step declares as an output but that is in the run folder already
    ///     (a step wrote it) is read there.
    public init(_ workflow: Workflow, arguments: [String: Value],
                currentDirectory: String = FileManager.default.currentDirectoryPath,
                checkFiles: Bool = true, runFolder: RunFolder? = nil) throws(PlanError) {
        given = (arguments, currentDirectory, checkFiles)
        var arguments = arguments
        self.workflow = workflow
        let steps = workflow.steps

        // File parameters: staged to their target, `${name}` then names the target.
        var staged: [Staged] = []
        for parameter in workflow.parameters {
            guard case .file(let target) = parameter.kind, case .string(let path)? = arguments[parameter.name] else { continue }
            let source = Self.locate(path, in: [currentDirectory, workflow.directory])
            let destination: String
            do {
                destination = try RunPath.normalize(target ?? (path.hasPrefix("/") || path.contains("..")
                    ? "inputs/" + URL(fileURLWithPath: path).lastPathComponent : path))
            } catch {
                throw PlanError(message: "parameter '\(parameter.name)': \(error)")
            }
            if checkFiles && !FileManager.default.fileExists(atPath: source) {
                throw PlanError(message: "parameter '\(parameter.name)': file '\(path)' does not exist")
            }
            staged.append(Staged(source: source, target: destination))
            arguments[parameter.name] = .string(destination)
        }
        self.arguments = arguments

        // Each step once (a plan may hold 100,000): its name, worker and
        // paths, with what can be known now substituted.
        let mayDefineVars = steps.contains { if case .code = $0 { true } else { !$0.info.values.isEmpty } }
        var index: [String: Int] = [:]
        index.reserveCapacity(steps.count)
        var workers: [WorkerSpec] = [], inputs: [[String]] = [], outputs: [[String]] = [], after: [[String]] = []
        workers.reserveCapacity(steps.count)
        inputs.reserveCapacity(steps.count)
        outputs.reserveCapacity(steps.count)
        after.reserveCapacity(steps.count)
        var defaults: [WorkerType: WorkerSpec] = [:]
        for name in workflow.workers.keys.sorted() {
            if let unused = workflow.workers[name]?.unusedField() {
                throw PlanError(message: "workers.\(name).\(unused)")
            }
        }
        for i in steps.indices {
            let step = steps[i]
            let info = step.info
            if let problem = StepName.problem(with: info.name) {
                throw PlanError.at(step, i, "\(problem) (got '\(info.name)')")
            }
            if let first = index.updateValue(i, forKey: info.name) {
                throw PlanError.at(step, i, "duplicate step name '\(info.name)' (first declared as steps[\(first + 1)])")
            }
            let worker: WorkerSpec
            if let name = info.worker {
                guard let declared = workflow.workers[name] else {
                    let known = workflow.workers.keys.sorted()
                    throw PlanError.at(step, i, "unknown worker '\(name)'"
                        + (known.isEmpty ? " (the workflow declares no workers)" : " (declared: \(known.joined(separator: ", ")))"))
                }
                worker = declared
            } else {
                let type = WorkerType.defaultType(for: step)
                worker = defaults[type] ?? WorkerSpec.default(for: step)
                defaults[type] = worker
            }
            guard worker.type.runs(step) else {
                throw PlanError.at(step, i, "worker '\(worker.name)' of type \(worker.type.rawValue) cannot run a \(step.kind) step")
            }
            if case .container(let container) = step, container.image != nil, !worker.type.takesImage {
                throw PlanError.at(step, i, "image: worker '\(worker.name)' of type \(worker.type.rawValue) runs commands "
                    + "on this machine, not in an image: give the step a docker or slurm worker")
            }
            if case .notebook(let notebook) = step, !notebook.requirements.isEmpty, worker.type != .nbdocker {
                throw PlanError.at(step, i, "requirements: worker '\(worker.name)' of type \(worker.type.rawValue) runs "
                    + "papermill on this machine and installs nothing: give the step an nbdocker worker")
            }
            workers.append(worker)
            after.append(info.after)

            let variables = Variables(parameters: arguments, workerVars: worker.vars,
                                      builtins: .init(step: info.name, workflow: workflow.name))
            if !mayDefineVars {
                do { _ = try worker.substituted(with: variables) } catch {
                    throw PlanError.at(step, i, "worker '\(worker.name)': \(error)")
                }
                if case .container(let container) = step, container.image != nil {
                    do { _ = try variables.image(of: container, on: worker) } catch { throw PlanError.at(step, i, "\(error)") }
                }
            }
            func resolve(_ paths: [String], _ field: String, indexed: Bool = true) throws(PlanError) -> [String] {
                var resolved: [String] = []
                resolved.reserveCapacity(paths.count)
                for (j, path) in paths.enumerated() {
                    var text = path
                    do {
                        text = try variables.substitute(path)
                    } catch {
                        if !mayDefineVars { throw PlanError.at(step, i, "\(indexed ? "\(field)[\(j + 1)]" : field): \(error)") }
                    }
                    do { resolved.append(try RunPath.normalize(text)) } catch {
                        throw PlanError.at(step, i, "\(indexed ? "\(field)[\(j + 1)]" : field): \(error)")
                    }
                }
                return resolved
            }
            var stepInputs = try resolve(info.inputs, "inputs")
            var stepOutputs = try resolve(info.outputs, "outputs")
            if case .notebook(let notebook) = step {
                // The notebook is read from the run folder; the executed copy is kept.
                let file = try resolve([notebook.notebook], "notebook", indexed: false)[0]
                let output = try resolve([notebook.output], "output", indexed: false)[0]
                if !stepInputs.contains(file) { stepInputs.append(file) }
                if !stepOutputs.contains(output) { stepOutputs.append(output) }
            }
            inputs.append(stepInputs)
            outputs.append(stepOutputs)
            if !mayDefineVars {
                let environment = worker.env.isEmpty ? info.env : worker.env.merging(info.env) { $1 }
                for (name, value) in environment.sorted(by: { $0.key < $1.key }) where Template.hasPlaceholder(value) {
                    do { _ = try variables.substitute(value) } catch {
                        throw PlanError.at(step, i, "env.\(name): \(error)")
                    }
                }
            }
            if case .container(let container) = step, !mayDefineVars {
                for (j, command) in container.commands.enumerated() where Template.hasPlaceholder(command) {
                    do { _ = try variables.substitute(command) } catch {
                        throw PlanError.at(step, i, "commands[\(j + 1)]: \(error)")
                    }
                }
            }
        }
        self.workers = workers
        self.inputs = inputs
        self.outputs = outputs

        // Edges: `after`, and outputs feeding inputs.
        var producers = Producers(outputs)
        var dependencies = Array(repeating: [Int](), count: steps.count)
        for i in steps.indices {
            var needs: [Int] = []
            for name in after[i] {
                guard let j = index[name] else {
                    throw PlanError.at(steps[i], i, "after: unknown step '\(name)'")
                }
                guard j != i else { throw PlanError.at(steps[i], i, "after: a step cannot wait for itself") }
                needs.append(j)
            }
            for input in inputs[i] {
                for producer in producers.of(input) where producer != i {
                    needs.append(producer)
                }
            }
            if needs.count > 1 {
                needs.sort()
                var unique: [Int] = []
                for j in needs where unique.last != j { unique.append(j) }
                needs = unique
            }
            dependencies[i] = needs
        }
        if let cycle = Self.cycle(in: dependencies) {
            let names = (cycle + [cycle[0]]).map { "'\(steps[$0].name)'" }
            throw PlanError(message: "the steps form a cycle: \(names.joined(separator: " -> "))")
        }
        self.dependencies = dependencies

        // Inputs nobody produces come from the workflow's folder.
        let stagedTargets = Set(staged.map(\.target))
        var seen = stagedTargets
        for i in steps.indices {
            for input in inputs[i] where !Template.hasPlaceholder(input) && !seen.contains(input) {
                guard producers.of(input).isEmpty,
                      !stagedTargets.contains(where: { RunPath.covers($0, input) || RunPath.covers(input, $0) })
                else { continue }
                seen.insert(input)
                if let runFolder, runFolder.exists(input) { continue }
                let source = URL(fileURLWithPath: workflow.directory).appending(path: input).path
                if checkFiles && !FileManager.default.fileExists(atPath: source) {
                    throw PlanError.at(steps[i], i, "input '\(input)' does not exist in "
                        + (runFolder == nil ? "" : "the run folder or ") + "\(workflow.directory) and no step produces it")
                }
                staged.append(Staged(source: source, target: input))
            }
        }
        self.staged = staged
    }

    /// The workflow as a Graphviz DOT graph. A step that adds steps as it
    /// runs is drawn doubled, with a dashed node for what it adds, which
    /// the steps waiting for it wait for too.
    public func dot() -> String {
        var text = "digraph \(Self.dotID(workflow.name)) {\n  rankdir=LR;\n"
        var generated: [Int: String] = [:]
        for (i, step) in workflow.steps.enumerated() {
            let id = Self.dotID(step.name)
            guard case .code(let code) = step, let expands = code.expands else {
                text += "  \(id) [shape=\(step.kind == "code" ? "ellipse" : "box")];\n"
                continue
            }
            // A space: no step's name holds one, so the id is the generator's own.
            let added = Self.dotID(step.name + " +")
            generated[i] = added
            text += "  \(id) [shape=ellipse, peripheries=2];\n"
            text += "  \(added) [shape=box, style=dashed, label=\(Self.dotID(expands))];\n"
            text += "  \(id) -> \(added) [style=dashed];\n"
        }
        for (i, needs) in dependencies.enumerated() {
            for j in needs {
                text += "  \(Self.dotID(workflow.steps[j].name)) -> \(Self.dotID(workflow.steps[i].name));\n"
                if let added = generated[j] { text += "  \(added) -> \(Self.dotID(workflow.steps[i].name)) [style=dashed];\n" }
            }
        }
        return text + "}\n"
    }

    /// The steps that add steps as they run, with what they add in words.
    public var expanding: [(step: String, adds: String)] {
        workflow.steps.compactMap { step in
            guard case .code(let code) = step, let adds = code.expands else { return nil }
            return (step.name, adds)
        }
    }

    /// `name` as a quoted DOT ID, whatever it holds.
    static func dotID(_ name: String) -> String {
        var quoted = "\""
        for character in name {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n", "\r\n", "\r": quoted += "\\n"
            default: quoted.append(character)
            }
        }
        return quoted + "\""
    }

    private static func locate(_ path: String, in folders: [String]) -> String {
        if path.hasPrefix("/") { return path }
        for folder in folders {
            let candidate = URL(fileURLWithPath: folder).appending(path: path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return URL(fileURLWithPath: folders.last ?? ".").appending(path: path).path
    }

    /// The steps' outputs by path: which step produces a path, and the
    /// outputs under a folder (by binary search in the sorted paths, where
    /// those under a folder are adjacent). Paths compare as Swift strings
    /// do, canonically equivalent spellings alike, both here and in `exact`.
    private struct Producers {
        private var exact: [String: Int] = [:]
        private var sorted: [(path: String, step: Int)] = []

        init(_ outputs: [[String]]) {
            exact.reserveCapacity(outputs.count)
            for (i, paths) in outputs.enumerated() {
                for path in paths where exact[path] == nil { exact[path] = i }
            }
        }

        /// Steps whose outputs provide `input`: the exact path, a folder
        /// output holding it, or outputs inside an input folder.
        mutating func of(_ input: String) -> [Int] {
            var found: [Int] = []
            if let step = exact[input] { found.append(step) }
            // Each folder above the input, as an output `a/`, `a/b/`.
            let bytes = input.utf8
            var end = bytes.endIndex
            if input.hasSuffix("/") { end = bytes.index(before: end) }
            while let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) {
                if let step = exact[String(input[...slash])] { found.append(step) }
                end = slash
            }
            guard input.hasSuffix("/") else { return found }
            if let step = exact[String(input.dropLast())] { found.append(step) }
            if sorted.isEmpty && !exact.isEmpty {
                sorted = exact.map { ($0.key, $0.value) }.sorted { $0.path < $1.path }
            }
            var low = 0, high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if sorted[middle].path < input { low = middle + 1 } else { high = middle }
            }
            for entry in sorted[low...] {
                guard entry.path.hasPrefix(input) else { break }
                if entry.path != input { found.append(entry.step) }
            }
            return found
        }
    }

    /// A cycle among the steps, as step indices, or nil (Kahn's algorithm,
    /// then a walk inside what is left).
    static func cycle(in dependencies: [[Int]]) -> [Int]? {
        var remaining = dependencies.map(\.count)
        var dependents = Array(repeating: [Int](), count: dependencies.count)
        for (i, needs) in dependencies.enumerated() { for j in needs { dependents[j].append(i) } }
        var queue = remaining.indices.filter { remaining[$0] == 0 }
        var done = 0
        while let i = queue.popLast() {
            done += 1
            for d in dependents[i] {
                remaining[d] -= 1
                if remaining[d] == 0 { queue.append(d) }
            }
        }
        guard done < dependencies.count, let start = remaining.indices.first(where: { remaining[$0] > 0 }) else {
            return nil
        }
        var path: [Int] = [], position: [Int: Int] = [:]
        var current = start
        while position[current] == nil {
            position[current] = path.count
            path.append(current)
            current = dependencies[current].first { remaining[$0] > 0 } ?? current
        }
        return Array(path[(position[current] ?? 0)...])
    }
}

/// A workflow that cannot run as declared: a cycle, an unknown step or
/// worker, a missing input, a path outside the run folder.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) { self.message = message }

    static func at(_ step: Step, _ index: Int, _ message: String) -> PlanError {
        let origin = step.info.origin.map { "\($0): " } ?? ""
        return PlanError(message: "\(origin)steps[\(index + 1)] (\(step.kind) '\(step.name)'): \(message)")
    }
}
