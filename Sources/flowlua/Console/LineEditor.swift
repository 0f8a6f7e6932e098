import CEditline
import CLineEditor
import Foundation

/// Lines read from a terminal through libedit: editing, history kept in a
/// file, and Tab completion from `completer`.
///
/// One per process: libedit's readline interface is a global state, and its
/// completion calls back into whatever `completer` was set last.
final class LineEditor {
    /// What a read came to.
    enum Input: Equatable {
        case line(String)
        /// Ctrl-C: the line typed so far is dropped.
        case interrupted
        /// Ctrl-D on an empty line, or the end of the input.
        case end
    }

    /// The words `line[start..<end]` (character offsets) completes to, each
    /// replacing it whole; nil to complete a file name.
    typealias Completer = (_ line: String, _ start: Int, _ end: Int) -> [String]?

    private let historyFile: String
    private let interrupts: ConsoleInterrupts
    nonisolated(unsafe) private static var completer: Completer?

    /// The history file: `FLOWLUA_HISTORY`, else `~/.flowlua_history`.
    static var defaultHistoryFile: String {
        ProcessInfo.processInfo.environment["FLOWLUA_HISTORY"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appending(path: ".flowlua_history").path
    }

    init(historyFile: String = LineEditor.defaultHistoryFile, interrupts: ConsoleInterrupts,
         completer: @escaping Completer) {
        self.historyFile = historyFile
        self.interrupts = interrupts
        Self.completer = completer
        // libedit needs a UTF-8 locale to take what is typed beyond ASCII.
        if let name = setlocale(LC_CTYPE, ""), ["C", "POSIX"].contains(String(cString: name)) {
            _ = setlocale(LC_CTYPE, "C.UTF-8")
        }
        flowlua_edit_setup(strdup("flowlua")) { line, start, end in  // kept by libedit for good
            guard let line, let complete = LineEditor.completer else { return nil }
            guard let words = complete(String(cString: line), Int(start), Int(end)) else { return nil }
            let list = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: words.count + 1)
            for (i, word) in words.enumerated() { list[i] = strdup(word) }
            list[words.count] = nil
            return list
        }
        stifle_history(1000)
        _ = read_history(historyFile)
    }

    /// Reads a line after showing `prompt`.
    func read(prompt: String) -> Input {
        _ = interrupts.takeInterrupt()
        guard let raw = readline(prompt) else {
            return interrupts.takeInterrupt() ? .interrupted : .end
        }
        defer { free(raw) }
        return .line(String(cString: raw))
    }

    /// Adds a whole chunk (several lines, as lua.c keeps them) to the
    /// history, and saves the history so that a crash loses none of it.
    func remember(_ entry: String) {
        guard !entry.allSatisfy(\.isWhitespace) else { return }
        _ = add_history(entry)
        _ = write_history(historyFile)
    }
}
