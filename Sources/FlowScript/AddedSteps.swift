import FlowModel
import LuaBridge

extension WorkflowLoader {
    /// The steps a code step added as it ran (`ctx:add`), read and checked
    /// as the script's own steps are; an error names the step's table as
    /// `added[i]`, after the script line that built it.
    mutating func added(_ list: LuaStackValue) throws -> [Step] {
        let count = list.rawLength
        var steps: [Step] = []
        steps.reserveCapacity(count)
        for i in 0..<count {
            steps.append(try list.element(i + 1) { element in
                try self.step(element, at: [LuaPathKey(stringValue: "added"), LuaPathKey(intValue: i + 1)],
                              workflowOrigin: nil)
            })
        }
        return steps
    }
}
