import FlowModel

/// The values `${name}` can take in one step, in order of precedence: run
/// variables set by code steps, parameters, the worker's vars, then the
/// built-ins (`run_id`, `run_dir`, `step`, `workflow`).
public struct Variables: Sendable {
    public var runVars: [String: Value]
    public var parameters: [String: Value]
    public var workerVars: [String: Value]
    public var builtins: [String: String]

    public init(runVars: [String: Value] = [:], parameters: [String: Value] = [:],
                workerVars: [String: Value] = [:], builtins: [String: String] = [:]) {
        self.runVars = runVars
        self.parameters = parameters
        self.workerVars = workerVars
        self.builtins = builtins
    }

    public func lookup(_ name: String) -> String? {
        runVars[name]?.rendered ?? parameters[name]?.rendered ?? workerVars[name]?.rendered ?? builtins[name]
    }

    /// Substitutes every `${name}` in `text`.
    public func substitute(_ text: String) throws(SubstitutionError) -> String {
        try Template.substitute(text, lookup)
    }
}
