/// `${name}` substitution in commands, paths and notebook parameters.
///
/// Only the exact form `${identifier}` belongs to flowlua; everything else
/// reaches the shell untouched: `$HOME`, `$1`, `$$`, `${HOME:-/tmp}`. Write
/// `$${name}` to pass a literal `${name}` to the shell.
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
            if let (name, end) = placeholder(in: rest[afterDollar...]) {
                guard let value = lookup(name) else { throw SubstitutionError(name: name, text: text) }
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

    /// Parses `{identifier}` at the start of `text`: the name and the index after `}`.
    private static func placeholder(in text: Substring) -> (String, Substring.Index)? {
        guard text.first == "{" else { return nil }
        let body = text.dropFirst()
        guard let close = body.firstIndex(of: "}") else { return nil }
        let name = body[..<close]
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic && first.isASCII,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else { return nil }
        return (String(name), text.index(after: close))
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
