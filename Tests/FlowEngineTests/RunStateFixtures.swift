import FlowEngine
import FlowModel
import Foundation
import Testing

/// A `RunState` driven by hand, as a test plays the driver: every event's
/// actions are kept, and after each the state is checked for what must
/// always hold.
struct Machine {
    var state: RunState
    private(set) var log: [RunAction] = []

    init(_ steps: [Step], workers: [String: WorkerSpec] = [:], jobs: Int = 4,
         capacity: Resources = Resources(cpus: 64, memory: 1 << 40), policy: Schedule.Policy = .stopOnFailure,
         prepares: Bool = false, chains: Bool = false, resume: Bool = false, carryover: Carryover = Carryover(),
         callbacks: Callbacks = .init()) throws {
        let plan = try Plan(Workflow(name: "test", workers: workers, steps: steps, callbacks: callbacks), arguments: [:])
        state = RunState(plan: plan, jobs: jobs, capacity: capacity, policy: policy, resume: resume,
                         prepares: prepares, chainsCode: chains, carryover: carryover)
        state.runStarted()
    }

    func index(_ name: String) -> Int {
        state.plan.workflow.steps.firstIndex { $0.name == name }!
    }

    /// Applies an event; returns its actions.
    @discardableResult
    mutating func on(_ event: (inout RunState) -> [RunAction],
                     sourceLocation: SourceLocation = #_sourceLocation) -> [RunAction] {
        let actions = event(&state)
        log += actions
        check(sourceLocation)
        return actions
    }

    mutating func begin() -> [RunAction] { on { $0.stepsMayStart() } }

    mutating func end(_ name: String, exit: Int32? = 0, error: String? = nil, changes: [String: Value?] = [:],
                      nextLinkBegun: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> [RunAction] {
        let index = index(name)
        let attempt = state.attempts[index]
        return on({ $0.ended(index, attempt: attempt, ExecResult(exitCode: exit, error: error), changes: changes,
                             nextLinkBegun: nextLinkBegun) }, sourceLocation: sourceLocation)
    }

    mutating func fail(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> [RunAction] {
        end(name, exit: 1, sourceLocation: sourceLocation)
    }

    /// Its attempt was ended by a signal (stopped, timed out).
    mutating func killed(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> [RunAction] {
        end(name, exit: nil, error: "terminated by signal 15", sourceLocation: sourceLocation)
    }

    /// What must hold after every event.
    private func check(_ location: SourceLocation) {
        #expect(state.violations.isEmpty, "illegal transitions: \(state.violations)", sourceLocation: location)
        #expect(state.running.isDisjoint(with: state.preparing), sourceLocation: location)
        let local = state.running.union(state.preparing).filter { !state.plan.workers[$0].isRemote }.count
        #expect(state.runningLocal == local, "slots held \(state.runningLocal), local steps in flight \(local)",
                sourceLocation: location)
        #expect(state.used.cpus >= 0 && state.runningLocal >= 0, sourceLocation: location)
        for index in state.running { #expect(state.schedule.status[index] == .running, sourceLocation: location) }
        #expect(state.finished == log.contains(.finish), sourceLocation: location)
        #expect(log.count { $0 == .finish } <= 1, "finish asked for twice", sourceLocation: location)
    }

    /// How the run ends, after `finish`.
    mutating func close() -> RunState.RunEnd {
        let (end, actions) = state.closePending()
        log += actions
        state.runEnded(end)
        #expect(state.violations.isEmpty, "\(state.violations)")
        let open = state.states.filter { !$0.status.isFinished }.count
        #expect(open == 0, "steps left open: \(state.states.map(\.status))")
        return end
    }

    func status(_ name: String) -> Status { state.states[index(name)].status }
}

/// The indices of the steps `actions` start, in order (not chain links).
func started(_ actions: [RunAction]) -> [Int] {
    actions.compactMap { if case .start(let launch) = $0 { launch.index } else { nil } }
}

func launches(_ actions: [RunAction]) -> [StepLaunch] {
    actions.compactMap { if case .start(let launch) = $0 { launch } else { nil } }
}

/// The steps `actions` report finished, with how.
func finished(_ actions: [RunAction]) -> [String: Status] {
    var statuses: [String: Status] = [:]
    for case .observe(let event) in actions {
        switch event {
        case .stepFinished(let step, _, let status, _, _): statuses[step] = status
        case .stepNotRun(let step, _, let status, _): statuses[step] = status
        case .stepCached(let step, _, _): statuses[step] = .success
        default: break
        }
    }
    return statuses
}

func stops(_ actions: [RunAction]) -> [Int] {
    actions.compactMap { if case .stop(let index) = $0 { index } else { nil } }
}

func step(_ name: String, after: [String] = [], worker: String? = nil, cpus: Double? = nil, retries: Int = 0,
          timeout: Double? = nil, callbacks: Callbacks = .init()) -> Step {
    .container(ContainerStep(info: StepInfo(name: name, after: after, worker: worker, cpus: cpus, retries: retries,
                                            retryDelay: 0.5, timeout: timeout, callbacks: callbacks),
                             commands: ["true"]))
}

func codeStep(_ name: String, after: [String] = [], timeout: Double? = nil, callbacks: Callbacks = .init()) -> Step {
    .code(CodeStep(info: StepInfo(name: name, after: after, timeout: timeout, callbacks: callbacks),
                   function: FunctionReference(id: 1, location: "flow.lua:1", source: "function() end")))
}

let function = FunctionReference(id: 7, location: "flow.lua:7", source: "function() end")
let cluster = ["hpc": WorkerSpec(name: "hpc", type: .slurm, cluster: ClusterOptions())]
