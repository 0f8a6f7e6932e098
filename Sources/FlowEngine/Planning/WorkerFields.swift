import FlowModel

/// A worker or step field that cannot take effect as written: a `${name}`
/// with no value, an image name no daemon would take, a field the worker
/// does not use.
public struct FieldError: Error, Sendable, CustomStringConvertible {
    /// The field, as the script spells it (`image`, `options[2]`).
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}

extension Variables {
    /// `text` of `field` with every `${name}` substituted.
    func substitute(_ text: String, field: String) throws(FieldError) -> String {
        do { return try substitute(text) } catch { throw FieldError(field: field, message: "\(error)") }
    }

    /// The image a container step runs in (its own, else the worker's),
    /// substituted and checked: nil if neither names one.
    public func image(of step: ContainerStep, on worker: WorkerSpec) throws(FieldError) -> String? {
        guard let written = step.image ?? worker.image else { return nil }
        return try Self.checkedImage(substitute(written, field: "image"))
    }

    static func checkedImage(_ image: String) throws(FieldError) -> String {
        guard !image.isEmpty, !image.hasPrefix("-"),
              image.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value != 0x7f }) else {
            throw FieldError(field: "image", message: "'\(image)' is not an image name (no spaces, control characters or leading '-')")
        }
        return image
    }
}

extension WorkerSpec {
    /// The worker with `${name}` substituted in its image and cluster
    /// options, as a step on it sees them.
    public func substituted(with variables: Variables) throws(FieldError) -> WorkerSpec {
        var worker = self
        if let image { worker.image = try Variables.checkedImage(variables.substitute(image, field: "image")) }
        if var cluster {
            if let partition = cluster.partition { cluster.partition = try variables.substitute(partition, field: "partition") }
            if let account = cluster.account { cluster.account = try variables.substitute(account, field: "account") }
            for (i, option) in cluster.options.enumerated() {
                cluster.options[i] = try variables.substitute(option, field: "options[\(i + 1)]")
            }
            worker.cluster = cluster
        }
        return worker
    }

    /// Fields this worker takes but cannot use: an error before anything runs.
    func unusedField() -> FieldError? {
        if image != nil && !type.takesImage {
            return FieldError(field: "image", message: "a \(type.rawValue) worker runs its steps on this machine, "
                + "not in an image: use a docker, slurm or nbdocker worker")
        }
        return nil
    }
}
