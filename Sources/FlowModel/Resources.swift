/// What a step reserves while it runs, and what a machine offers.
public struct Resources: Sendable, Hashable {
    public var cpus: Double
    /// Bytes.
    public var memory: UInt64

    public init(cpus: Double, memory: UInt64) {
        self.cpus = cpus
        self.memory = memory
    }

    public static let none = Resources(cpus: 0, memory: 0)

    /// What `step` reserves: its declared cpus and memory, none by default.
    public init(_ step: StepInfo) {
        self.init(cpus: step.cpus ?? 0, memory: step.memory ?? 0)
    }

    /// Whether `other` fits in what is left of `self` after `used`.
    public func admits(_ other: Resources, besides used: Resources) -> Bool {
        used.cpus + other.cpus <= cpus + 1e-9 && used.memory + other.memory <= memory
    }

    public static func + (a: Resources, b: Resources) -> Resources {
        Resources(cpus: a.cpus + b.cpus, memory: a.memory + b.memory)
    }

    public static func - (a: Resources, b: Resources) -> Resources {
        Resources(cpus: a.cpus - b.cpus, memory: a.memory >= b.memory ? a.memory - b.memory : 0)
    }
}

/// Sizes written the way people write them: `512M`, `2G`, `1.5 GiB`, `100k`.
public enum ByteCount {
    /// Parses a size with a unit (K, M, G, T, each a power of 1024, with an
    /// optional `B` or `iB`; a bare `B` or no unit means bytes only when the
    /// number is whole). Returns nil for anything else.
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        var unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        if unit.hasSuffix("ib") { unit = String(unit.dropLast(2)) } else if unit.hasSuffix("b") { unit = String(unit.dropLast()) }
        let power: Double
        switch unit {
        case "": power = 1
        case "k": power = 1024
        case "m": power = 1024 * 1024
        case "g": power = 1024 * 1024 * 1024
        case "t": power = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let bytes = (number * power).rounded()
        guard bytes < 1.8e19 else { return nil }
        return UInt64(bytes)
    }

    /// `2G`, `512M`, `1.5G`: the shortest exact-enough form.
    public static func format(_ bytes: UInt64) -> String {
        let units: [(String, Double)] = [("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10)]
        for (name, size) in units where Double(bytes) >= size {
            let value = Double(bytes) / size
            return value == value.rounded() ? "\(Int(value))\(name)" : String(format: "%.1f%@", value, name)
        }
        return "\(bytes)B"
    }
}

import Foundation
