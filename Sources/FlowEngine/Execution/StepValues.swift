import FlowModel
import Foundation

/// The run variables a container or notebook step publishes: a JSON object
/// it writes to the file named by `$FLOWLUA_VALUES` (soma-workflow's output
/// parameters file), holding exactly the names its `values` declares.
///
/// Read after the step succeeded, without ever blocking: a FIFO or a device
/// at the path is an error naming it, not a hang.
public enum StepValues {
    /// The environment variable naming the file.
    public static let variable = "FLOWLUA_VALUES"
    /// The largest file read: values are names and lists, not data.
    public static let maximumSize = 16 << 20

    /// Removes what an earlier attempt left, so that a step that writes
    /// nothing this time is not credited with last time's values.
    public static func prepare(_ path: String) {
        unlink(path)
    }

    /// The values in the file at `path`, checked against `declared`; the
    /// message says what is wrong with it.
    public static func read(_ path: String, declared: [String]) -> Result<[String: Value?], Failure> {
        let data: Data
        switch contents(of: path) {
        case .success(let bytes): data = bytes
        case .failure(let failure): return .failure(failure)
        }
        let first = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        guard first == UInt8(ascii: "{") else {
            let found = first.map { "'\(Character(Unicode.Scalar($0)))'" } ?? "nothing"
            return .failure(Failure("$\(variable) (\(path)) must hold a JSON object ({\"name\": value, ...}), "
                + "but it starts with \(found)"))
        }
        let object: [String: Value?]
        do {
            object = try JSONDecoder().decode([String: Value?].self, from: data)
        } catch {
            return .failure(Failure("$\(variable) (\(path)) does not hold a JSON object of values: \(reason(error))"))
        }
        if let extra = object.keys.sorted().first(where: { !declared.contains($0) }) {
            return .failure(Failure("$\(variable) sets '\(extra)', which the step's values do not declare "
                + "(declared: \(declared.joined(separator: ", ")))"))
        }
        if let missing = declared.first(where: { object[$0] == nil }) {
            return .failure(Failure("the step declares the value '\(missing)' but did not write it to $\(variable)"))
        }
        return .success(object)
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    private static func contents(of path: String) -> Result<Data, Failure> {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return .failure(Failure("the step declares values but wrote no file at $\(variable) (\(path))"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return .failure(Failure("$\(variable) (\(path)) is \(RunFolder.kind(of: info.st_mode)), not a file"))
        }
        guard info.st_size <= maximumSize else {
            return .failure(Failure("$\(variable) (\(path)) holds \(info.st_size) bytes, more than the "
                + "\(maximumSize >> 20) MiB values may take"))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            return .failure(Failure("cannot open $\(variable) (\(path)): \(String(cString: strerror(errno)))"))
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            return .success(try handle.read(upToCount: maximumSize + 1) ?? Data())
        } catch {
            return .failure(Failure("cannot read $\(variable) (\(path)): \(error.localizedDescription)"))
        }
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context):
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return (at.isEmpty ? "" : "at \(at): ") + (underlying ?? context.debugDescription)
        @unknown default:
            return "\(error)"
        }
    }
}
