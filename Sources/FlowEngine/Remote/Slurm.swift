/// Slurm's units and the files of its jobs: shared by the worker that
/// writes a job's script and the engine that reads what the job left.
enum Slurm {
    /// Slurm's memory sizes are whole megabytes, at least one.
    static func megabytes(_ bytes: UInt64) -> Int {
        max(1, Int(clamping: bytes >> 20 + (bytes & ((1 << 20) - 1) == 0 ? 0 : 1)))
    }

    /// Slurm's time limits are whole minutes.
    static func minutes(_ seconds: Double) -> Int { max(1, Int((seconds / 60).rounded(.up))) }

    /// Where a job records how it ended: `<logs>.exit`, "<command> <status>".
    static func exitFile(_ logs: StepLogPaths) -> String { logs.base + ".exit" }
}
