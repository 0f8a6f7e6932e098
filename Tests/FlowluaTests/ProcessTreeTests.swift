import Foundation
import Testing

/// "Nothing a step started outlives it": processes that leave the step's
/// process group (`setsid`, a double fork, `nohup`, a daemon that closes its
/// fds) are stopped with the step, on every way a run can end, for every
/// kind of step, with cgroups and with the subreaper alone.
@Suite("Processes a step starts end with it", .serialized)
struct ProcessTreeTests {
    enum Ending: String, CaseIterable, CustomTestStringConvertible {
        case success, failure, timeout, sigint, sigterm, stop
        var testDescription: String { rawValue }
    }

    enum Tracking: String, CaseIterable, CustomTestStringConvertible {
        case cgroup, subreaper
        var testDescription: String { rawValue }
    }

    /// Shell commands that start four escapees: each leaves `up.<tag>` in
    /// the run folder, then sleeps with `tag` and the test's `marker` in its
    /// arguments.
    static func escapes(_ tag: Int, _ marker: String) -> String {
        func escapee(_ n: Int) -> String { "touch up.\(tag)\(n); exec sleep 600.\(tag)\(n)\(marker)" }
        let daemon = "import os; os.fork() and os._exit(0); os.setsid(); os.fork() and os._exit(0); "
            + "os.closerange(0, 1024); os.execvp('sh', ['sh', '-c', '\(escapee(4))'])"
        return "setsid sh -c '\(escapee(1))' >/dev/null 2>&1 </dev/null & "
            + "(setsid sh -c '\(escapee(2))' >/dev/null 2>&1 </dev/null &); "
            + "nohup sh -c '\(escapee(3))' >/dev/null 2>&1 & "
            + "python3 -c \\\"\(daemon)\\\"; sleep 0.3"
    }

    /// The escapees each step of `script(_:_:)` starts, by tag.
    static var tags: [String] {
        var tags = ["11", "12", "13", "14", "21", "22", "23", "24"]
        if Backends.notebookEnabled { tags.append("31") }
        if Backends.dockerEnabled { tags += ["41", "42"] }
        return tags
    }

    static func script(_ ending: Ending, _ marker: String) -> String {
        let shellEnd = switch ending {
        case .success: "true"
        case .failure: "exit 3"
        default: "sleep 60"
        }
        let luaEnd = ending == .success ? "assert(r.ok, r.stderr)" : "error('boom: ' .. r.stderr)"
        let timeout = ending == .timeout ? "timeout = 6," : ""
        var steps = """
              container "shell" { \(timeout) commands = { "\(escapes(1, marker)); \(shellEnd)" } },
              code "lua" { \(timeout) run = function(ctx)
                local r = flow.sh("\(escapes(2, marker)); \(shellEnd)")
                \(luaEnd)
              end },

            """
        if Backends.notebookEnabled {
            steps += """
                  notebook "nb" { \(ending == .timeout ? "timeout = 10," : "") notebook = "escape.ipynb" },

                """
        }
        if Backends.dockerEnabled {
            steps += """
                  container "box" { worker = "box", \(timeout) commands = {
                    "setsid sh -c 'touch up.41; exec sleep 600.41\(marker)' >/dev/null 2>&1 </dev/null & (setsid sh -c 'touch up.42; exec sleep 600.42\(marker)' >/dev/null 2>&1 </dev/null &); sleep 0.3; \(shellEnd)" } },

                """
        }
        return """
            workflow { name = "escapes",
              workers = { box = worker.docker { image = "local/busybox:1" } },
              steps = {
            \(steps)  } }
            """
    }

    static func notebookFile(_ ending: Ending, _ marker: String) -> String {
        let end = switch ending {
        case .success: "pass"
        case .failure: "raise RuntimeError('boom')"
        default: "import time; time.sleep(60)"
        }
        return notebook([
            "",
            "import subprocess\nsubprocess.Popen(['sh', '-c', 'touch up.31; exec sleep 600.31\(marker)'], start_new_session=True, "
                + "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
            end,
        ])
    }

    static func escapees(_ marker: String) -> [String] {
        living { $0.contains(marker) }
    }

    static func allStarted(_ marker: String) -> Bool {
        let alive = escapees(marker)
        return tags.allSatisfy { tag in alive.contains { $0.contains("600.\(tag)\(marker)") } }
    }

    static func commandLine(_ pid: String) -> String {
        String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: "\0", with: " ")
    }

    @Test(arguments: Ending.allCases, Tracking.allCases)
    func escapeesEndWithTheirStep(_ ending: Ending, _ tracking: Tracking) async throws {
        if Backends.dockerEnabled { _ = try await Backends.docker() }
        let marker = String(Int.random(in: 100_000...999_999))
        let folder = try workflowFolder(Self.script(ending, marker),
                                        files: ["escape.ipynb": Self.notebookFile(ending, marker)])
        let environment = ["FLOWLUA_PROCESS_TRACKING": tracking.rawValue]
        let arguments = ["run", "workflow.lua", "--runs-dir", "runs", "--jobs", "8", "--grace", "1"]
        let outcome: Outcome
        switch ending {
        case .success, .failure, .timeout:
            outcome = try await flowlua(arguments, in: folder, environment: environment)
        case .sigint, .sigterm:
            outcome = try await interrupt(arguments, in: folder, signal: ending == .sigint ? SIGINT : SIGTERM,
                                          environment: environment) { Self.allStarted(marker) }
        case .stop:
            let started = try await flowlua(arguments + ["--detach"], in: folder, environment: environment)
            try #require(started.status == 0, "\(started.stderr)")
            let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && !Self.allStarted(marker) { try await Task.sleep(for: .milliseconds(50)) }
            outcome = try await flowlua(["stop", id, "--runs-dir", "runs"], in: folder)
        }
        let expected: Int32 = switch ending {
        case .success, .stop: 0
        case .failure, .timeout: 1
        case .sigint: 130
        case .sigterm: 143
        }
        #expect(outcome.status == expected, "\(outcome.stderr)")
        // Each escapee ran (so its absence below means it was stopped), but
        // a timeout may stop the notebook before its kernel has started.
        let run = try onlyRun(in: folder)
        let ran = Self.tags.filter { FileManager.default.fileExists(atPath: run.appending(path: "up.\($0)").path) }
        #expect(ran == Self.tags.filter { ending != .timeout || $0 != "31" } || ran == Self.tags, "escapees that ran: \(ran)")
        let left = Self.escapees(marker)
        #expect(left.isEmpty, "left running: \(left.map { Self.commandLine($0) })")
        if !left.isEmpty { for pid in left { kill(pid_t(pid) ?? 0, SIGKILL) } }
    }
}
