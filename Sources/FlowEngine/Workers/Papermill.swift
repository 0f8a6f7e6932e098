import FlowModel
import Foundation

/// One papermill run of a notebook step, as both notebook workers make it:
/// the paths and parameters resolved for the attempt, and what a failure
/// means.
struct Papermill {
    /// The notebook and where its executed copy goes, relative to the run folder.
    var notebook: String
    var output: String
    /// The parameters as JSON (which papermill reads as YAML).
    var parameters: String

    /// Resolves `step` for an attempt; the message of an error names the field.
    init(_ step: NotebookStep, variables: Variables) throws(WorkerError) {
        do { parameters = try Self.parameters(step.params, variables) } catch {
            throw WorkerError("params: \(error)")
        }
        do {
            notebook = try variables.substitute(step.notebook)
            output = try variables.substitute(step.output)
        } catch {
            throw WorkerError("notebook: \(error)")
        }
    }

    /// papermill's arguments, to run in `folder` (on the host or in a container).
    func arguments(in folder: String) -> [String] {
        [notebook, output, "--cwd", folder, "--parameters_yaml", parameters, "--no-progress-bar"]
    }

    /// Makes the folder of the executed notebook, which papermill does not.
    func makeOutputFolder(in folder: String) {
        let parent = URL(fileURLWithPath: output, relativeTo: URL(fileURLWithPath: folder)).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    }

    /// The step's result from papermill's end and output.
    static func result(_ termination: Termination, stdout: String, stderr: String) -> ExecResult {
        var result = ExecResult(exitCode: termination.code, stdout: stdout, stderr: stderr)
        if !termination.succeeded {
            result.error = cellError(in: stderr) ?? "papermill \(termination)"
        }
        return result
    }

    /// Typed parameters: a string that is exactly one `${name}` keeps that
    /// value's type (numbers stay numbers), other strings are substituted.
    static func parameters(_ params: [String: Value], _ variables: Variables) throws(SubstitutionError) -> String {
        var typed: [String: Value] = [:]
        for (name, value) in params {
            guard case .string(let text) = value else {
                typed[name] = value
                continue
            }
            let names = Template.names(in: text)
            if names.count == 1, text == "${\(names[0])}", let whole = variables.value(names[0]) {
                typed[name] = whole
            } else {
                typed[name] = .string(try variables.substitute(text))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(typed), as: UTF8.self)) ?? "{}"
    }

    /// "cell In [2] failed: ValueError: boom", from papermill's report on stderr.
    static func cellError(in stderr: String) -> String? {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.lastIndex(where: { $0.hasPrefix("Exception encountered at") }) else { return nil }
        let cell = lines[start].components(separatedBy: "\"").dropFirst().first ?? "a cell"
        let last = lines[start...].last { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("---") }
        return "cell \(cell) failed: \(last ?? "see the step's stderr")"
    }
}
