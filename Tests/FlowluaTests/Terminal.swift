import FlowEngine
import Foundation
import Testing

/// A real terminal for driving the console: a tmux session of its own
/// (its own server socket) running one command, typed into with
/// `send-keys` and read with `capture-pane`.
final class Terminal: Sendable {
    private let socket: String

    /// Starts `arguments` (the program first) in `directory` in a new
    /// 120x50 terminal; the pane stays after the program exits, with its
    /// exit status on the last line.
    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        socket = FileManager.default.temporaryDirectory.appending(path: "flowlua-tmux-\(UUID().uuidString.prefix(8))").path
        let assignments = environment.map { "\($0.key)=\(Self.quote($0.value))" }.joined(separator: " ")
        let command = "cd \(Self.quote(directory.path)) && env \(assignments) \(arguments.map(Self.quote).joined(separator: " "));"
            + " echo \"[exited $?]\"; sleep 600"
        // The server outlives this call. Started as flowlua starts a step, it
        // keeps no pipe of another test's process open (which would never see
        // its end then) and blocks no signal (the test runner's threads block
        // SIGTERM, and tmux's kill-server is a SIGTERM to itself).
        let started = try ChildProcess.spawn(ProcessSpec(
            executable: Self.tmux,
            arguments: ["-S", socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "50", command]))
        guard let end = started.wait(timeout: .seconds(10)), end.succeeded else {
            started.signalGroup(SIGKILL)
            throw TerminalError("tmux new-session did not start a session")
        }
    }

    /// tmux, which scripts/setup.sh installs: these tests need a terminal.
    static let tmux: String = {
        for folder in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: folder + "/tmux") {
            return folder + "/tmux"
        }
        return "/usr/bin/tmux"
    }()

    /// Types `text` as it is.
    func type(_ text: String) async throws {
        try await tmux(["send-keys", "-t", "0", "-l", text])
    }

    /// Presses keys by tmux's names: `Enter`, `Tab`, `C-c`, `C-d`, `Up`.
    func press(_ keys: String...) async throws {
        try await tmux(["send-keys", "-t", "0"] + keys)
    }

    /// Types a line and presses Enter.
    func enter(_ line: String) async throws {
        try await type(line)
        try await press("Enter")
    }

    /// What the terminal shows now, trailing blank lines dropped.
    func screen() async throws -> String {
        let socket = socket
        let shown = try await offPool {
            try executeBlocking(Self.tmux, ["-S", socket, "capture-pane", "-p", "-J", "-t", "0", "-S", "-200"])
        }
        return shown.stdout.replacingOccurrences(of: "\\n+$", with: "\n", options: .regularExpression)
    }

    /// Waits until what the terminal shows passes `test`, and returns it;
    /// fails the test with the screen after `timeout`.
    @discardableResult
    func wait(_ what: String, timeout: Duration = .seconds(15), until test: (String) -> Bool) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var shown = try await screen()
        while !test(shown) {
            guard clock.now < deadline else {
                Issue.record("the terminal never showed \(what); it shows:\n\(shown)")
                throw TerminalError("timed out waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(30))
            shown = try await screen()
        }
        return shown
    }

    /// Waits until the terminal shows the console's prompt (`> `, which
    /// tmux shows without its trailing space) on `count` lines.
    @discardableResult
    func waitForPrompt(count: Int = 1, timeout: Duration = .seconds(15)) async throws -> String {
        try await wait("\(count) prompt(s)", timeout: timeout) { Self.prompts(in: $0) >= count }
    }

    /// The lines of `screen` that are a prompt, empty or with a line typed after it.
    static func prompts(in screen: some StringProtocol) -> Int {
        screen.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 == ">" || $0.hasPrefix("> ") }.count
    }

    /// Waits until the terminal shows `text` `count` times.
    @discardableResult
    func wait(for text: String, count: Int = 1, timeout: Duration = .seconds(15)) async throws -> String {
        try await wait("'\(text)' \(count) time(s)", timeout: timeout) { $0.components(separatedBy: text).count - 1 >= count }
    }

    /// Ends the session and its server, and whatever still runs in it.
    func close() {
        let server = (try? executeBlocking(Self.tmux, ["-S", socket, "display-message", "-p", "#{pid}"]))
            .flatMap { pid_t($0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
        _ = try? executeBlocking(Self.tmux, ["-S", socket, "kill-server"])
        if let server, server > 1 { kill(server, SIGKILL) }
        try? FileManager.default.removeItem(atPath: socket)
    }

    private func tmux(_ arguments: [String]) async throws {
        let socket = socket
        let result = try await offPool { try executeBlocking(Self.tmux, ["-S", socket] + arguments) }
        guard result.status == 0 else { throw TerminalError("tmux \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    private static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

struct TerminalError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
