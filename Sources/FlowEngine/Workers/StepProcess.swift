import FlowModel

extension ChildProcess {
    /// Runs one process of an attempt, the sequence every worker that runs
    /// processes shares: spawned, stopped with the attempt (its whole tree,
    /// SIGTERM then SIGKILL after the grace), waited for, and swept of
    /// whatever it left behind.
    ///
    /// - Parameter alsoOnStop: more to do when the attempt is stopped (a
    ///   container to remove).
    nonisolated(nonsending) static func run(_ spec: ProcessSpec, for context: StepContext,
                                            alsoOnStop: (@Sendable () -> Void)? = nil) async throws(SpawnError) -> Termination {
        let child = try spawn(spec, monitor: context.monitor)
        let grace = context.killGrace
        context.stop.onStop {
            child.terminate(grace: grace)
            alsoOnStop?()
        }
        let termination = await child.termination()
        context.stop.clear()
        await child.sweep(grace: grace)
        return termination
    }
}
