/// A workflow as its script declared it: parameters, workers, steps, callbacks.
public struct Workflow: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var parameters: [Parameter]
    public var workers: [String: WorkerSpec]
    public var steps: [Step]
    public var callbacks: Callbacks
    /// The folder holding the script; inputs are staged from here.
    public var directory: String
    /// The script's path, as given.
    public var script: String

    public init(name: String, description: String? = nil, parameters: [Parameter] = [],
                workers: [String: WorkerSpec] = [:], steps: [Step] = [], callbacks: Callbacks = .init(),
                directory: String = ".", script: String = "") {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.workers = workers
        self.steps = steps
        self.callbacks = callbacks
        self.directory = directory
        self.script = script
    }

    public func step(named name: String) -> Step? { steps.first { $0.name == name } }

    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The worker a step runs on: the one it names, or its kind's default.
    public func worker(for step: Step) -> WorkerSpec? {
        guard let name = step.info.worker else { return .default(for: step) }
        return workers[name]
    }
}

/// Functions of the script called as a run or step changes state.
public struct Callbacks: Sendable, Hashable {
    public var onStart: FunctionReference?
    public var onSuccess: FunctionReference?
    public var onFailure: FunctionReference?
    public var onCancel: FunctionReference?

    public init(onStart: FunctionReference? = nil, onSuccess: FunctionReference? = nil,
                onFailure: FunctionReference? = nil, onCancel: FunctionReference? = nil) {
        self.onStart = onStart
        self.onSuccess = onSuccess
        self.onFailure = onFailure
        self.onCancel = onCancel
    }
}
