import Foundation

/// A JSON document kept as data, so that what a server sent survives untouched and can be re-encoded canonically.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Parses JSON bytes. Throws `JSONValue.ParseError` with the byte offset on malformed input.
    public static func parse(_ data: some Collection<UInt8>) throws -> JSONValue {
        var p = JSONParser(bytes: Array(data))
        return try p.parseDocument()
    }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    /// The parts of `text` that `keep` names, built; the rest skipped (not checked).
    public static func parse(_ text: String, keeping keep: JSONKeep) throws -> JSONValue {
        var p = JSONParser(bytes: Array(text.utf8))
        p.skipWS()
        let v = try p.parseValue(keeping: keep)
        p.skipWS()
        if p.i != p.bytes.count { throw p.fail("trailing characters") }
        return v
    }

    /// One member of the object `data` holds, read without building the rest (skipped, not checked): nil when `data`
    /// is no object, lacks the member or breaks off.
    public static func member(_ key: String, of data: some Collection<UInt8>) -> JSONValue? {
        var p = JSONParser(bytes: Array(data))
        return try? p.member(key)
    }

    /// Canonical text: object keys sorted, no insignificant whitespace. Equal values give equal bytes.
    public func canonical() -> String {
        var out: [UInt8] = []
        write(to: &out, pretty: false, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Readable text with sorted keys and two-space indentation; still deterministic.
    public func pretty() -> String { String(decoding: prettyBytes(), as: UTF8.self) }

    /// `pretty()` as UTF-8, without the copy into a String.
    public func prettyBytes() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out, pretty: true, indent: 0)
        return out
    }

    /// The same bytes as `pretty()` (or `canonical()`) of `[key: [element(0), element(1), ...]]` merged into `fields`,
    /// with the array's elements built and written one at a time: for lists too large to hold as one tree.
    /// Without a key, the document is the array itself.
    public static func document(_ fields: [String: JSONValue] = [:], streaming key: String?, count: Int, pretty: Bool,
                                element: (Int) -> JSONValue) -> [UInt8] {
        document(fields, streaming: key, count: count, pretty: pretty) { i, out, indent in element(i).write(to: &out, pretty: pretty, indent: indent) }
    }

    /// `document` whose elements are objects with the same `keys`: `values` gives an element's values in the order of
    /// `keys`. The keys are put in order once, and no dictionary is made per element; the bytes are those of `document`.
    public static func document(_ fields: [String: JSONValue] = [:], streaming key: String?, count: Int, pretty: Bool,
                                keys: [String], values: (Int) -> [JSONValue]) -> [UInt8] {
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        let sortedKeys = order.map { keys[$0] }
        // Each key's escaped form, made once for every element.
        let encoded = sortedKeys.map { k -> [UInt8] in var e: [UInt8] = []; writeString(k, to: &e); return e }
        return document(fields, streaming: key, count: count, pretty: pretty) { i, out, indent in
            let v = values(i)
            writeMembers(sortedKeys, encoded: encoded, to: &out, pretty: pretty, indent: indent) { n, _, out in v[order[n]].write(to: &out, pretty: pretty, indent: indent + 1) }
        }
    }

    /// `document` with elements given as canonical JSON bytes (compact documents only).
    public static func canonicalDocument(_ fields: [String: JSONValue] = [:], streaming key: String?, count: Int,
                                         element: (Int) -> [UInt8]) -> [UInt8] {
        document(fields, streaming: key, count: count, pretty: false) { i, out, _ in out += element(i) }
    }

    /// The canonical bytes of an object whose `raw` members are canonical JSON text already (copied as they are).
    public static func canonicalObject(_ fields: [String: JSONValue], raw: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        writeObject(Array(fields.keys) + Array(raw.keys), to: &out, pretty: false, indent: 0) { k, out in
            if let r = raw[k] { out += r.utf8 } else { fields[k]!.write(to: &out, pretty: false, indent: 1) }
        }
        return out
    }

    private static func document(_ fields: [String: JSONValue], streaming key: String?, count: Int, pretty: Bool,
                                 write element: (Int, inout [UInt8], Int) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        guard let key else {
            writeArray(count: count, to: &out, pretty: pretty, indent: 0) { i, out in element(i, &out, 1) }
            return out
        }
        writeObject(Array(fields.keys) + [key], to: &out, pretty: pretty, indent: 0) { k, out in
            if k == key {
                writeArray(count: count, to: &out, pretty: pretty, indent: 1) { i, out in element(i, &out, 2) }
            } else {
                fields[k]!.write(to: &out, pretty: pretty, indent: 1)
            }
        }
        return out
    }

    /// An object's members in key order, each value written by `value`, at `indent`: the one layout of every object.
    private static func writeObject(_ keys: [String], to out: inout [UInt8], pretty: Bool, indent: Int,
                                    value: (String, inout [UInt8]) -> Void) {
        writeMembers(keys.sorted(), to: &out, pretty: pretty, indent: indent) { _, k, out in value(k, &out) }
    }

    /// The members of an object whose keys are in order already.
    /// `encoded`, when given, holds each key as `writeString` writes it.
    private static func writeMembers(_ keys: [String], encoded: [[UInt8]]? = nil, to out: inout [UInt8], pretty: Bool, indent: Int,
                                     value: (Int, String, inout [UInt8]) -> Void) {
        if keys.isEmpty { out += "{}".utf8; return }
        out.append(UInt8(ascii: "{"))
        for (i, k) in keys.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if pretty { newline(&out, indent + 1) }
            if let encoded { out += encoded[i] } else { writeString(k, to: &out) }
            out += (pretty ? ": " : ":").utf8
            value(i, k, &out)
        }
        if pretty { newline(&out, indent) }
        out.append(UInt8(ascii: "}"))
    }

    /// An array of `count` elements, each written by `element`, at `indent`: the one layout of every array.
    private static func writeArray(count: Int, to out: inout [UInt8], pretty: Bool, indent: Int, element: (Int, inout [UInt8]) -> Void) {
        if count == 0 { out += "[]".utf8; return }
        out.append(UInt8(ascii: "["))
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if pretty { newline(&out, indent + 1) }
            element(i, &out)
        }
        if pretty { newline(&out, indent) }
        out.append(UInt8(ascii: "]"))
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        for _ in 0..<(indent * 2) { out.append(0x20) }
    }

    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)).utf8 } else if d.isFinite { out += String(d).utf8 } else { out += "null".utf8 }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            JSONValue.writeArray(count: a.count, to: &out, pretty: pretty, indent: indent) { i, out in a[i].write(to: &out, pretty: pretty, indent: indent + 1) }
        case .object(let o):
            JSONValue.writeObject(Array(o.keys), to: &out, pretty: pretty, indent: indent) { k, out in o[k]!.write(to: &out, pretty: pretty, indent: indent + 1) }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Bytes `writeString` may replace: controls, `"`, `&`, `<`, `>`, `\\`, DEL, and 0xE2 (which starts U+2028/2029).
    @inline(__always) static func mayEscape(_ b: UInt8) -> Bool {
        let marks: UInt64 = 1 << 0x22 | 1 << 0x26 | 1 << 0x3C | 1 << 0x3E
        if b < 0x40 { return b < 0x20 || marks & (1 << UInt64(b)) != 0 }
        return b == 0x5C || b == 0x7F || b == 0xE2
    }

    /// Escapes a string for JSON, including U+2028/2029 and every control character, so output is safe in any context;
    /// runs of plain characters are copied at once.
    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in
            var start = 0
            var i = 0
            let n = buf.count
            while i < n {
                // Runs of bytes that need nothing are skipped at once.
                while i < n && !JSONValue.mayEscape(buf[i]) { i += 1 }
                guard i < n else { break }
                let b = buf[i]
                var escape: [UInt8]? = nil
                var width = 1
                switch b {
                case UInt8(ascii: "\""): escape = Array("\\\"".utf8)
                case UInt8(ascii: "\\"): escape = Array("\\\\".utf8)
                case 0x0A: escape = Array("\\n".utf8)
                case 0x0D: escape = Array("\\r".utf8)
                case 0x09: escape = Array("\\t".utf8)
                // `<`, `>` and `&` too: keeps `</script>` and comments inert when JSON is embedded in HTML.
                case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), 0x7F, 0x00..<0x20:
                    escape = Array("\\u00".utf8) + [JSONValue.hexDigits[Int(b >> 4)], JSONValue.hexDigits[Int(b & 15)]]
                case 0xE2 where i + 2 < buf.count && buf[i + 1] == 0x80 && (buf[i + 2] == 0xA8 || buf[i + 2] == 0xA9):
                    escape = Array(("\\u202" + (buf[i + 2] == 0xA8 ? "8" : "9")).utf8)
                    width = 3
                default: break
                }
                if let escape {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
                    out.append(contentsOf: escape)
                    i += width
                    start = i
                } else {
                    i += 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<buf.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let offset: Int
        public let message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

/// Which parts of a JSON document to build when only some are wanted: the rest is skipped unread.
public indirect enum JSONKeep: Sendable {
    case all
    /// The listed members of an object, each kept as its own `JSONKeep` says; a value that is no object is kept whole.
    case members([(String, JSONKeep)])
    /// Every member of an object, each kept as `JSONKeep` says.
    case everyMember(JSONKeep)
}

/// A small strict JSON parser over bytes: fast on large tool lists, with a depth limit against hostile nesting.
struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0
    static let maxDepth = 256

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws -> JSONValue {
        skipWS()
        let v = try parseValue()
        skipWS()
        if i != bytes.count { throw fail("trailing characters") }
        return v
    }

    func fail(_ m: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: i, message: m) }

    mutating func skipWS() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func parseValue() throws -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try parseNumber()
        }
    }

    mutating func literal(_ s: StaticString) throws {
        let n = s.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end") }
        let p = s.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { throw fail("invalid literal") }
        i += n
    }

    mutating func member(_ key: String) throws -> JSONValue? {
        skipWS()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while true {
            skipWS()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: "}") { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let k = try parseString()
            skipWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipWS()
            if k == key { return try parseValue() }
            try skipValue()
        }
    }

    /// Moves past one value without building it.
    mutating func skipValue() throws {
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""): try skipString(); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { i += 1; return }
                default: break
                }
                i += 1
            }
            throw fail("unexpected end")
        default:
            while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "}"), bytes[i] != UInt8(ascii: "]") { i += 1 }
        }
    }

    mutating func skipString() throws {
        i += 1
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
            if bytes[i] == UInt8(ascii: "\"") { i += 1; return }
            i += 1
        }
        throw fail("unterminated string")
    }

    mutating func parseValue(keeping keep: JSONKeep) throws -> JSONValue {
        if case .all = keep { return try parseValue() }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return try parseValue() }
        return try parseObject(keeping: keep)
    }

    /// An object, with only the members `keep` names built (all of them for `.all`).
    mutating func parseObject(keeping keep: JSONKeep) throws -> JSONValue {
        depth += 1
        if depth > JSONParser.maxDepth { throw fail("nesting too deep") }
        defer { depth -= 1 }
        i += 1
        var o: [String: JSONValue] = [:]
        skipWS()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
        while true {
            skipWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let k = try parseString()
            skipWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipWS()
            let sub: JSONKeep?
            switch keep {
            case .all: sub = .all
            case .everyMember(let each): sub = each
            case .members(let wanted): sub = wanted.first { $0.0 == k }?.1
            }
            if let sub { o[k] = try parseValue(keeping: sub) } else { try skipValue() }
            skipWS()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseObject() throws -> JSONValue { try parseObject(keeping: .all) }

    mutating func parseArray() throws -> JSONValue {
        depth += 1
        if depth > JSONParser.maxDepth { throw fail("nesting too deep") }
        defer { depth -= 1 }
        i += 1
        var a: [JSONValue] = []
        skipWS()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
            skipWS()
            a.append(try parseValue())
            skipWS()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseString() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<i], as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var buf = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; return String(decoding: buf, as: UTF8.self) }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { buf.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unexpected end") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): buf.append(0x22)
            case UInt8(ascii: "\\"): buf.append(0x5C)
            case UInt8(ascii: "/"): buf.append(0x2F)
            case UInt8(ascii: "b"): buf.append(0x08)
            case UInt8(ascii: "f"): buf.append(0x0C)
            case UInt8(ascii: "n"): buf.append(0x0A)
            case UInt8(ascii: "r"): buf.append(0x0D)
            case UInt8(ascii: "t"): buf.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else { code = 0xFFFD }
                    } else { code = 0xFFFD }
                } else if (0xDC00...0xDFFF).contains(code) { code = 0xFFFD }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                buf.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("unexpected end") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = i
        var isFloat = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x30 && b <= 0x39 { digits += 1; i += 1 }
            else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") { isFloat = true; i += 1 }
            else { break }
        }
        guard digits > 0 else { i = start; throw fail("unexpected character") }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if !isFloat, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }
}
