/// The kinds of worker a step can run on (flowserv's worker types, and more).
public enum WorkerType: String, Sendable, Hashable, CaseIterable, Codable {
    case subprocess
    case docker
    case code
    case notebook
    case nbdocker
    /// Container steps become batch jobs of a Slurm cluster.
    case slurm

    /// Whether a step of this kind can run on a worker of this type.
    public func runs(_ step: Step) -> Bool {
        switch (self, step) {
        case (.subprocess, .container), (.docker, .container), (.slurm, .container), (.code, .code),
             (.notebook, .notebook), (.nbdocker, .notebook):
            true
        default:
            false
        }
    }

    /// Whether its steps run in a container image (and so take `image`).
    public var takesImage: Bool {
        switch self {
        case .docker, .slurm, .nbdocker: true
        case .subprocess, .code, .notebook: false
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
    /// The default image for container steps on a docker worker; on a
    /// slurm worker, the image its jobs run their commands in.
    public var image: String?
    /// Where a slurm worker's jobs go.
    public var cluster: ClusterOptions?

    public init(name: String, type: WorkerType, env: [String: String] = [:],
                vars: [String: Value] = [:], image: String? = nil,
                cluster: ClusterOptions? = nil) {
        self.name = name
        self.type = type
        self.env = env
        self.vars = vars
        self.image = image
        self.cluster = cluster
    }

    /// Whether steps on this worker run elsewhere, handed to a cluster.
    public var isRemote: Bool { type == .slurm }

    /// The worker used for a step that names none.
    public static func `default`(for step: Step) -> WorkerSpec {
        let type = WorkerType.defaultType(for: step)
        return WorkerSpec(name: type.rawValue, type: type)
    }
}

/// How a slurm worker submits: the partition and account of its jobs, more
/// `sbatch` options, and how often their states are polled.
public struct ClusterOptions: Sendable, Hashable {
    public var partition: String?
    public var account: String?
    /// Further `sbatch` options, each as one argument (`--qos=low`).
    public var options: [String]
    /// Seconds between two polls of the queue for all of a run's jobs.
    public var pollInterval: Double

    public init(partition: String? = nil, account: String? = nil, options: [String] = [], pollInterval: Double = 1) {
        self.partition = partition
        self.account = account
        self.options = options
        self.pollInterval = pollInterval
    }
}
