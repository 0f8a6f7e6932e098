import FlowModel

extension Plan {
    /// Step `index` as it runs now in `folder`, with the run variables
    /// `vars`: its commands, environment, image and paths after `${}`
    /// substitution. Made once for each attempt; what workers run, what the
    /// cache key covers, and what the console shows.
    ///
    /// A code step's text is its function's source; it may read every
    /// parameter and run variable, so those are part of it too.
    ///
    /// - Throws: the first field with a `${name}` that has no value (or an
    ///   image name no daemon would take).
    public func resolve(_ index: Int, vars: [String: Value], folder: RunFolder) throws(FieldError) -> ResolvedStep {
        let step = workflow.steps[index]
        let worker = workers[index]
        let variables = variables(for: index, vars: vars, folder: folder)
        func substituted(_ texts: [String], _ field: String) throws(FieldError) -> [String] {
            var result: [String] = []
            result.reserveCapacity(texts.count)
            for (i, text) in texts.enumerated() {
                result.append(Template.hasPlaceholder(text) ? try variables.substitute(text, field: "\(field)[\(i + 1)]") : text)
            }
            return result
        }
        var commands: [String] = [], image: String?, code: String?
        var parameters: [String: Value] = [:], readable: [String: Value] = [:]
        switch step {
        case .container(let container):
            commands = try substituted(container.commands, "commands")
            image = try variables.image(of: container, on: worker)
        case .code(let codeStep):
            code = codeStep.function.source.isEmpty ? codeStep.function.location : codeStep.function.source
            parameters = arguments
            readable = vars
        case .notebook(let notebook):
            var params: [String] = []
            for (name, value) in notebook.params.sorted(by: { $0.key < $1.key }) {
                guard case .string(let text) = value, Template.hasPlaceholder(text) else {
                    params.append("\(name)=\(value.rendered)")
                    continue
                }
                params.append("\(name)=\(try variables.substitute(text, field: "params.\(name)"))")
            }
            code = ([notebook.notebook, notebook.output] + params + notebook.requirements.map { "requires \($0)" })
                .joined(separator: "\n")
            image = worker.type == .nbdocker ? worker.image ?? NotebookDockerWorker.defaultBase : nil
        }
        var environment = step.info.env.isEmpty ? worker.env : worker.env.merging(step.info.env) { $1 }
        for (name, value) in environment where Template.hasPlaceholder(value) {
            environment[name] = try variables.substitute(value, field: "env.\(name)")
        }
        return ResolvedStep(name: step.name, kind: step.kind, commands: commands, image: image, code: code,
                            environment: environment, worker: worker.name, workerVars: worker.vars,
                            parameters: parameters, vars: readable,
                            inputs: try substituted(inputs[index], "inputs"), outputs: try substituted(outputs[index], "outputs"))
    }

    /// What `${name}` means in step `index` of a run in `folder`.
    public func variables(for index: Int, vars: [String: Value], folder: RunFolder) -> Variables {
        Variables(runVars: vars, parameters: arguments, workerVars: workers[index].vars,
                  builtins: .init(runID: folder.id, runDirectory: folder.path, step: workflow.steps[index].name,
                                  workflow: workflow.name))
    }
}
