import FlowEngine
import FlowModel
import FlowScript
import Foundation
import Synchronization

/// The interactive session, like `lua`: Lua typed at a prompt, with the
/// workflow loaded into the same state and commands to try its steps out
/// one at a time (`:run greet`), or all of them (`:runall`).
///
/// From a terminal it edits lines with libedit (history in
/// `~/.flowlua_history`, Tab completion); otherwise it reads the chunks of
/// its standard input without prompts.
final class Console {
    private let bench: Workbench
    private let interrupts: ConsoleInterrupts
    private let interactive: Bool
    private var editor: LineEditor?
    /// Whether a chunk or command failed (piped input exits 1 then).
    private var failed = false

    static let commands = [":load", ":steps", ":show", ":set", ":run", ":runall", ":graph", ":help", ":quit"]

    init(bench: Workbench, interrupts: ConsoleInterrupts, interactive: Bool) {
        self.bench = bench
        self.interrupts = interrupts
        self.interactive = interactive
    }

    /// Reads and evaluates until the input ends or `:quit`; returns the
    /// exit status.
    func run() async -> Int32 {
        if interactive {
            let host = bench.host
            editor = LineEditor(interrupts: interrupts) { [weak self] line, start, end in
                self?.complete(line, start, end, host: host)
            }
            var banner = "flowlua \(Flowlua.version) (Lua 5.4): Lua and :commands, :help to list them, Ctrl-D to quit"
            if let workflow = bench.workflow {
                banner += "\nworkflow '\(workflow.name)' loaded: \(workflow.steps.count) steps (:steps)"
            }
            print(banner)
        }
        var chunk: [String] = []
        while true {
            fflush(nil)
            let input = await read(prompt: chunk.isEmpty ? "> " : ">> ")
            switch input {
            case .end:
                if interactive { print("") }
                if !chunk.isEmpty {
                    failed = true
                    fflush(nil)
                    FileHandle.standardError.write(Data("stdin: the input ended inside an unfinished chunk\n".utf8))
                }
                return failed && !interactive ? 1 : 0
            case .interrupted:
                if !interactive { return Interrupts.exitCode(for: SIGINT) }
                chunk = []
                print("")
                continue
            case .line(let line):
                if chunk.isEmpty, line.trimmingCharacters(in: .whitespaces).hasPrefix(":") {
                    editor?.remember(line)
                    if await command(line.trimmingCharacters(in: .whitespaces)) == .quit {
                        return failed && !interactive ? 1 : 0
                    }
                    continue
                }
                chunk.append(line)
                let source = chunk.joined(separator: "\n")
                if source.allSatisfy(\.isWhitespace) {
                    chunk = []
                    continue
                }
                let reply = await evaluate(source)
                if reply == .incomplete { continue }
                editor?.remember(source)
                chunk = []
                show(reply)
            }
        }
    }

    /// Reads a line on a thread of its own: the read blocks, and Tab's
    /// completion waits there for the Lua state's thread, so neither may hold
    /// one of the cooperative pool's few threads.
    private func read(prompt: String) async -> LineEditor.Input {
        let (editor, interrupts) = (UncheckedBox(editor), interrupts)
        return await withCheckedContinuation { continuation in
            Thread {
                if let editor = editor.value {
                    continuation.resume(returning: editor.read(prompt: prompt))
                    return
                }
                _ = interrupts.takeInterrupt()
                guard let line = readLine(strippingNewline: true) else {
                    continuation.resume(returning: interrupts.takeInterrupt() ? .interrupted : .end)
                    return
                }
                continuation.resume(returning: .line(line))
            }.start()
        }
    }

    // MARK: Lua

    /// Evaluates a chunk, carrying out the console functions it calls.
    private func evaluate(_ source: String) async -> ConsoleReply {
        var reply = await lua { stop in await self.bench.host.evaluate(source, stop: stop) }
        while case .request(let request) = reply {
            let result = await perform(request)
            reply = await lua { stop in await self.bench.host.answer(result, stop: stop) }
        }
        return reply
    }

    private func lua(_ body: (StopHandle) async -> ConsoleReply) async -> ConsoleReply {
        let stop = StopHandle()
        return await interrupts.during(.evaluating(stop)) { await body(stop) }
    }

    private func show(_ reply: ConsoleReply) {
        switch reply {
        case .done(let output):
            if let output { print(output) }
        case .failed(let message):
            failed = true
            fflush(nil)
            FileHandle.standardError.write(Data((message + "\n").utf8))
        case .incomplete, .request:
            break
        }
    }

    /// A console function's work, for the Lua code that called it.
    private func perform(_ request: ConsoleRequest) async -> Result<ConsoleValue, ConsoleFailure> {
        func string(_ i: Int, _ what: String) throws(ConsoleFailure) -> String {
            guard i < request.arguments.count, case .string(let s)? = request.arguments[i] else {
                throw ConsoleFailure("flow.\(request.operation): expected \(what) (a string) as argument \(i + 1)")
            }
            return s
        }
        do throws(ConsoleFailure) {
            switch request.operation {
            case "load":
                let workflow = try await loadInterruptibly(try string(0, "a script path"))
                return .success(.string(workflow.name))
            case "steps":
                return .success(.list(try bench.steps()))
            case "show":
                return .success(try bench.show(try string(0, "a step name")))
            case "set":
                let name = try string(0, "a parameter name")
                let value = request.arguments.count > 1 ? request.arguments[1] : nil
                return .success(ConsoleValue(try await bench.set(name, value: value)))
            case "run_step":
                let name = try string(0, "a step name")
                let report = try await bench.run(name, interrupts: interrupts, observe: progress)
                let result = report.steps.first { $0.name == name }.map(bench.result(of:)) ?? .null
                await bench.host.setGlobal("last", result)
                return .success(result)
            case "run_all":
                let report = try await bench.run(nil, interrupts: interrupts, observe: progress)
                let result = bench.result(of: report)
                await bench.host.setGlobal("last", result)
                return .success(result)
            case "graph":
                return .success(.string(try bench.graph()))
            default:
                return .failure(ConsoleFailure("flow.\(request.operation): not a console function"))
            }
        } catch {
            return .failure(error)
        }
    }

    /// Loads a script with Ctrl-C interrupting it (a script that loops).
    private func loadInterruptibly(_ path: String) async throws(ConsoleFailure) -> Workflow {
        let stop = StopHandle()
        let result: Result<Workflow, ConsoleFailure> = await interrupts.during(.evaluating(stop)) {
            do throws(ConsoleFailure) { return .success(try await bench.load(path, stop: stop)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Commands

    private enum Outcome { case next, quit }

    private func command(_ line: String) async -> Outcome {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        let name = parts[0]
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        do throws(ConsoleFailure) {
            switch name {
            case ":quit", ":q", ":exit":
                return .quit
            case ":help", ":h", ":?":
                print(Self.help)
            case ":load", ":l":
                guard !argument.isEmpty else { throw ConsoleFailure(":load needs a script: :load workflow.lua") }
                let workflow = try await loadInterruptibly(argument)
                print("workflow '\(workflow.name)': \(workflow.steps.count) step\(workflow.steps.count == 1 ? "" : "s") (:steps)")
            case ":steps":
                print(try bench.stepsText())
            case ":show":
                guard !argument.isEmpty else { throw ConsoleFailure(":show needs a step: :show STEP") }
                print(try bench.showText(argument))
            case ":set":
                guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                    throw ConsoleFailure(":set expects name=value")
                }
                let parameter = String(argument[..<equals]).trimmingCharacters(in: .whitespaces)
                let text = String(argument[argument.index(after: equals)...])
                let value = try await bench.set(parameter, text: text)
                print("\(parameter) = \(value.rendered)")
            case ":run":
                guard !argument.isEmpty else { throw ConsoleFailure(":run needs a step: :run STEP (or :runall)") }
                let report = try await bench.run(argument, interrupts: interrupts, observe: progress)
                guard let step = report.steps.first(where: { $0.name == argument }) else { break }
                await bench.host.setGlobal("last", bench.result(of: step))
                if let stdout = step.result?.stdout, !stdout.isEmpty {
                    print(stdout, terminator: stdout.hasSuffix("\n") ? "" : "\n")
                }
                if step.state.status != .success { failed = true }
            case ":runall":
                let report = try await bench.run(nil, interrupts: interrupts, observe: progress)
                await bench.host.setGlobal("last", bench.result(of: report))
                Progress(quiet: false).summarize(report)
                if report.status != .success { failed = true }
            case ":graph":
                print(try bench.graph(), terminator: "")
            default:
                throw ConsoleFailure("unknown command \(name) (:help lists them)")
            }
        } catch {
            failed = true
            fflush(nil)
            FileHandle.standardError.write(Data("flowlua: \(error.message)\n".utf8))
        }
        return .next
    }

    /// Shows a run's progress as `flowlua run` does, without its opening line.
    private let progress: @Sendable (RunEvent) -> Void = { event in
        if case .runStarted = event { return }
        if case .runFinished = event { return }
        Progress(quiet: false).show(event, workflow: Workflow(name: ""))
    }

    static let help = """
        Lua:   an expression prints its values, a statement runs; an unfinished one
               continues on the next line (>>). Errors print with their traceback.
        :load FILE      load a workflow script (its globals stay in this session)
        :steps          each step and how it last ended here
        :show STEP      a step fully resolved: commands, worker, inputs, outputs
        :set NAME=VALUE set a parameter
        :run STEP       run one step in the scratch run folder (Ctrl-C cancels it)
        :runall         run the whole workflow there
        :graph          the step graph as Graphviz DOT
        :help, :quit    this text; leave (or Ctrl-D)
        The same from Lua: flow.load(f), flow.steps(), flow.show(s), flow.set(n, v),
        flow.run_step(s), flow.run_all(), flow.graph(). `last` holds the last result
        (last.stdout, last.exit, last.status); `ctx` is a code step's context in the
        scratch folder. The scratch folder is removed when the session ends (unless
        flowlua was started with --keep).
        """

    // MARK: Completion

    /// What Tab completes `line[start..<end]` to: a command, a step or
    /// parameter name where one is expected, else Lua names; nil asks for a
    /// file name (after :load).
    private func complete(_ line: String, _ start: Int, _ end: Int, host: ScriptHost) -> [String]? {
        let scalars = Array(line.unicodeScalars)
        guard start >= 0, start <= end, end <= scalars.count else { return [] }
        let word = String(String.UnicodeScalarView(scalars[start ..< end]))
        let before = String(String.UnicodeScalarView(scalars[..<start]))
        let steps = bench.workflow?.steps.map(\.name) ?? []
        let parameters = bench.workflow?.parameters.map(\.name) ?? []
        func matching(_ names: [String], suffix: String = "") -> [String] {
            names.filter { $0.hasPrefix(word) }.map { $0 + suffix }.sorted()
        }
        let head = before.trimmingCharacters(in: .whitespaces)
        if head.isEmpty, word.hasPrefix(":") { return matching(Self.commands) }
        if before.hasPrefix(":") {
            switch head {
            case ":run", ":show": return matching(steps)
            case ":set": return matching(parameters, suffix: "=")
            case ":load", ":l": return nil
            default: return []
            }
        }
        for (function, names) in [("flow.run_step", steps), ("flow.show", steps), ("flow.set", parameters)] {
            if before.hasSuffix(function + "(\"") || before.hasSuffix(function + "('") { return matching(names) }
        }
        if before.hasSuffix("flow.load(\"") || before.hasSuffix("flow.load('") { return nil }
        if before.hasSuffix("\"") || before.hasSuffix("'") { return [] }
        // Lua names come from the host's thread; the console waits for them.
        let found = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let words = await host.completions(of: word)
            found.withLock { $0 = words }
            done.signal()
        }
        done.wait()
        return found.withLock { $0 }
    }
}

/// Lends a value that is used on one thread at a time to another thread
/// (the line editor, to the thread that reads the next line).
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
