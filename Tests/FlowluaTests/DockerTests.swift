import Foundation
import Testing

@Suite("Docker worker, on the real daemon", .serialized, .enabled(if: Backends.dockerEnabled, Backends.dockerSkipped))
struct DockerTests {
    static let box = #"box = worker.docker { image = "local/busybox:1" }"#

    @Test func filesAContainerWritesAreInTheRunFolderOwnedByTheInvokingUser() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "own", workers = { \(Self.box) }, steps = {
              container "write" { worker = "box", outputs = { "out/made.txt" }, commands = {
                "mkdir -p out", "id -u > out/made.txt", "pwd >> out/made.txt" } },
            }}
            """)
        // As root, run flowlua as nobody (in the docker group): without
        // --user the container would still write as root.
        var uid = getuid()
        var command = [flowluaBinary, "workflow.lua", "--runs-dir", "runs"]
        if uid == 0, let group = getgrnam("docker") {
            uid = 65534
            let copy = folder.appending(path: "flowlua").path
            // Copied by cp, not in this process: a test forking meanwhile
            // would inherit the copy's write descriptor, and exec would
            // fail with "Text file busy".
            let copied = try await execute("/bin/cp", [flowluaBinary, copy], in: folder)
            try #require(copied.status == 0, "\(copied.stderr)")
            chmod(folder.path, 0o777)
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=\(group.pointee.gr_gid)", "--clear-groups",
                       "/usr/bin/env", "HOME=\(folder.path)", copy] + command.dropFirst()
        }
        let result = try await execute(command[0], Array(command.dropFirst()), in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try onlyRun(in: folder)
        let made = run.appending(path: "out/made.txt")
        let owner = try FileManager.default.attributesOfItem(atPath: made.path)[.ownerAccountID] as? NSNumber
        #expect(owner?.uint32Value == uid)
        #expect(try contents(made) == "\(uid)\n\(run.path)\n", "the container runs as the user, in the run folder")
    }

    @Test func envAndVarsReachTheContainerButNotFlowluasEnvironment() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "env",
              parameters = { param.string "who" { default = "world" } },
              workers = { box = worker.docker { image = "local/busybox:1", env = { GREETING = "hello" }, vars = { n = 3 } } },
              steps = {
                container "show" { worker = "box", env = { WHO = "${who}" }, commands = {
                  "echo \\"$GREETING $WHO ${n}\\" > said.txt", "env > env.txt" } },
              }}
            """)
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-p", "who=docker"], in: folder,
                                 environment: ["FLOWLUA_TEST_SECRET": "leaked"])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "said.txt")) == "hello docker 3\n")
        let env = try contents(run.appending(path: "env.txt"))
        #expect(env.contains("GREETING=hello\n") && env.contains("WHO=docker\n"))
        #expect(!env.contains("FLOWLUA_TEST_SECRET"), "the host's environment stays out of the container")
    }

    @Test func theImageMayComeFromAParameter() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "img", parameters = { param.string "img" { default = "local/nope:0" } },
              workers = { box = worker.docker { image = "${img}" } },
              steps = {
                container "a" { worker = "box", commands = { "busybox echo worker > a.txt" } },
                container "b" { worker = "box", image = "${img}", commands = { "busybox echo step > b.txt" } },
              }}
            """)
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs", "-p", "img=local/busybox:1"], in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "a.txt")) == "worker\n")
        #expect(try contents(run.appending(path: "b.txt")) == "step\n")
    }

    @Test func aFailingCommandFailsTheStepWithItsStderr() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "fail", workers = { \(Self.box) }, steps = {
              container "bad" { worker = "box", commands = {
                "echo first", "echo 'no such thing' >&2; exit 3", "touch never" } },
            }}
            """)
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("FAILED bad"))
        #expect(result.stderr.contains("command 2 exited with code 3: echo 'no such thing' >&2; exit 3"))
        #expect(result.stderr.contains("| no such thing"))
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: ".logs/bad.stdout")) == "first\n")
        #expect(!FileManager.default.fileExists(atPath: run.appending(path: "never").path))
    }

    @Test func aMissingImageOrDaemonIsOneErrorBeforeAnyCommandRuns() async throws {
        _ = try await Backends.docker()
        let script = """
            workflow { name = "missing", workers = { box = worker.docker { image = "local/none-such:0" } }, steps = {
              container "c" { worker = "box", commands = { "touch ran" } },
            }}
            """
        let folder = try workflowFolder(script)
        let noImage = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(noImage.status == 1)
        #expect(noImage.stderr.contains(
            "FAILED c ") && noImage.stderr.contains("docker: image 'local/none-such:0' is not on this machine"))

        let noDaemon = try await flowlua(["workflow.lua", "--runs-dir", "runs2"], in: folder,
                                   // Short: a socket path is at most 107 bytes, and scratch folders can be deep.
                                   environment: ["DOCKER_HOST": "unix:///tmp/flowlua-no-\(Int.random(in: 100_000...999_999)).sock"])
        #expect(noDaemon.status == 1)
        #expect(noDaemon.stderr.contains("docker: cannot reach the Docker daemon"))
        let ran = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("/ran") }
        #expect(ran.isEmpty)
    }

    @Test func cancelLeavesNoContainer() async throws {
        let docker = try await Backends.docker()
        let step = "sleeper\(Int.random(in: 100_000...999_999))"
        let folder = try workflowFolder("""
            workflow { name = "cancel", workers = { \(Self.box) }, steps = {
              container "\(step)" { worker = "box", commands = { "touch started; sleep 60" } },
            }}
            """)
        let runs = folder.appending(path: "runs")
        var seen: [String] = []
        let result = try await interrupt(["workflow.lua", "--runs-dir", "runs", "--grace", "1"], in: folder) {
            guard anyRun(in: runs, has: "started") else { return false }
            seen = await Self.containers(docker, named: step)
            return true
        }
        #expect(seen.count == 1, "the step's container ran under a name the test knows: \(seen)")
        #expect(result.status == 130, "\(result.stderr)")
        #expect(result.stderr.contains("\(step)  canceled"))
        #expect(await Self.containers(docker, named: step).isEmpty, "docker ps -a still lists the step's container")
    }

    @Test func aTimeoutStopsAndRemovesTheContainer() async throws {
        let docker = try await Backends.docker()
        let step = "slow\(Int.random(in: 100_000...999_999))"
        let folder = try workflowFolder("""
            workflow { name = "timeout", workers = { \(Self.box) }, steps = {
              container "\(step)" { worker = "box", timeout = 1, commands = { "sleep 300" } },
            }}
            """)
        let started = Date()
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs", "--grace", "1"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("timed out"))
        #expect(Date().timeIntervalSince(started) < 60, "the step sleeps 300 s; its timeout is 1 s")
        #expect(await Self.containers(docker, named: step).isEmpty)
    }

    @Test func noNetworkUnlessTheStepAsksAndLimitsFromCpusAndMemory() async throws {
        _ = try await Backends.docker()
        let interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\\\n' ' '"
        let limits = "(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
        let cpu = "(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) "
            + "$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us))"
        let folder = try workflowFolder("""
            workflow { name = "net", workers = { \(Self.box) }, steps = {
              container "closed" { worker = "box", memory = "64MiB", cpus = 0.5,
                commands = { "\(interfaces) > closed.txt", "\(limits) > memory.txt", "\(cpu) > cpu.txt" } },
              container "open" { worker = "box", network = true, commands = { "\(interfaces) > open.txt" } },
            }}
            """)
        let result = try await flowlua(["workflow.lua", "--runs-dir", "runs"], in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "closed.txt")) == "lo ")
        #expect(try contents(run.appending(path: "open.txt")) != "lo ", "network = true gives the host's network")
        #expect(try contents(run.appending(path: "memory.txt")) == "\(64 << 20)\n")
        #expect(try contents(run.appending(path: "cpu.txt")) == "50000 100000\n", "half of each 100 ms period")
    }

    @Test func theDockerExampleRuns() async throws {
        _ = try await Backends.docker()
        let folder = try scratch()
        let result = try await flowlua([repositoryRoot.appending(path: "examples/docker/workflow.lua").path,
                                  "--runs-dir", folder.appending(path: "runs").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "warmer than 14.0: east, south\n")
    }

    /// Containers, running or not, whose name contains `text`.
    static func containers(_ docker: String, named text: String) async -> [String] {
        guard let listed = try? await execute(docker, ["ps", "--all", "--format", "{{.Names}}"]) else { return ["docker ps failed"] }
        return listed.stdout.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }
}
