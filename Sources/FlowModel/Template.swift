/// `${name}` substitution in commands, paths and notebook parameters.
///
/// Only the exact forms `${name}` and `${name:q}` belong to flowlua, where
/// a name is an identifier, or a path into a record or a list below one
/// (`${sample.id}`, `${reads.1}`, counted from 1 as Lua does); everything
/// else reaches the shell untouched: `$HOME`, `$1`, `$$`, `${HOME:-/tmp}`. Write `$${name}` to pass a literal `${name}` to the shell.
///
/// `${name}` puts the value in as it is (as Snakemake's `{name}` does): a
/// value may be a piece of a command. `${name:q}` puts it in as one shell
/// word, single-quoted, whatever it holds: the form for any value a user
/// (or a file name) decides.
public enum Template {
    /// The longest text a substitution may produce: 16 MiB, far past what a
    /// command line can take (a single argument is at most 128 KiB on
    /// Linux), so that a template repeating a long value cannot exhaust
    /// memory.
    public static let maximumLength = 16 << 20

    /// Replaces every `${name}` with `lookup(name)`; an unknown name is an
    /// error, and so is a result longer than `maximumLength`.
    public static func substitute(_ text: String, _ lookup: (String) -> String?) throws(SubstitutionError) -> String {
        guard hasPlaceholder(text) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let afterDollar = rest.index(after: dollar)
            if rest[afterDollar...].hasPrefix("${") {  // $${ -> literal ${
                result += "${"
                rest = rest[rest.index(afterDollar, offsetBy: 2)...]
                continue
            }
            if let (name, quoted, end) = placeholder(in: rest[afterDollar...]) {
                guard let raw = lookup(name) else { throw SubstitutionError(name: name, text: text) }
                let value = quoted ? shellQuoted(raw) : raw
                guard result.utf8.count + value.utf8.count <= maximumLength else {
                    throw SubstitutionError(name: name, text: text, tooLong: true)
                }
                result += value
                rest = rest[end...]
            } else {
                result += "$"
                rest = rest[afterDollar...]
            }
        }
        result += rest
        return result
    }

    /// Whether `text` may hold a `${name}`: a byte scan, since Foundation's
    /// `contains` goes through CFString and a plan checks every path.
    public static func hasPlaceholder(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if previous == UInt8(ascii: "$") && byte == UInt8(ascii: "{") { return true }
            previous = byte
        }
        return false
    }

    /// The names of the placeholders in `text`, in order.
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        _ = try? substitute(text) { names.append($0); return "" }
        return names
    }

    /// `text` as one word of a POSIX shell: single-quoted, each `'` written `'\''`.
    public static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Parses `{identifier}` or `{identifier:q}` at the start of `text`: the
    /// name, whether it is quoted, and the index after `}`. It reads no
    /// further than the name's end, so a text of many `${` stays linear.
    private static func placeholder(in text: Substring) -> (String, Bool, Substring.Index)? {
        let bytes = text.utf8
        guard bytes.first == UInt8(ascii: "{") else { return nil }
        let start = bytes.index(after: bytes.startIndex)
        var end = start
        var afterDot = false
        while end != bytes.endIndex {
            let byte = bytes[end]
            if byte == UInt8(ascii: "."), end != start, !afterDot {
                afterDot = true
            } else if isNameByte(byte, first: end == start) {
                afterDot = false
            } else {
                break
            }
            end = bytes.index(after: end)
        }
        guard end != start, !afterDot else { return nil }
        let name = String(text[start ..< end])
        let quoted = bytes[end...].starts(with: ":q".utf8)
        if quoted { end = bytes.index(end, offsetBy: 2) }
        guard end != bytes.endIndex, bytes[end] == UInt8(ascii: "}") else { return nil }
        return (name, quoted, bytes.index(after: end))
    }

    /// ASCII letters and `_`, and after the first, digits.
    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "_"): true
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): !first
        default: false
        }
    }

    /// Whether `name` can be a variable's name: an ASCII identifier.
    public static func isIdentifier(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            guard isNameByte(byte, first: first) else { return false }
            first = false
        }
        return !first
    }

    /// The variable a placeholder's name starts with: `sample` for
    /// `${sample.reads.1}`.
    public static func root(of name: String) -> Substring {
        name.utf8.firstIndex(of: UInt8(ascii: ".")).map { name[..<$0] } ?? name[...]
    }
}

/// A `${name}` with no value for it.
public struct SubstitutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var text: String
    /// The name is known, but the result would pass `Template.maximumLength`.
    public var tooLong = false

    public init(name: String, text: String, tooLong: Bool = false) {
        self.name = name
        self.text = text
        self.tooLong = tooLong
    }

    public var description: String {
        if tooLong {
            let shown = text.utf8.count > 60 ? String(text.prefix(60)) + "…" : text
            return "substituting ${\(name)} in '\(shown)' makes a text longer than \(Template.maximumLength >> 20) MiB"
        }
        return "unknown variable ${\(name)} in '\(text)' (not a parameter, run variable or worker var; "
            + "for the shell's own variable write $\(name) or $${\(name)})"
    }
}
