/// The kinds of worker a step can run on (flowserv's worker types, and more).
public enum WorkerType: String, Sendable, Hashable, CaseIterable, Codable {
    case subprocess
    case docker
    case code
    case notebook
    case nbdocker

    /// Whether a step of this kind can run on a worker of this type.
    public func runs(_ step: Step) -> Bool {
        switch (self, step) {
        case (.subprocess, .container), (.docker, .container), (.code, .code),
             (.notebook, .notebook), (.nbdocker, .notebook):
            true
        default:
            false
        }
    }

    /// The worker a step runs on when it names none.
    public static func defaultType(for step: Step) -> WorkerType {
        switch step {
        case .container: .subprocess
        case .code: .code
        case .notebook: .notebook
        }
    }
}

/// A worker declared by a workflow (seed 001's workerSpec).
public struct WorkerSpec: Sendable, Hashable {
    public var name: String
    public var type: WorkerType
    /// Environment variables for every step on this worker.
    public var env: [String: String]
    /// Values for `${name}` in the commands of steps on this worker.
    public var vars: [String: Value]
    /// The storage volume the worker reads and writes.
    public var volume: String?
    /// The default image for container steps on a docker worker.
    public var image: String?

    public init(name: String, type: WorkerType, env: [String: String] = [:],
                vars: [String: Value] = [:], volume: String? = nil, image: String? = nil) {
        self.name = name
        self.type = type
        self.env = env
        self.vars = vars
        self.volume = volume
        self.image = image
    }

    /// The worker used for a step that names none.
    public static func `default`(for step: Step) -> WorkerSpec {
        let type = WorkerType.defaultType(for: step)
        return WorkerSpec(name: type.rawValue, type: type)
    }
}
