import FlowModel

/// What a run continued in its own folder keeps from before.
public struct Carryover: Sendable {
    /// Steps (by index) that succeeded: they are not run again.
    public var completed: Set<Int>
    public var vars: [String: Value]
    /// Remote jobs an earlier process submitted for steps that had not
    /// ended, by step: followed again rather than submitted again.
    public var remote: [Int: String]
    /// Steps added as the run went (in no script) that succeeded, by name:
    /// added again, they count as done and do not run again.
    public var added: Set<String>

    public init(completed: Set<Int> = [], vars: [String: Value] = [:], remote: [Int: String] = [:],
                added: Set<String> = []) {
        self.completed = completed
        self.vars = vars
        self.remote = remote
        self.added = added
    }
}
