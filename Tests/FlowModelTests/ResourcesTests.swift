import FlowModel
import Testing

@Suite("Resources and sizes")
struct ResourcesTests {
    @Test func sizesParseWithBinaryUnits() {
        #expect(ByteCount.parse("512M") == 512 << 20)
        #expect(ByteCount.parse("2G") == 2 << 30)
        #expect(ByteCount.parse("2g") == 2 << 30)
        #expect(ByteCount.parse("1.5 GiB") == 3 << 29)
        #expect(ByteCount.parse("100k") == 100 << 10)
        #expect(ByteCount.parse("64KB") == 64 << 10)
        #expect(ByteCount.parse("1T") == 1 << 40)
        #expect(ByteCount.parse("4096") == 4096)
        #expect(ByteCount.parse("12B") == 12)
    }

    @Test func nonsenseIsNotASize() {
        for text in ["", "lots", "G", "2X", "-1G", "1e3M", "2 G B"] {
            #expect(ByteCount.parse(text) == nil, "\(text)")
        }
    }

    @Test func sizesFormatShortly() {
        #expect(ByteCount.format(2 << 30) == "2G")
        #expect(ByteCount.format(3 << 29) == "1.5G")
        #expect(ByteCount.format(512 << 20) == "512M")
        #expect(ByteCount.format(100) == "100B")
    }

    @Test func admissionAddsWhatIsInUse() {
        let machine = Resources(cpus: 4, memory: 8 << 30)
        #expect(machine.admits(Resources(cpus: 4, memory: 8 << 30), besides: .none))
        #expect(!machine.admits(Resources(cpus: 1, memory: 0), besides: Resources(cpus: 3.5, memory: 0)))
        #expect(machine.admits(Resources(cpus: 0.5, memory: 0), besides: Resources(cpus: 3.5, memory: 0)))
        #expect(!machine.admits(Resources(cpus: 0, memory: 1), besides: Resources(cpus: 0, memory: 8 << 30)))
        #expect(Resources(StepInfo(name: "s", cpus: 2, memory: 1024)) == Resources(cpus: 2, memory: 1024))
        #expect(Resources(StepInfo(name: "s")) == .none)
    }

    @Test func retryDelaysDoubleUpToTenMinutes() {
        let step = StepInfo(name: "s", retries: 30, retryDelay: 1.5)
        #expect(step.delay(beforeRetry: 1) == 1.5)
        #expect(step.delay(beforeRetry: 2) == 3)
        #expect(step.delay(beforeRetry: 3) == 6)
        #expect(step.delay(beforeRetry: 30) == 600)
        #expect(StepInfo(name: "s", retryDelay: 0).delay(beforeRetry: 5) == 0)
    }
}
