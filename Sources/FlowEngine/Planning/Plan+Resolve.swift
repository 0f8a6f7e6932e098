import FlowModel

extension Plan {
    /// Step `index` as it would run now in `folder`, with the run variables
    /// `vars`: what its cache key covers, and what the console shows.
    ///
    /// A code step's text is its function's source; it may read every
    /// parameter and run variable, so those are part of it too.
    public func resolve(_ index: Int, vars: [String: Value], folder: RunFolder) -> ResolvedStep {
        let step = workflow.steps[index]
        let worker = workers[index]
        let paths = inputs[index] + outputs[index]
        let substitutes: Bool = switch step {
        case .code: paths.contains(where: Template.hasPlaceholder)
        default: true
        }
        let variables = substitutes ? variables(for: index, vars: vars, folder: folder) : Variables()
        func substituted(_ text: String) -> String {
            guard substitutes, Template.hasPlaceholder(text) else { return text }
            return (try? variables.substitute(text)) ?? text
        }
        var commands: [String] = [], image: String?, code: String?
        var parameters: [String: Value] = [:], readable: [String: Value] = [:]
        switch step {
        case .container(let container):
            commands = container.commands.map(substituted)
            image = container.image ?? worker.image
        case .code(let codeStep):
            code = codeStep.function.source.isEmpty ? codeStep.function.location : codeStep.function.source
            parameters = arguments
            readable = vars
        case .notebook(let notebook):
            let params = notebook.params.mapValues { value -> String in
                if case .string(let text) = value { substituted(text) } else { value.rendered }
            }
            code = ([notebook.notebook, notebook.output] + params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                + notebook.requirements.map { "requires \($0)" }).joined(separator: "\n")
            image = worker.type == .nbdocker ? worker.image ?? NotebookDockerWorker.defaultBase : nil
        }
        return ResolvedStep(name: step.name, kind: step.kind, commands: commands, image: image, code: code,
                            environment: (step.info.env.isEmpty ? worker.env : worker.env.merging(step.info.env) { $1 })
                                .mapValues(substituted),
                            worker: worker.name, workerVars: worker.vars, parameters: parameters, vars: readable,
                            inputs: inputs[index].map(substituted), outputs: outputs[index].map(substituted))
    }

    /// What `${name}` means in step `index` of a run in `folder`.
    public func variables(for index: Int, vars: [String: Value], folder: RunFolder) -> Variables {
        Variables(runVars: vars, parameters: arguments, workerVars: workers[index].vars,
                  builtins: .init(runID: folder.id, runDirectory: folder.path, step: workflow.steps[index].name,
                                  workflow: workflow.name))
    }
}
