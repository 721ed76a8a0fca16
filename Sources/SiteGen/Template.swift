import AtlasModel
import Foundation

/// A value a template shows: text (escaped by `{{name}}`; only `{{{name}}}` writes it verbatim), a flag, a list of
/// contexts, or one nested context. Typed values keep rendering free of dynamic casts.
public enum TValue: Sendable {
    case text(String)
    case flag(Bool)
    case list([TContext])
    case nested(TContext)

    public static func int(_ n: Int) -> TValue { .text(String(n)) }

    /// Sections: empty text, false and empty lists are false.
    var truthy: Bool {
        switch self {
        case .text(let s): !s.isEmpty
        case .flag(let b): b
        case .list(let l): !l.isEmpty
        case .nested: true
        }
    }
}

/// The names a template can show and their values. A page context has a few dozen names, all short: finding one by
/// comparing names in turn costs less than a dictionary, and rendering looks names up thousands of times per page. Each
/// name carries a hash, so that the search compares one word per name and the name itself only where the hash agrees.
public struct TContext: Sendable, ExpressibleByDictionaryLiteral {
    private var names: [String] = []
    private var codes: [UInt64] = []
    private var values: [TValue] = []

    public init(dictionaryLiteral elements: (String, TValue)...) { self.init(elements) }

    /// The pairs in order; a name given twice shows its first value (as a literal, it would not compile as a dictionary).
    public init(_ pairs: some Sequence<(String, TValue)>) {
        names.reserveCapacity(pairs.underestimatedCount)
        codes.reserveCapacity(pairs.underestimatedCount)
        values.reserveCapacity(pairs.underestimatedCount)
        for (k, v) in pairs { names.append(k); codes.append(TContext.code(k)); values.append(v) }
    }

    /// The hash a name is found by.
    @inline(__always) static func code(_ name: String) -> UInt64 { Hashing.fnv1a64(name) }

    /// The value of `name`, whose hash is `code`.
    @inline(__always) func value(_ name: String, code: UInt64) -> TValue? {
        for i in codes.indices where codes[i] == code && names[i] == name { return values[i] }
        return nil
    }

    public subscript(_ name: String) -> TValue? {
        get { value(name, code: TContext.code(name)) }
        set {
            if let i = names.firstIndex(of: name) {
                if let newValue { values[i] = newValue } else { names.remove(at: i); codes.remove(at: i); values.remove(at: i) }
            } else if let newValue {
                names.append(name)
                codes.append(TContext.code(name))
                values.append(newValue)
            }
        }
    }
}

extension TValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .flag(value) }
    public init(arrayLiteral elements: TContext...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, TValue)...) { self = .nested(TContext(elements)) }
}

/// The Mustache subset our templates use: `{{name}}` (HTML-escaped), `{{{name}}}` and `{{& name}}` (verbatim), sections
/// `{{#name}}...{{/name}}` over flags, text, lists and nested contexts, inverted sections `{{^name}}`, partials
/// `{{> name}}` and comments `{{! ...}}`; a tag alone on its line takes the line with it. Parsed once, rendered
/// straight into bytes. (swift-mustache's dynamic contexts cost about 1 ms per tool page, 89% of the page's time.)
public struct TemplateSet: Sendable {
    indirect enum Node: Sendable {
        case text([UInt8])
        case value(String, escaped: Bool)
        case section(String, inverted: Bool, [Node])
        case partial(String)
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var template: String
        public var line: Int
        public var message: String
        public var description: String { "\(template), line \(line): \(message)" }
    }

    /// One step of a compiled template. Templates are parsed into nodes once, then laid out flat: every text in one
    /// byte buffer, every step a plain value, a section's children the steps that follow it. Rendering then walks an
    /// array with no reference counting and no pointer to chase per step (the nodes, each boxed, cost a cache miss
    /// per text).
    struct Op: Sendable {
        enum Kind: UInt8, Sendable { case text, value, rawValue, section, invertedSection, partial }
        var kind: Kind
        /// text: the bytes `a..<b` of `bytes`; value and section: the key `a` of `keys` (a section's children end
        /// at op `b`); partial: the template named `keys[a]`.
        var a: Int32
        var b: Int32
        var code: UInt64
    }

    private var ops: [Op] = []
    private var bytes: [UInt8] = []
    private var keys: [String] = []
    /// Each template's steps.
    private var templates: [String: Range<Int>] = [:]

    public init() {}

    public var names: [String] { templates.keys.sorted() }

    public mutating func register(_ source: String, named name: String) throws(ParseError) {
        let nodes = try TemplateSet.parse(Array(source.utf8), name: name)
        let start = ops.count
        lay(nodes)
        templates[name] = start..<ops.count
    }

    private mutating func key(_ k: String) -> Int32 {
        keys.append(k)
        return Int32(keys.count - 1)
    }

    private mutating func lay(_ nodes: [Node]) {
        for node in nodes {
            switch node {
            case .text(let t):
                let a = Int32(bytes.count)
                bytes += t
                ops.append(Op(kind: .text, a: a, b: Int32(bytes.count), code: 0))
            case .value(let k, let escaped):
                ops.append(Op(kind: escaped ? .value : .rawValue, a: key(k), b: 0, code: TContext.code(k)))
            case .section(let k, let inverted, let children):
                let at = ops.count
                ops.append(Op(kind: inverted ? .invertedSection : .section, a: key(k), b: 0, code: TContext.code(k)))
                lay(children)
                ops[at].b = Int32(ops.count)
            case .partial(let k):
                ops.append(Op(kind: .partial, a: key(k), b: 0, code: 0))
            }
        }
    }

    public func render(_ name: String, _ context: TContext) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 << 10)
        var stack = [context]
        guard let range = templates[name] else { return out }
        ops.withUnsafeBufferPointer { ops in
            bytes.withUnsafeBufferPointer { bytes in
                emit(range, Program(ops: ops, bytes: bytes), &stack, &out, depth: 0)
            }
        }
        return out
    }

    /// The compiled templates as raw buffers, valid inside `render` only.
    private struct Program {
        let ops: UnsafeBufferPointer<Op>
        let bytes: UnsafeBufferPointer<UInt8>
    }

    private func emit(_ range: Range<Int>, _ p: Program, _ stack: inout [TContext], _ out: inout [UInt8], depth: Int) {
        var i = range.lowerBound
        while i < range.upperBound {
            let op = p.ops[i]
            i += 1
            switch op.kind {
            case .text:
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p.bytes[Int(op.a)..<Int(op.b)]))
            case .value, .rawValue:
                guard let v = lookup(keys[Int(op.a)], op.code, stack) else { continue }
                switch v {
                case .text(let s): op.kind == .value ? TemplateSet.escape(s, into: &out) : out.append(contentsOf: s.utf8)
                case .flag(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
                case .list, .nested: continue
                }
            case .invertedSection:
                let children = i..<Int(op.b)
                i = Int(op.b)
                if !(lookup(keys[Int(op.a)], op.code, stack)?.truthy ?? false) { emit(children, p, &stack, &out, depth: depth) }
            case .section:
                let children = i..<Int(op.b)
                i = Int(op.b)
                guard let v = lookup(keys[Int(op.a)], op.code, stack), v.truthy else { continue }
                switch v {
                case .list(let items):
                    for item in items {
                        stack.append(item)
                        emit(children, p, &stack, &out, depth: depth)
                        stack.removeLast()
                    }
                case .nested(let c):
                    stack.append(c)
                    emit(children, p, &stack, &out, depth: depth)
                    stack.removeLast()
                case .text, .flag:
                    emit(children, p, &stack, &out, depth: depth)
                }
            case .partial:
                // A partial that includes itself would never end: 32 levels is far beyond any real layout.
                if depth < 32, let nodes = templates[keys[Int(op.a)]] { emit(nodes, p, &stack, &out, depth: depth + 1) }
            }
        }
    }

    private func lookup(_ key: String, _ code: UInt64, _ stack: [TContext]) -> TValue? {
        var k = stack.count - 1
        while k >= 0 {
            if let v = stack[k].value(key, code: code) { return v }
            k -= 1
        }
        return nil
    }

    /// Bytes `escape` replaces (`"`, `&`, `'`, `<`, `>`: all below 0x40), as bits of one word.
    @inline(__always) static func special(_ b: UInt8) -> Bool {
        let mask: UInt64 = 1 << 0x22 | 1 << 0x26 | 1 << 0x27 | 1 << 0x3C | 1 << 0x3E
        return b < 0x40 && mask & (1 << UInt64(b)) != 0
    }

    /// Whether any of eight bytes is one `escape` replaces: a zero byte after XOR with each (the classic test, exact
    /// for "any").
    @inline(__always) static func anySpecial(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zero(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        return zero(w ^ (ones &* 0x22)) | zero(w ^ (ones &* 0x26)) | zero(w ^ (ones &* 0x27)) | zero(w ^ (ones &* 0x3C)) | zero(w ^ (ones &* 0x3E)) != 0
    }

    /// `& < > " '` become entities; everything else is copied as is.
    static func escape(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { buf in
            var start = 0
            var i = 0
            let n = buf.count
            guard let base = buf.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            while i < n {
                // Runs of bytes that need no entity are skipped at once, eight at a time while none is near.
                while i + 8 <= n && !anySpecial(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8 }
                while i < n && !special(buf[i]) { i += 1 }
                guard i < n else { break }
                let entity: StaticString
                switch buf[i] {
                case UInt8(ascii: "&"): entity = "&amp;"
                case UInt8(ascii: "<"): entity = "&lt;"
                case UInt8(ascii: ">"): entity = "&gt;"
                case UInt8(ascii: "\""): entity = "&quot;"
                case UInt8(ascii: "'"): entity = "&#39;"
                default: entity = ""
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
                entity.withUTF8Buffer { out.append(contentsOf: $0) }
                i += 1
                start = i
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<buf.count]))
        }
    }

    static func parse(_ src: [UInt8], name: String) throws(ParseError) -> [Node] {
        // Open sections: (key, inverted, nodes gathered so far in the enclosing level, line it opened on)
        var levels: [(key: String, inverted: Bool, outer: [Node], line: Int)] = []
        var nodes: [Node] = []
        var i = 0
        var text: [UInt8] = []
        func lineOf(_ at: Int) -> Int { 1 + src[..<at].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
        func flush() { if !text.isEmpty { nodes.append(.text(text)); text = [] } }
        while i < src.count {
            guard src[i] == UInt8(ascii: "{"), i + 1 < src.count, src[i + 1] == UInt8(ascii: "{") else { text.append(src[i]); i += 1; continue }
            let tagStart = i
            let triple = i + 2 < src.count && src[i + 2] == UInt8(ascii: "{")
            let open = i + (triple ? 3 : 2)
            let closer: [UInt8] = triple ? Array("}}}".utf8) : Array("}}".utf8)
            var j = open
            while j + closer.count <= src.count && !src[j..<(j + closer.count)].elementsEqual(closer) { j += 1 }
            guard j + closer.count <= src.count else { throw ParseError(template: name, line: lineOf(tagStart), message: "a tag is not closed") }
            let inner = String(decoding: src[open..<j], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            var end = j + closer.count
            let sigil = triple ? "{" : String(inner.prefix(1))
            let key = triple ? inner : (["#", "^", "/", ">", "!", "&"].contains(sigil) ? String(inner.dropFirst()).trimmingCharacters(in: .whitespaces) : inner)
            if key.isEmpty && sigil != "!" { throw ParseError(template: name, line: lineOf(tagStart), message: "an empty tag") }
            // A section, partial or comment tag alone on its line takes the whole line with it.
            if ["#", "^", "/", ">", "!"].contains(sigil) {
                var lineStart = tagStart
                while lineStart > 0 && (src[lineStart - 1] == 0x20 || src[lineStart - 1] == 0x09) { lineStart -= 1 }
                var lineEnd = end
                while lineEnd < src.count && (src[lineEnd] == 0x20 || src[lineEnd] == 0x09 || src[lineEnd] == 0x0D) { lineEnd += 1 }
                if (lineStart == 0 || src[lineStart - 1] == 0x0A) && (lineEnd == src.count || src[lineEnd] == 0x0A) {
                    text.removeLast(tagStart - lineStart)
                    end = min(src.count, lineEnd + 1)
                }
            }
            switch sigil {
            case "!": break
            case "#", "^":
                flush()
                levels.append((key, sigil == "^", nodes, lineOf(tagStart)))
                nodes = []
            case "/":
                flush()
                guard let top = levels.popLast() else { throw ParseError(template: name, line: lineOf(tagStart), message: "{{/\(key)}} closes nothing") }
                guard top.key == key else {
                    throw ParseError(template: name, line: lineOf(tagStart), message: "{{/\(key)}} closes {{#\(top.key)}} opened on line \(top.line)")
                }
                let section = Node.section(key, inverted: top.inverted, nodes)
                nodes = top.outer
                nodes.append(section)
            case ">": flush(); nodes.append(.partial(key))
            case "{", "&": flush(); nodes.append(.value(key, escaped: false))
            default: flush(); nodes.append(.value(key, escaped: true))
            }
            i = end
        }
        flush()
        if let open = levels.last { throw ParseError(template: name, line: open.line, message: "{{#\(open.key)}} is never closed") }
        return nodes
    }
}
