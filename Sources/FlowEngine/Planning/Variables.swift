import FlowModel

/// The values `${name}` can take in one step, in order of precedence: run
/// variables set by code steps, parameters, the worker's vars, then the
/// built-ins (`run_id`, `run_dir`, `step`, `workflow`).
public struct Variables: Sendable {
    public var runVars: [String: Value]
    public var parameters: [String: Value]
    public var workerVars: [String: Value]
    public var builtins: Builtins

    /// The names every step can use; nil where not known yet (a plan has no
    /// run id). Fields rather than a dictionary: a step is launched with a
    /// fresh set, and building dictionaries showed in a step's cost.
    public struct Builtins: Sendable {
        public var runID: String?
        public var runDirectory: String?
        public var step: String?
        public var workflow: String?

        public init(runID: String? = nil, runDirectory: String? = nil, step: String? = nil, workflow: String? = nil) {
            self.runID = runID
            self.runDirectory = runDirectory
            self.step = step
            self.workflow = workflow
        }

        public subscript(name: String) -> String? {
            switch name {
            case "run_id": runID
            case "run_dir": runDirectory
            case "step": step
            case "workflow": workflow
            default: nil
            }
        }
    }

    public init(runVars: [String: Value] = [:], parameters: [String: Value] = [:],
                workerVars: [String: Value] = [:], builtins: Builtins = Builtins()) {
        self.runVars = runVars
        self.parameters = parameters
        self.workerVars = workerVars
        self.builtins = builtins
    }

    /// The typed value of `name`, for the built-ins a string; a dotted
    /// name (`sample.reads.1`) is a path into a record or list.
    public func value(_ name: String) -> Value? {
        guard name.utf8.contains(UInt8(ascii: ".")) else {
            return runVars[name] ?? parameters[name] ?? workerVars[name] ?? builtins[name].map(Value.string)
        }
        let path = name.split(separator: ".", omittingEmptySubsequences: false)
        return value(String(path[0]))?.value(at: path.dropFirst())
    }

    public func lookup(_ name: String) -> String? {
        guard name.utf8.contains(UInt8(ascii: ".")) else {
            return runVars[name]?.rendered ?? parameters[name]?.rendered ?? workerVars[name]?.rendered ?? builtins[name]
        }
        return value(name)?.rendered
    }

    /// Substitutes every `${name}` in `text`.
    public func substitute(_ text: String) throws(SubstitutionError) -> String {
        try Template.substitute(text, lookup)
    }
}
