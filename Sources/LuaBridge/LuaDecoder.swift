/// Decodes Swift `Decodable` values from Lua values, strictly.
///
/// Strings are not numbers and numbers are not strings; an integer field
/// rejects 2.5; a struct rejects fields it does not declare. Every error is a
/// `LuaDecodingError` naming the path to the offending value, with Lua's
/// 1-based indices: `steps[2].commands[1]: expected string, got number`.
///
/// A `LuaValue` property decodes to the raw value (a function, say).
public struct LuaDecoder {
    /// Table keys starting with this prefix are metadata, never unknown fields.
    public var metadataPrefix = "__"

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: LuaValue,
                                     at path: [any CodingKey] = []) throws(LuaDecodingError) -> T {
        do {
            return try _LuaDecoder(value: value, codingPath: path, options: self).unbox(type)
        } catch let error as LuaDecodingError {
            throw error
        } catch let error as DecodingError {
            throw LuaDecodingError(error)
        } catch {
            throw LuaDecodingError(path: path, String(describing: error))
        }
    }
}

/// A value in a Lua table that does not fit the Swift type, with its path.
public struct LuaDecodingError: Error, CustomStringConvertible, Sendable {
    /// The keys from the root to the value; integer keys are Lua indices.
    public var path: [LuaPathKey]
    public var message: String

    public init(path: [any CodingKey], _ message: String) {
        self.path = path.map(LuaPathKey.init)
        self.message = message
    }

    init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            self.init(path: context.codingPath, context.debugDescription)
        case .keyNotFound(let key, let context):
            self.init(path: context.codingPath, "missing field '\(key.stringValue)'")
        @unknown default:
            self.init(path: [], String(describing: error))
        }
    }

    /// The path as Lua would write it: `steps[2].commands[1]`.
    public var pathDescription: String { LuaPathKey.describe(path) }

    public var description: String {
        path.isEmpty ? message : "\(pathDescription): \(message)"
    }
}

/// A step in a path through nested tables.
public struct LuaPathKey: CodingKey, Sendable, Hashable {
    public var stringValue: String
    public var intValue: Int?

    public init(stringValue: String) { self.stringValue = stringValue }
    public init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
    init(_ key: any CodingKey) {
        stringValue = key.stringValue
        intValue = key.intValue
    }

    static func describe(_ path: [LuaPathKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else if key.stringValue.isLuaIdentifier {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            } else {
                text += "[\"\(key.stringValue)\"]"
            }
        }
        return text
    }
}

extension String {
    var isLuaIdentifier: Bool {
        func isLetter(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        guard let first = unicodeScalars.first, isLetter(first) else { return false }
        return unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }
}

// MARK: - The decoder

private struct _LuaDecoder: Decoder {
    let value: LuaValue
    let codingPath: [any CodingKey]
    let options: LuaDecoder
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func unbox<T: Decodable>(_ type: T.Type) throws -> T {
        if let raw = value as? T { return raw }  // LuaValue itself
        return try T(from: self)
    }

    func mismatch(_ expected: String) -> LuaDecodingError {
        LuaDecodingError(path: codingPath, "expected \(expected), got \(value.typeName)")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .table(let table) = value else { throw mismatch("table") }
        if !table.array.isEmpty {
            throw LuaDecodingError(path: codingPath + [LuaPathKey(intValue: 1)],
                                   "unexpected list item in a table of named fields")
        }
        var fields: [String: LuaValue] = [:]
        for (key, element) in table.hash {
            guard case .string(let name) = key else {
                throw LuaDecodingError(path: codingPath, "unexpected key \(key) in a table of named fields")
            }
            if name.hasPrefix(options.metadataPrefix) { continue }
            guard Key(stringValue: name) != nil else {
                throw LuaDecodingError(path: codingPath + [LuaPathKey(stringValue: name)], "unknown field")
            }
            fields[name] = element
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .table(let table) = value else { throw mismatch("list") }
        if let key = table.hash.keys.first {
            throw LuaDecodingError(path: codingPath, "expected a list, got a table with key '\(key)'")
        }
        return UnkeyedContainer(decoder: self, elements: table.array)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(decoder: self) }

    func child(_ value: LuaValue, _ key: any CodingKey) -> _LuaDecoder {
        _LuaDecoder(value: value, codingPath: codingPath + [key], options: options)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: _LuaDecoder
    let fields: [String: LuaValue]

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { fields.keys.sorted().compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { !(fields[key.stringValue] ?? .nil).isNil }

    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let value = fields[key.stringValue], !value.isNil else {
            throw LuaDecodingError(path: codingPath, "missing field '\(key.stringValue)'")
        }
        return try decoder.child(value, key).unbox(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = fields[key.stringValue], !value.isNil else { return nil }
        return try decoder.child(value, key).unbox(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.child(fields[key.stringValue] ?? .nil, key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(fields[key.stringValue] ?? .nil, key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(fields[key.stringValue] ?? .nil, key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: _LuaDecoder
    let elements: [LuaValue]
    var currentIndex = 0

    init(decoder: _LuaDecoder, elements: [LuaValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> _LuaDecoder {
        guard !isAtEnd else { throw LuaDecodingError(path: codingPath, "list is too short") }
        defer { currentIndex += 1 }
        return decoder.child(elements[currentIndex], LuaPathKey(intValue: currentIndex + 1))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNil else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().unbox(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleValue: SingleValueDecodingContainer {
    let decoder: _LuaDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var value: LuaValue { decoder.value }

    func decodeNil() -> Bool { value.isNil }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .boolean(let b) = value else { throw decoder.mismatch("boolean") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let s) = value else { throw decoder.mismatch("string") }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch value {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: throw decoder.mismatch("number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let exact: I?
        switch value {
        case .integer(let i): exact = I(exactly: i)
        case .number(let d): exact = I(exactly: d)
        default: throw decoder.mismatch("integer")
        }
        guard let exact else {
            throw LuaDecodingError(path: codingPath, "expected integer, got \(value.displayNumber)")
        }
        return exact
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.unbox(type) }
}

extension LuaValue {
    fileprivate var displayNumber: String {
        switch self {
        case .integer(let i): String(i)
        case .number(let d): String(d)
        default: typeName
        }
    }
}
