import FlowModel
import Foundation
import LuaBridge

/// Turns the table a script declared into a `Workflow`, checking every field
/// and prefixing each error with the script line that built the table.
struct WorkflowLoader {
    /// The longest timeout or retry delay: ten years, in seconds.
    static let longestSeconds: Double = 315_576_000
    static let mostRetries = 1_000_000

    let lua: LuaState
    let script: String
    let directory: String
    private(set) var functions: [Int: LuaFunction] = [:]
    private var sources: [String: [Substring]] = [:]
    /// The last chunk name a step was declared in, and its file.
    private var lastSource: (name: String, file: String)?
    private let decoder = LuaDecoder()

    /// The id of the next function referenced.
    private var nextID: Int

    /// - Parameter firstID: the id of the first function it references (a
    ///   state that evaluates several scripts keeps their ids apart).
    init(lua: LuaState, script: String, directory: String, firstID: Int = 1) {
        self.lua = lua
        self.script = script
        self.directory = directory
        nextID = firstID
    }

    /// - Parameters:
    ///   - root: the declared workflow table without its steps.
    ///   - steps: its `steps`, read in place, one step at a time.
    ///   - count: their number when they form a list (1...n, no other key).
    mutating func workflow(from root: LuaValue, steps stepsValue: LuaStackValue, count: Int?) throws -> Workflow {
        func fail(_ path: [any CodingKey], _ message: String) -> ScriptError {
            located(LuaDecodingError(path: path, message), in: root)
        }
        func decode<T: Decodable>(_ type: T.Type, _ value: LuaValue, at path: [any CodingKey]) throws -> T {
            do { return try decoder.decode(type, from: value, at: path) } catch {
                throw located(error, in: root)
            }
        }
        let spec = try decode(WorkflowSpec.self, root, at: [])
        let key = { (name: String) in LuaPathKey(stringValue: name) }
        let index = { (i: Int) in LuaPathKey(intValue: i + 1) }

        // Parameters.
        var parameters: [Parameter] = []
        for (i, p) in (spec.parameters ?? []).enumerated() {
            let path = [key("parameters"), index(i)]
            let kind: Parameter.Kind
            switch p.type {
            case "string": kind = .string
            case "int", "integer": kind = .int
            case "float", "number": kind = .float
            case "bool", "boolean": kind = .bool
            case "file": kind = .file(target: p.target)
            case "list": kind = .list
            case "select":
                guard let choices = p.choices, !choices.isEmpty else {
                    throw fail(path + [key("choices")], "a select parameter needs a non-empty list of choices")
                }
                kind = .select(choices: choices)
            default:
                throw fail(path + [key("type")], "unknown parameter type '\(p.type)' (string, int, float, bool, select, file, list)")
            }
            if p.choices != nil, case .select = kind {} else if p.choices != nil {
                throw fail(path + [key("choices")], "only select parameters have choices")
            }
            if parameters.contains(where: { $0.name == p.name }) {
                throw fail(path + [key("name")], "duplicate parameter '\(p.name)'")
            }
            var parameter = Parameter(name: p.name, kind: kind, required: p.required ?? false,
                                      min: p.min, max: p.max, help: p.help)
            if let min = p.min, let max = p.max, min > max {
                throw fail(path + [key("min")], "min \(min) is above max \(max)")
            }
            if let lua = p.default {
                let value = try ValueSpec.convert(lua, path: path + [key("default")])
                do { parameter.defaultValue = try parameter.check(value) } catch {
                    throw fail(path + [key("default")], error.message)
                }
            }
            parameters.append(parameter)
        }

        // Workers: a map from name to spec, or a list of specs with names.
        var workers: [String: WorkerSpec] = [:]
        if let table = spec.workers {
            guard case .table(let t) = table else { throw fail([key("workers")], "expected table, got \(table.typeName)") }
            var entries: [(String, LuaValue, [any CodingKey])] = []
            for (i, element) in t.array.enumerated() {
                let name = element["name"].stringValue ?? ""
                if name.isEmpty { throw fail([key("workers"), index(i), key("name")], "a worker in a list needs a name") }
                entries.append((name, element, [key("workers"), index(i)]))
            }
            for (k, element) in t.hash {
                guard case .string(let name) = k else { throw fail([key("workers")], "worker names must be strings, got \(k)") }
                entries.append((name, element, [key("workers"), key(name)]))
            }
            for (name, element, path) in entries.sorted(by: { $0.0 < $1.0 }) {
                let w = try decode(WorkerSpecTable.self, element, at: path)
                guard let type = WorkerType(rawValue: w.type) else {
                    throw fail(path + [key("type")], "unknown worker type '\(w.type)' (\(WorkerType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if let declared = w.name, declared != name, case .table = element, t.hash[.string(name)] != nil {
                    throw fail(path + [key("name")], "worker declared as '\(name)' is named '\(declared)'")
                }
                if workers[name] != nil { throw fail(path, "duplicate worker '\(name)'") }
                var cluster: ClusterOptions?
                let clusterFields: [(String, Bool)] = [("partition", w.partition != nil), ("account", w.account != nil),
                                                       ("options", w.options != nil), ("poll_interval", w.poll_interval != nil)]
                if type == .slurm {
                    let poll = w.poll_interval ?? 1
                    guard poll.isFinite, poll >= 0.05, poll <= 3600 else {
                        throw fail(path + [key("poll_interval")], "expected seconds from 0.05 to 3600, got \(poll)")
                    }
                    cluster = ClusterOptions(partition: w.partition, account: w.account, options: w.options ?? [],
                                             pollInterval: poll)
                } else if let (field, _) = clusterFields.first(where: { $0.1 }) {
                    throw fail(path + [key(field)], "only slurm workers take \(field)")
                }
                if w.volume != nil {
                    throw fail(path + [key("volume")], "storage volumes are not supported yet (worker '\(name)')")
                }
                workers[name] = WorkerSpec(name: name, type: type, env: (w.env ?? [:]).mapValues(\.text),
                                           vars: (w.vars ?? [:]).mapValues(\.value), image: w.image,
                                           cluster: cluster)
            }
        }

        // Steps, one at a time, read where the script left them.
        guard let count else {
            if stepsValue.isNil { throw fail([], "missing field 'steps'") }
            _ = try decode([LuaValue].self, try stepsValue.copy(), at: [key("steps")])
            throw fail([key("steps")], "expected a list of steps")
        }
        // The count comes from Lua (dsl.take, which a script can replace).
        guard count >= 0, count <= stepsValue.rawLength else {
            throw fail([key("steps")], "expected a list of steps (\(count) announced, \(stepsValue.rawLength) present)")
        }
        let workflowOrigin = Self.origin(of: root)
        var steps: [Step] = []
        steps.reserveCapacity(count)
        for i in 0..<count {
            steps.append(try stepsValue.element(i + 1) { element in
                try self.step(element, at: [key("steps"), index(i)], workflowOrigin: workflowOrigin)
            })
        }

        let callbacks = Callbacks(onStart: spec.on_start.map { reference($0.function) },
                                  onSuccess: spec.on_success.map { reference($0.function) },
                                  onFailure: spec.on_failure.map { reference($0.function) },
                                  onCancel: spec.on_cancel.map { reference($0.function) })
        return Workflow(name: spec.name, description: spec.description, parameters: parameters,
                        workers: workers, steps: steps, callbacks: callbacks,
                        directory: directory, script: script)
    }

    /// One step from its table.
    mutating func step(_ element: LuaStackValue, at path: [any CodingKey], workflowOrigin: String?) throws -> Step {
        let key = { (name: String) in LuaPathKey(stringValue: name) }
        func located(_ error: LuaDecodingError) -> ScriptError {
            ScriptError((origin(of: element) ?? workflowOrigin ?? script) + ": " + error.description)
        }
        func fail(_ path: [any CodingKey], _ message: String) -> ScriptError {
            located(LuaDecodingError(path: path, message))
        }
        guard element.isTable, element.field("kind", { $0.string != nil }) else {
            throw fail(path, "expected a step (container \"name\" { ... }, code \"name\" { ... } or notebook \"name\" { ... }), got \(element.typeName)")
        }
        let s: StepSpec
        do { s = try StepReader(path: path).read(element) } catch { throw located(error) }
        guard StepSpec.kinds.contains(s.kind) else {
            throw fail(path + [key("kind")], "unknown step kind '\(s.kind)' (container, code, notebook)")
        }
        if let (field, other) = s.foreignField {
            throw fail(path + [key(field)], "not a field of a \(s.kind) step (it belongs to \(other) steps)")
        }
        // Bounded, so that no value (math.huge, math.maxinteger) overflows a clock or a count.
        let longest = Self.longestSeconds
        if let retries = s.retries, !(0...Self.mostRetries).contains(retries) {
            throw fail(path + [key("retries")], "must be from 0 to \(Self.mostRetries)")
        }
        if let delay = s.retry_delay, !(delay >= 0 && delay <= longest) {
            throw fail(path + [key("retry_delay")], "must be from 0 to \(Int(longest)) seconds")
        }
        if let timeout = s.timeout, !(timeout > 0 && timeout <= longest) {
            throw fail(path + [key("timeout")], "must be more than 0 and at most \(Int(longest)) seconds")
        }
        if let cpus = s.cpus, !(cpus > 0 && cpus.isFinite) { throw fail(path + [key("cpus")], "must be more than 0") }
        var memory: UInt64?
        if let text = s.memory {
            guard let bytes = ByteCount.parse(text), bytes > 0 else {
                throw fail(path + [key("memory")], "expected a size like \"512M\" or \"2G\", got '\(text)'")
            }
            memory = bytes
        }
        var seen: Set<String> = []
        for (i, name) in (s.values ?? []).enumerated() {
            guard Template.isIdentifier(name) else {
                throw fail(path + [key("values"), LuaPathKey(intValue: i + 1)],
                           "'\(name)' is not a variable name (letters, digits and _, not starting with a digit)")
            }
            guard seen.insert(name).inserted else {
                throw fail(path + [key("values"), LuaPathKey(intValue: i + 1)], "'\(name)' is listed twice")
            }
        }
        let callbacks = Callbacks(onStart: s.on_start.map { reference($0.function) },
                                  onSuccess: s.on_success.map { reference($0.function) },
                                  onFailure: s.on_failure.map { reference($0.function) },
                                  onCancel: s.on_cancel.map { reference($0.function) })
        let info = StepInfo(name: s.name, after: s.after ?? [], inputs: s.inputs ?? [], outputs: s.outputs ?? [],
                            worker: s.worker, env: (s.env ?? [:]).mapValues(\.text), cpus: s.cpus,
                            memory: memory, retries: s.retries ?? 0, retryDelay: s.retry_delay ?? 1,
                            timeout: s.timeout, callbacks: callbacks, origin: origin(of: element, line: s.line),
                            values: s.values ?? [])
        switch s.kind {
        case "container":
            guard let commands = s.commands else { throw fail(path, "missing field 'commands'") }
            return .container(ContainerStep(info: info, image: s.image, commands: commands, network: s.network ?? false))
        case "code":
            guard let run = s.run else { throw fail(path, "missing field 'run' (the step's function)") }
            let function = reference(run.function)
            // A step calling ctx:add adds steps; what, only running it tells.
            let adds = s.expands ?? (function.source.contains(":add(") ? "the steps its function adds (ctx:add)" : nil)
            return .code(CodeStep(info: info, function: function, expands: adds))
        default:
            guard let notebook = s.notebook else { throw fail(path, "missing field 'notebook'") }
            return .notebook(NotebookStep(info: info, notebook: notebook, output: s.output,
                                          params: (s.params ?? [:]).mapValues(\.value),
                                          requirements: s.requirements ?? []))
        }
    }

    /// Registers a function of the script and describes it for the model.
    private mutating func reference(_ function: LuaFunction) -> FunctionReference {
        let id = nextID
        nextID += 1
        functions[id] = function
        let definition = function.definition
        var source = ""
        if definition.source.hasPrefix("@") {
            let file = String(definition.source.dropFirst())
            if sources[file] == nil {
                sources[file] = (FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) } ?? "")
                    .split(separator: "\n", omittingEmptySubsequences: false)
            }
            let lines = sources[file] ?? []
            if definition.line >= 1, definition.lastLine <= lines.count, definition.line <= definition.lastLine {
                source = lines[(definition.line - 1)..<definition.lastLine].joined(separator: "\n")
            }
        }
        return FunctionReference(id: id, location: definition.location, source: source)
    }

    /// The error, prefixed with the `file:line` of the innermost table on
    /// its path that the DSL stamped with an origin.
    private func located(_ error: LuaDecodingError, in root: LuaValue) -> ScriptError {
        var current = root
        var origin = Self.origin(of: root)
        for key in error.path {
            guard case .table(let table) = current else { break }
            if let i = key.intValue {
                current = i >= 1 && i <= table.array.count ? table.array[i - 1] : table.hash[.integer(i)] ?? .nil
            } else {
                current = table.hash[.string(key.stringValue)] ?? .nil
            }
            if let here = Self.origin(of: current) { origin = here }
        }
        return ScriptError((origin ?? script) + ": " + error.description)
    }

    /// `file:line` where the DSL built a step's table (see `origin(of:)`);
    /// the file of the last chunk name is kept, as every step of a script
    /// has the same.
    private mutating func origin(of element: LuaStackValue, line: Int?) -> String? {
        let file: String? = element.field("__source") { source in
            if let (name, file) = lastSource, source.isString(name) { return file }
            guard let name = source.string else { return nil }
            let file = Self.file(ofChunk: name)
            lastSource = (name, file)
            return file
        }
        guard let file else { return nil }
        guard let line else { return file }
        return file + ":" + String(line)
    }

    /// The declared workflow's table without its steps, copied; a field
    /// that cannot be copied (a table that contains itself, one nested too
    /// deep) is an error at the line of `workflow {}`.
    func root(_ declared: LuaStackValue) throws(ScriptError) -> LuaValue {
        do { return try declared.copy() } catch {
            // Rare: find the field, so the message reads as a step's does.
            var field: String?
            var message = error.message
            declared.forEach { key, value in
                guard field == nil, let name = key.string else { return }
                do throws(LuaError) { _ = try value.copy() } catch {
                    field = name
                    message = error.message
                }
            }
            throw ScriptError((origin(of: declared) ?? script) + ": " + (field.map { "\($0): " } ?? "") + message)
        }
    }

    /// The same, uncached, for an error.
    private func origin(of element: LuaStackValue) -> String? {
        guard let source = element.field("__source", \.string) else { return nil }
        let file = Self.file(ofChunk: source)
        guard case .integer(let line)? = element.field("__line", \.number) else { return file }
        return "\(file):\(line)"
    }

    private static func file(ofChunk source: String) -> String {
        source.hasPrefix("@") || source.hasPrefix("=") ? String(source.dropFirst()) : "[string]"
    }

    /// `file:line` where the DSL built a table, from the chunk name and line
    /// it stamped on it.
    static func origin(of value: LuaValue) -> String? {
        guard case .string(let source) = value["__source"] else { return nil }
        let file = file(ofChunk: source)
        guard case .integer(let line) = value["__line"] else { return file }
        return "\(file):\(line)"
    }
}
