import Foundation
import Synchronization

/// The largest node of each partition, as `sinfo` reports it: what a job's
/// CPUs per task and memory must fit in for it ever to start.
///
/// A cluster whose `EnforcePartLimits` is `NO` (Slurm's default) accepts a
/// job no node can hold, and it pends for ever with a reason (`Resources`,
/// `Priority`) that says nothing of it. flowlua asks before it submits.
struct SlurmCapacity: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        var cpus: Int
        /// Megabytes, as Slurm counts `RealMemory`.
        var memory: Int
    }

    /// Per partition, the most CPUs and the most memory one node has.
    var largest: [String: Node] = [:]
    /// The partition a job naming none goes to (sinfo marks it with `*`).
    var defaultPartition: String?

    /// Parses `sinfo -h -N -o '%P|%c|%m'`: one line per node and partition.
    init(sinfo text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == 3, !fields[0].isEmpty else { continue }
            var partition = fields[0]
            if partition.hasSuffix("*") {
                partition.removeLast()
                defaultPartition = partition
            }
            // "2+" on some versions when nodes differ; -N gives one node a line.
            guard let cpus = Int(fields[1].filter(\.isNumber)), let memory = Int(fields[2].filter(\.isNumber)) else { continue }
            let known = largest[partition] ?? Node(cpus: 0, memory: 0)
            largest[partition] = Node(cpus: max(known.cpus, cpus), memory: max(known.memory, memory))
        }
    }

    /// Why `job` can never start here, or nil when it may (or when what it
    /// asks for is the worker's own options' business, or unknown here).
    func refusal(of job: RemoteJob) -> String? {
        let options = job.cluster.options
        let named = Self.partitions(in: options) ?? job.cluster.partition.map { Self.list($0) } ?? defaultPartition.map { [$0] }
        guard let named, !named.isEmpty else { return nil }
        let nodes = named.compactMap { largest[$0] }
        guard nodes.count == named.count else { return nil }  // a partition sinfo does not show: sbatch will say
        let cpus = nodes.map(\.cpus).max() ?? 0, memory = nodes.map(\.memory).max() ?? 0
        let partitions = named.count == 1 ? "partition \(named[0])" : "partitions \(named.joined(separator: ","))"
        if let asked = job.cpus, asked > cpus, !Self.overrides(options, ["--cpus-per-task", "-c"]) {
            return "it asks for \(asked) CPUs and the largest node of \(partitions) has \(cpus)"
        }
        if let bytes = job.memory, !Self.overrides(options, ["--mem", "--mem-per-cpu", "--mem-per-gpu"]) {
            let asked = Slurm.megabytes(bytes)
            if asked > memory {
                return "it asks for \(asked)M of memory and the largest node of \(partitions) has \(memory)M"
            }
        }
        return nil
    }

    /// The partitions the last `--partition`/`-p` option names, if any.
    static func partitions(in options: [String]) -> [String]? {
        var found: [String]?
        for (i, option) in options.enumerated() {
            if option.hasPrefix("--partition=") {
                found = list(String(option.dropFirst("--partition=".count)))
            } else if option == "--partition" || option == "-p" {
                found = i + 1 < options.count ? list(options[i + 1]) : nil
            } else if option.hasPrefix("-p"), !option.hasPrefix("--") {
                found = list(String(option.dropFirst(2)))
            }
        }
        return found
    }

    static func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }

    /// Whether one of `options` sets what any of `names` set.
    static func overrides(_ options: [String], _ names: [String]) -> Bool {
        options.contains { option in
            names.contains { name in
                option == name || option.hasPrefix(name + "=") || (!name.hasPrefix("--") && option.hasPrefix(name))
            }
        }
    }

    /// The cluster's capacity, asked of `sinfo` at most once a minute; nil
    /// when it cannot be asked (the check is then left to sbatch).
    static func current(sinfo: String) async -> SlurmCapacity? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), now - cached.at < .seconds(60) { return cached.capacity }
        guard let run = try? await ChildProcess.output(of: ProcessSpec(executable: sinfo, arguments: ["-h", "-N", "-o", "%P|%c|%m"])),
              run.termination.succeeded else { return nil }
        let capacity = SlurmCapacity(sinfo: run.stdout)
        guard !capacity.largest.isEmpty else { return nil }
        cache.withLock { $0 = (now, capacity) }
        return capacity
    }

    private static let cache = Mutex<(at: ContinuousClock.Instant, capacity: SlurmCapacity)?>(nil)
}
