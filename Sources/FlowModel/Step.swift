/// What every kind of step declares: its name, ordering, files, resources,
/// failure handling and callbacks.
///
/// A value type whose fields live in one shared, copied-on-write box: the
/// engine copies step descriptions freely (a plan of 100,000 steps reads each
/// several times), and a copy is then one reference count, not one per field.
public struct StepInfo: Sendable, Hashable {
    private struct Fields: Sendable, Hashable {
        var name: String
        var after: [String]
        var inputs: [String]
        var outputs: [String]
        var worker: String?
        var env: [String: String]
        var cpus: Double?
        var memory: UInt64?
        var retries: Int
        var retryDelay: Double
        var timeout: Double?
        var callbacks: Callbacks
        var origin: String?
        var values: [String]
    }

    // Immutable once shared: a setter on a shared box copies it first.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private var fields: Fields {
        _read { yield box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    /// The step's name, unique in its workflow.
    public var name: String {
        get { fields.name }
        set { fields.name = newValue }
    }
    /// Steps that must succeed before this one starts.
    public var after: [String] {
        get { fields.after }
        set { fields.after = newValue }
    }
    /// Files (relative to the run folder) this step reads; a path ending in
    /// `/` names a folder.
    public var inputs: [String] {
        get { fields.inputs }
        set { fields.inputs = newValue }
    }
    /// Files this step must produce; a missing one fails the step.
    public var outputs: [String] {
        get { fields.outputs }
        set { fields.outputs = newValue }
    }
    /// The worker to run on; nil means the default worker for the step kind.
    public var worker: String? {
        get { fields.worker }
        set { fields.worker = newValue }
    }
    /// Environment variables for this step, over the worker's.
    public var env: [String: String] {
        get { fields.env }
        set { fields.env = newValue }
    }
    /// Cores reserved while the step runs; nil reserves none.
    public var cpus: Double? {
        get { fields.cpus }
        set { fields.cpus = newValue }
    }
    /// Bytes of memory reserved while the step runs; nil reserves none.
    public var memory: UInt64? {
        get { fields.memory }
        set { fields.memory = newValue }
    }
    /// How many times a failed step is run again.
    public var retries: Int {
        get { fields.retries }
        set { fields.retries = newValue }
    }
    /// Seconds before the first retry; each further retry waits twice as long.
    public var retryDelay: Double {
        get { fields.retryDelay }
        set { fields.retryDelay = newValue }
    }
    /// Seconds an attempt may run before it is stopped as failed.
    public var timeout: Double? {
        get { fields.timeout }
        set { fields.timeout = newValue }
    }
    /// Functions of the script called as the step starts and ends.
    public var callbacks: Callbacks {
        get { fields.callbacks }
        set { fields.callbacks = newValue }
    }
    /// The run variables the step sets by writing a JSON object to the file
    /// named by `$FLOWLUA_VALUES` (code steps set `ctx.vars` instead).
    public var values: [String] {
        get { fields.values }
        set { fields.values = newValue }
    }
    /// Where the script declared the step (`workflow.lua:12`).
    public var origin: String? {
        get { fields.origin }
        set { fields.origin = newValue }
    }

    public init(name: String, after: [String] = [], inputs: [String] = [], outputs: [String] = [],
                worker: String? = nil, env: [String: String] = [:], cpus: Double? = nil,
                memory: UInt64? = nil, retries: Int = 0, retryDelay: Double = 1, timeout: Double? = nil,
                callbacks: Callbacks = .init(), origin: String? = nil, values: [String] = []) {
        box = Box(Fields(name: name, after: after, inputs: inputs, outputs: outputs, worker: worker, env: env,
                         cpus: cpus, memory: memory, retries: retries, retryDelay: retryDelay, timeout: timeout,
                         callbacks: callbacks, origin: origin, values: values))
    }

    public static func == (a: StepInfo, b: StepInfo) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }

    /// The wait before retry number `retry` (1-based): `retryDelay`,
    /// doubling each time, at most ten minutes.
    public func delay(beforeRetry retry: Int) -> Double {
        min(retryDelay * Double(1 << min(max(retry - 1, 0), 20)), 600)
    }
}

/// Shell commands run in order, on the host or in a container image; the
/// first failing command fails the step.
public struct ContainerStep: Sendable, Hashable {
    public var info: StepInfo
    /// The image a docker worker runs the commands in (else the worker's).
    public var image: String?
    public var commands: [String]
    /// Whether a container gets a network; without one it runs with none.
    public var network: Bool

    public init(info: StepInfo, image: String? = nil, commands: [String], network: Bool = false) {
        self.info = info
        self.image = image
        self.commands = commands
        self.network = network
    }
}

/// An inline function of the workflow script, run by the script's owner.
public struct CodeStep: Sendable, Hashable {
    public var info: StepInfo
    /// Identifies the function to whoever evaluated the script.
    public var function: FunctionReference
    /// What the step adds to the run as it runs, in words (a `foreach`:
    /// "one step per line of samples.txt"); nil if it adds nothing known.
    public var expands: String?

    public init(info: StepInfo, function: FunctionReference, expands: String? = nil) {
        self.info = info
        self.function = function
        self.expands = expands
    }
}

/// A Jupyter notebook run with papermill, its executed copy kept as an output.
public struct NotebookStep: Sendable, Hashable {
    public var info: StepInfo
    public var notebook: String
    /// Where the executed notebook is written (relative to the run folder).
    public var output: String
    public var params: [String: Value]
    /// Python packages for the nbdocker worker's image.
    public var requirements: [String]

    public init(info: StepInfo, notebook: String, output: String? = nil,
                params: [String: Value] = [:], requirements: [String] = []) {
        self.info = info
        self.notebook = notebook
        self.output = output ?? Self.defaultOutput(for: notebook)
        self.params = params
        self.requirements = requirements
    }

    static func defaultOutput(for notebook: String) -> String {
        let stem = notebook.hasSuffix(".ipynb") ? String(notebook.dropLast(6)) : notebook
        return stem + ".out.ipynb"
    }
}

/// A function defined in the workflow script (a code step, a callback).
///
/// The model holds only an identifier; the script layer that evaluated the
/// script maps it back to the function.
public struct FunctionReference: Sendable, Hashable {
    public var id: Int
    /// `file:line` of the definition.
    public var location: String
    /// The function's source text, for cache keys and display.
    public var source: String

    public init(id: Int, location: String, source: String) {
        self.id = id
        self.location = location
        self.source = source
    }
}

/// A step of any kind.
public enum Step: Sendable, Hashable {
    case container(ContainerStep)
    case code(CodeStep)
    case notebook(NotebookStep)

    public var info: StepInfo {
        get {
            switch self {
            case .container(let s): s.info
            case .code(let s): s.info
            case .notebook(let s): s.info
            }
        }
        set {
            switch self {
            case .container(var s): s.info = newValue; self = .container(s)
            case .code(var s): s.info = newValue; self = .code(s)
            case .notebook(var s): s.info = newValue; self = .notebook(s)
            }
        }
    }

    public var name: String { info.name }

    /// `container`, `code` or `notebook`, as the DSL spells it.
    public var kind: String {
        switch self {
        case .container: "container"
        case .code: "code"
        case .notebook: "notebook"
        }
    }
}

/// What a step may be called. A step's name is `${step}` in its commands,
/// the name of its log files (`.logs/<name>.stdout`), of its Docker
/// containers and Slurm jobs, so it keeps to characters none of these treat
/// specially: ASCII letters, digits, `_`, `-` and `.`, not starting with
/// `-` or `.`, at most 128 of them.
public enum StepName {
    public static let maximumLength = 128

    /// Why `name` cannot name a step, or nil if it can.
    public static func problem(with name: String) -> String? {
        let bytes = name.utf8  // checked once per step of a plan: no copy
        guard let first = bytes.first else { return "a step needs a name" }
        if bytes.count > maximumLength { return "a step name is at most \(maximumLength) characters" }
        func allowed(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: false
            }
        }
        guard bytes.allSatisfy(allowed), first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else {
            return "a step name may hold only ASCII letters, digits, '_', '-' and '.', and may not start with '-' or '.'"
        }
        return nil
    }
}
