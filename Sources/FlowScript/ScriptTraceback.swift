import LuaBridge

extension LuaError {
    /// The message and traceback of an error in a script's code, without
    /// flowlua's own frames (the embedded stdlib and bootstrap that call the
    /// step's function): what is left is the script's.
    var scriptReport: String {
        guard let traceback else { return message }
        let frames = traceback.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("stdlib/flowlua/") && !$0.contains("[flowlua bootstrap]") }
        return message + "\n" + frames.joined(separator: "\n")
    }
}
