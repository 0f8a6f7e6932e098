import Foundation

/// How a child process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It called exit with this code.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)
    /// It ended, but its status could not be read (`waitpid` failed with
    /// this errno: something else reaped it).
    case unknown(errno: Int32)

    /// Decodes a `waitpid` status.
    init(waitStatus status: Int32) {
        let signal = status & 0x7F
        self = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    /// The exit code, or 128 plus the signal as shells report it.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case .unknown: 255
        }
    }

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "was killed by signal \(signal)"
        case .unknown(let code): "ended, but its exit status is unknown (waitpid: \(String(cString: strerror(code))))"
        }
    }
}
