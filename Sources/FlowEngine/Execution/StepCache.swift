import FlowModel

/// Where a run finds and keeps the results of steps, for `--resume`.
///
/// A step's key comes from its definition as it is about to run (commands
/// after substitution, image, function source, environment, worker, files)
/// and from the content of its inputs; an earlier successful execution with
/// the same key, whose outputs are still intact, can stand in for running it.
public protocol StepCache: Sendable {
    /// The content hashes of a step's inputs as they are now, by path: the
    /// part of its key that must be taken as it is about to run.
    func hashInputs(of step: ResolvedStep, in folder: RunFolder) -> [String: String]

    /// The key of a step from its definition and its inputs' hashes.
    func key(for step: ResolvedStep, inputs: [String: String]) -> String

    /// An earlier result with this key whose outputs are intact.
    func reusable(_ key: String) -> CachedResult?

    /// The outputs of `result` were just copied into `folder`: their hashes
    /// are known, and need not be read again.
    func copied(_ result: CachedResult, into folder: RunFolder)

    /// Keeps the result of a step that succeeded. Its key (`key`, or computed
    /// from `step` and `inputs`) and its outputs' hashes may be worked out
    /// later, off the caller's thread.
    func remember(_ step: ResolvedStep, inputs: [String: String], key: String?, changes: [String: Value?],
                  in folder: RunFolder)
}

/// A step as it is about to run: everything that decides what it does.
public struct ResolvedStep: Sendable, Hashable, Codable {
    public var name: String
    public var kind: String
    /// Commands after `${}` substitution (container steps).
    public var commands: [String]
    public var image: String?
    /// The function's source text (code steps), or the notebook and its
    /// parameters after substitution (notebook steps).
    public var code: String?
    public var environment: [String: String]
    public var worker: String
    public var workerVars: [String: Value]
    /// What a code step can read besides its files: every parameter and run
    /// variable (empty for other steps, whose substituted text says what
    /// they use).
    public var parameters: [String: Value]
    public var vars: [String: Value]
    /// Paths relative to the run folder, after substitution.
    public var inputs: [String]
    public var outputs: [String]
}

/// A result that can stand in for running a step.
public struct CachedResult: Sendable {
    /// The run that produced it.
    public var runID: String
    /// Where its outputs are (a run folder).
    public var folder: String
    /// Its outputs, relative to that folder.
    public var outputs: [String]
    /// The run variables it set (nil: removed).
    public var changes: [String: Value?]

    public init(runID: String, folder: String, outputs: [String], changes: [String: Value?]) {
        self.runID = runID
        self.folder = folder
        self.outputs = outputs
        self.changes = changes
    }
}
