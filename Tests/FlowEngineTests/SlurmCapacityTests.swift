@testable import FlowEngine
import FlowModel
import Testing

/// flowlua refuses a job no node of its partition can hold before sbatch
/// sees it: on a cluster that accepts such jobs they pend for ever.
@Suite struct SlurmCapacityTests {
    /// Two partitions: "small" (the default, 2-CPU nodes) and "big" (one 64-CPU, 512G node).
    let capacity = SlurmCapacity(sinfo: """
        small*|2|7000
        small*|2|3000
        big|64|524288
        big|8|16000
        """)

    func job(cpus: Int? = nil, memory: UInt64? = nil, partition: String? = nil, options: [String] = []) -> RemoteJob {
        RemoteJob(name: "j", script: "", workingDirectory: "/r", stdout: "/r/s.stdout", stderr: "/r/s.stderr",
                  cpus: cpus, memory: memory, timeLimit: nil, after: [],
                  cluster: ClusterOptions(partition: partition, options: options))
    }

    @Test func sinfoGivesTheLargestNodeOfEachPartitionAndTheDefault() {
        #expect(capacity.defaultPartition == "small")
        #expect(capacity.largest["small"] == .init(cpus: 2, memory: 7000))
        #expect(capacity.largest["big"] == .init(cpus: 64, memory: 524_288))
    }

    @Test func moreCPUsThanAnyNodeOfThePartitionIsRefusedSayingBoth() {
        #expect(capacity.refusal(of: job(cpus: 512)) == "it asks for 512 CPUs and the largest node of partition small has 2")
        #expect(capacity.refusal(of: job(cpus: 2)) == nil)
        #expect(capacity.refusal(of: job(cpus: 64, partition: "big")) == nil)
        #expect(capacity.refusal(of: job(cpus: 65, partition: "big")) != nil)
    }

    @Test func moreMemoryThanAnyNodeIsRefusedInSlurmsMegabytes() {
        #expect(capacity.refusal(of: job(memory: 7000 << 20)) == nil)
        #expect(capacity.refusal(of: job(memory: (7000 << 20) + 1))
            == "it asks for 7001M of memory and the largest node of partition small has 7000M")
        #expect(capacity.refusal(of: job(memory: .max)) != nil, "no overflow on the largest size")
        #expect(Slurm.megabytes(1) == 1 && Slurm.megabytes(1 << 20) == 1 && Slurm.megabytes(.max) == 1 << 44)
    }

    @Test func theWorkersOwnPartitionOptionWinsAndAListTakesItsLargest() {
        #expect(capacity.refusal(of: job(cpus: 32, partition: "small", options: ["--partition=big"])) == nil)
        #expect(capacity.refusal(of: job(cpus: 32, options: ["-p", "big"])) == nil)
        #expect(capacity.refusal(of: job(cpus: 32, options: ["-pbig"])) == nil)
        #expect(capacity.refusal(of: job(cpus: 32, partition: "small,big")) == nil)
        #expect(capacity.refusal(of: job(cpus: 128, partition: "small,big"))
            == "it asks for 128 CPUs and the largest node of partitions small,big has 64")
    }

    @Test func whatTheWorkersOptionsSetOrSinfoDoesNotKnowIsLeftToSbatch() {
        #expect(capacity.refusal(of: job(cpus: 512, options: ["--cpus-per-task=1"])) == nil)
        #expect(capacity.refusal(of: job(cpus: 512, options: ["-c1"])) == nil)
        #expect(capacity.refusal(of: job(memory: 1 << 40, options: ["--mem-per-cpu=1G"])) == nil)
        #expect(capacity.refusal(of: job(cpus: 512, partition: "gpu")) == nil, "a partition sinfo does not list")
        #expect(SlurmCapacity(sinfo: "").refusal(of: job(cpus: 512)) == nil, "no default partition")
        #expect(SlurmCapacity(sinfo: "garbage\nx|y|z\n").largest.isEmpty)
    }
}
