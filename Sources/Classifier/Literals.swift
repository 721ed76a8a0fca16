/// Every literal the rules look for (`*_contains` strings, and the strings a regular expression cannot match without),
/// found in one pass over a text by an Aho-Corasick automaton. ASCII letters are folded to lower case on the way in,
/// so a hit means "present, ignoring ASCII case"; callers that need exact bytes confirm the (rare) hits.
struct LiteralMatcher: Sendable {
    private(set) var literals: [[UInt8]] = []
    private var index: [[UInt8]: Int32] = [:]
    /// Byte to column: bytes that occur in no literal share column 0.
    private var column = [UInt8](repeating: 0, count: 256)
    private var columns = 1
    /// `next[state * columns + column]`: the complete transition table (failure links folded in); a negative entry
    /// is a state at which literals end (its number with the sign bit set). 16-bit entries when the states fit, so
    /// that the rows a scan keeps visiting stay in the first-level cache; 32-bit otherwise.
    private var next16: [Int16] = []
    private var next32: [Int32] = []
    /// The literals that end at a state, as a range of `outputs`.
    private var outputStart: [Int32] = []
    private var outputs: [Int32] = []
    /// One-byte literals (`<`, `@`, a letter a pattern's class requires) are not in the automaton: almost every text
    /// holds some, and a state with output at nearly every byte would make the scan report hits all the time. The scan
    /// notes which bytes it saw instead.
    private var singles: [(byte: UInt8, id: Int32)] = []
    /// The longest literal in the automaton, in bytes.
    private var longest = 0

    var isEmpty: Bool { literals.isEmpty }
    /// Whether the transitions need 32-bit entries (more states than 16 bits hold).
    var isWide: Bool { !next32.isEmpty }

    /// The number of `literal` (added if new); the automaton must be rebuilt with `build()` before use.
    mutating func add(_ literal: [UInt8]) -> Int32 {
        let key = literal.map(lowerASCII)
        if let i = index[key] { return i }
        let i = Int32(literals.count)
        literals.append(key)
        index[key] = i
        return i
    }

    mutating func build() {
        singles = literals.enumerated().filter { $0.element.count == 1 }.map { ($0.element[0], Int32($0.offset)) }
        longest = literals.map(\.count).max() ?? 0
        var seen = [Bool](repeating: false, count: 256)
        for l in literals where l.count > 1 { for b in l { seen[Int(b)] = true } }
        // Columns in the order of how often bytes occur in English text, so that the entries a scan reads most are
        // near the start of each row (few cache lines per state); the other bytes after them.
        columns = 1
        for b in LiteralMatcher.frequent.utf8 where seen[Int(b)] { column[Int(b)] = UInt8(columns); columns += 1; seen[Int(b)] = false }
        for b in 0..<256 where seen[b] { column[b] = UInt8(columns); columns += 1 }
        for b in 0x41...0x5A { column[b] = column[b + 32] }
        // The trie, in one table of `columns` entries per state (-1: no edge yet).
        let width = columns
        var goto = [Int32](repeating: -1, count: width)
        // Room for the most states the literals can make (a state per byte), reserved, not touched: the table is not
        // copied as it grows.
        goto.reserveCapacity((1 + literals.reduce(0) { $0 + $1.count }) * width)
        var ends: [[Int32]] = [[]]
        for (i, l) in literals.enumerated() where l.count > 1 {
            var s = 0
            for b in l {
                let c = Int(column[Int(b)])
                if goto[s * width + c] < 0 {
                    goto[s * width + c] = Int32(ends.count)
                    goto += repeatElement(-1, count: width)
                    ends.append([])
                }
                s = Int(goto[s * width + c])
            }
            ends[s].append(Int32(i))
        }
        // Breadth first: failure links, outputs inherited along them, missing edges filled in.
        let states = ends.count
        var fail = [Int32](repeating: 0, count: states)
        var queue: [Int] = []
        for c in 0..<width {
            if goto[c] < 0 { goto[c] = 0 } else { queue.append(Int(goto[c])) }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]; head += 1
            let f = Int(fail[s])
            if !ends[f].isEmpty { ends[s] += ends[f] }
            for c in 0..<width {
                let t = goto[s * width + c]
                if t < 0 { goto[s * width + c] = goto[f * width + c]; continue }
                fail[Int(t)] = goto[f * width + c]
                queue.append(Int(t))
            }
        }
        // Each entry with the sign bit set where literals end, made in one pass in the width the states need.
        let ending = ends.map { !$0.isEmpty }
        if states <= Int(Int16.max) {
            next16 = goto.map { ending[Int($0)] ? Int16(truncatingIfNeeded: $0) | Int16.min : Int16(truncatingIfNeeded: $0) }
            next32 = []
        } else {
            next32 = goto.map { ending[Int($0)] ? $0 | Int32.min : $0 }
            next16 = []
        }
        outputStart = [0]
        outputs = []
        for e in ends { outputs += e; outputStart.append(Int32(outputs.count)) }
    }

    /// Lower-case letters and white space by their frequency in English text, then common punctuation and digits.
    static let frequent = " etaoinsrhldcumfpgwybvkxjqz_-./:'\"0123456789"

    /// The automaton over one text, its tables and the set of hits as raw buffers (valid inside `run` only): the step
    /// runs for every byte and a hit for every few, so neither checks bounds nor copies the set.
    struct Cursor<Entry: FixedWidthInteger & SignedInteger> {
        let next: UnsafeBufferPointer<Entry>
        let column: UnsafeBufferPointer<UInt8>
        let outputStart: UnsafeBufferPointer<Int32>
        let outputs: UnsafeBufferPointer<Int32>
        let found: UnsafeMutableBufferPointer<UInt64>
        /// Every byte fed, marked (for the one-byte literals).
        let seen: UnsafeMutableBufferPointer<UInt8>
        let columns: Int
        var state = 0
        /// A second state, for the second half of a text read alongside the first (`feed(_:_:)`).
        var second = 0

        @inline(__always) mutating func feed(_ b: UInt8) {
            seen[Int(b)] = 1
            let t = next[state &* columns &+ Int(column[Int(b)])]
            state = Int(t & Entry.max)
            if t < 0 { report(state) }
        }

        /// One step of each of two readings at once: each step waits on the table look-up the step before it made, so
        /// two independent readings take little longer than one.
        @inline(__always) mutating func feed(_ a: UInt8, _ b: UInt8) {
            seen[Int(a)] = 1
            seen[Int(b)] = 1
            let t = next[state &* columns &+ Int(column[Int(a)])]
            let u = next[second &* columns &+ Int(column[Int(b)])]
            state = Int(t & Entry.max)
            second = Int(u & Entry.max)
            if t < 0 { report(state) }
            if u < 0 { report(second) }
        }

        @inline(__always) func report(_ s: Int) {
            for k in Int(outputStart[s])..<Int(outputStart[s &+ 1]) {
                let id = Int(outputs[k])
                found[id >> 6] |= 1 << UInt64(id & 63)
            }
        }

        /// Every byte of `bytes`, from the start state. A long text is read as two halves side by side, the second starting
        /// early by the longest literal less one byte, so that a literal that ends in it starts in it too (one that ends in
        /// the first half is found there; one found twice is one hit).
        @inline(__always) mutating func feed(all bytes: UnsafeBufferPointer<UInt8>, longest: Int) {
            let n = bytes.count, overlap = max(0, longest - 1)
            guard n >= 4 * overlap + 64 else {
                for b in bytes { feed(b) }
                return
            }
            let mid = n / 2, start = mid - overlap
            second = 0
            for i in 0..<mid { feed(bytes[i], bytes[start + i]) }
            state = second
            for i in (start + mid)..<n { feed(bytes[i]) }
        }
    }

    /// The literals `body` feeds the automaton, as a set.
    private func run(_ body: (inout Cursor<Int16>) -> Void, _ wide: (inout Cursor<Int32>) -> Void) -> Bitset {
        var found = Bitset(size: literals.count)
        guard !literals.isEmpty else { return found }
        if next32.isEmpty { run(next16, into: &found, body) } else { run(next32, into: &found, wide) }
        return found
    }

    @inline(__always) private func run<E>(_ next: [E], into found: inout Bitset, _ body: (inout Cursor<E>) -> Void) {
        next.withUnsafeBufferPointer { next in
            column.withUnsafeBufferPointer { column in
                outputStart.withUnsafeBufferPointer { outputStart in
                    outputs.withUnsafeBufferPointer { outputs in
                        found.words.withUnsafeMutableBufferPointer { words in
                            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { seen in
                                seen.initialize(repeating: 0)
                                var c = Cursor(next: next, column: column, outputStart: outputStart, outputs: outputs, found: words,
                                               seen: seen, columns: columns)
                                body(&c)
                                // Literals are lower case; the text's capitals count as their small letters.
                                for (b, id) in singles where seen[Int(b)] != 0 || (b >= 0x61 && b <= 0x7A && seen[Int(b) - 32] != 0) {
                                    words[Int(id) >> 6] |= 1 << UInt64(Int(id) & 63)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The literals that occur in `parts` joined by `separator` and folded (`Normalizer.fold`), without making the string.
    func scanFolded(_ parts: [String], separator: String) -> Bitset {
        Normalizer.withFolded(parts, separator: separator) { folded in
            run({ $0.feed(all: folded, longest: longest) }, { $0.feed(all: folded, longest: longest) })
        }
    }

    /// The literals that occur in `text`.
    func scan(_ text: String) -> Bitset {
        run({ LiteralMatcher.feed(text, longest: longest, &$0) }, { LiteralMatcher.feed(text, longest: longest, &$0) })
    }

    @inline(__always) private static func feed<E>(_ text: String, longest: Int, _ c: inout Cursor<E>) {
        var text = text
        text.withUTF8 { c.feed(all: $0, longest: longest) }
    }
}

/// What any match of a regular expression must contain: for every group, at least one of its strings. Derived from
/// the pattern itself, so that a pattern is only run on texts that hold its fixed parts; an empty list means nothing
/// is known and the pattern always runs. Only the syntax the analysis understands is used: anything else gives up.
enum RegexRequirement {
    /// What the analysis finds in one pattern, parsed once: the sets of alternatives (ASCII lower-cased, UTF-8) of which a
    /// match holds one each (`of`), the strings one of which every match starts with (`starts`) and the runs every match
    /// holds (`runs`).
    struct Analysis {
        var requires: [[[UInt8]]] = []
        var starts: [[UInt8]]? = nil
        var runs: [Run] = []
    }

    static func analyze(_ pattern: String, caseInsensitive: Bool) -> Analysis {
        var p = Parser(scalars: Array(pattern.unicodeScalars), caseInsensitive: caseInsensitive)
        guard let node = p.alternation(), p.i == p.scalars.count else { return Analysis() }
        var req = node.req
        if let e = node.exact, !e.contains([]) { req.append(Array(e)) }
        // Strings that hold a shorter alternative of the same set add nothing. A set of single characters with a letter
        // or a digit among them (`[a-z0-9+/]{120,}`) is held by nearly every text: it would only cost a pass of the matcher.
        let requires = req.filter { set in !set.allSatisfy { $0.count == 1 } || !set.contains { ByteSet.isWordByte($0[0]) } }.map { set in
            let sorted = Set(set).sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
            var kept: [[UInt8]] = []
            for s in sorted where !kept.contains(where: { Classifier.find($0, in: s) }) { kept.append(s) }
            return kept
        }
        let starts = node.starting.flatMap { $0.isEmpty ? nil : $0.sorted { $0.lexicographicallyPrecedes($1) } }
        return Analysis(requires: requires, starts: starts, runs: node.runs)
    }

    /// The sets of alternatives (ASCII lower-cased, UTF-8) of which a match holds one each.
    static func of(_ pattern: String, caseInsensitive: Bool) -> [[[UInt8]]] { analyze(pattern, caseInsensitive: caseInsensitive).requires }

    /// The strings (ASCII lower-cased, UTF-8) one of which every match starts with, when the pattern says so plainly
    /// (`\b(never|do not)\W+…`): a match can then only start where one of them occurs. nil when unknown.
    static func starts(_ pattern: String, caseInsensitive: Bool) -> [[UInt8]]? { analyze(pattern, caseInsensitive: caseInsensitive).starts }

    /// Whether every alternative of the pattern's top level opens with `\b` (read as written: `|` inside a group, a class
    /// or after a backslash divides nothing).
    static func opensWithBoundary(_ pattern: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        func opens(_ at: Int) -> Bool { at + 1 < p.count && p[at] == "\\" && p[at + 1] == "b" }
        guard opens(0) else { return false }
        var every = true
        walk(p) { i, c, depth in
            if c == "|", depth == 0, !opens(i + 1) { every = false }
            return every
        }
        return every
    }

    /// Reads a pattern as written from `start`, handing each `(`, `)` and `|` that is neither escaped nor inside a class
    /// (ICU's classes nest: `[[a-z]&&[^q]]`) to `visit`, with its place and the depth of groups it stands at (a `(`
    /// counted in, a `)` counted out), until `visit` returns false.
    static func walk(_ p: [Unicode.Scalar], from start: Int = 0, _ visit: (Int, Unicode.Scalar, Int) -> Bool) {
        var depth = 0, inClass = 0, i = start
        while i < p.count {
            let c = p[i]
            if c == "\\" { i += 2; continue }
            if inClass > 0 {
                if c == "[" { inClass += 1 } else if c == "]" { inClass -= 1 }
            } else if c == "[" {
                inClass = 1
                // A `]` right after the opening (or after `^`) is a member.
                if i + 1 < p.count, p[i + 1] == "]" { i += 1 } else if i + 2 < p.count, p[i + 1] == "^", p[i + 2] == "]" { i += 2 }
            } else if c == "(" || c == ")" || c == "|" {
                depth += c == "(" ? 1 : c == ")" ? -1 : 0
                if !visit(i, c, depth) { return }
            }
            i += 1
        }
    }

    /// The pattern without the negative look-behind it opens with (after `\b`, if any), when it opens with one: a
    /// pattern that matches wherever the whole one does (a look-behind that must fail only takes matches away). Tried
    /// first at a place, it spares the look-behind, which the engine tries once for each length the look-behind can
    /// have, at places where the rest of the pattern fails anyway. nil for any other pattern, and for one with syntax
    /// that would make the look-behind's end, or what the rest refers to, read wrong here: quoted text (`\Q…\E`),
    /// comments or free spacing, and back-references (dropping a group renumbers those after it).
    static func withoutOpeningLookbehind(_ pattern: String) -> String? {
        let p = Array(pattern.unicodeScalars)
        let open = p.starts(with: ["\\", "b"]) ? 2 : 0
        guard p.count > open + 4, p[open..<(open + 4)].elementsEqual(["(", "?", "<", "!"]) else { return nil }
        for k in p.indices.dropLast() {
            if p[k] == "\\", "Qk123456789".unicodeScalars.contains(p[k + 1]) { return nil }
            guard p[k] == "(", p[k + 1] == "?" else { continue }
            // A comment, or flags that turn on free spacing (`(?x)`, `(?i-s:x…)`).
            var j = k + 2
            if j < p.count, p[j] == "#" { return nil }
            while j < p.count, p[j].properties.isAlphabetic || p[j] == "-" { if p[j] == "x" { return nil }; j += 1 }
        }
        // The look-behind ends where the depth comes back to nothing.
        var close: Int? = nil
        walk(p, from: open) { i, c, depth in
            if c == ")", depth == 0 { close = i }
            return close == nil
        }
        guard let close else { return nil }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: p[..<open])
        out.append(contentsOf: p[(close + 1)...])
        return String(out)
    }

    /// A run a match must hold: at least `length` bytes in a row from `bytes` (ASCII, lower-cased).
    struct Run: Equatable {
        var bytes: Set<UInt8>
        var length: Int
        /// Membership by byte, ASCII capitals read as small letters (as the class was folded).
        var table: [Bool] { (0..<256).map { bytes.contains(lowerASCII(UInt8($0))) } }
    }

    /// The runs any match must hold (`[a-z0-9+/]{120,}`), for patterns whose fixed strings say little.
    static func runs(_ pattern: String, caseInsensitive: Bool) -> [Run] { analyze(pattern, caseInsensitive: caseInsensitive).runs }

    /// The characters a pattern matches one of, when it is one atom (in practice a character class) whose members are
    /// single characters outside ASCII without case (so that case-insensitive matching matches exactly them). nil otherwise.
    static func scalarSet(_ pattern: String, caseInsensitive: Bool) -> ScalarSet? {
        var p = Parser(scalars: Array(pattern.unicodeScalars), caseInsensitive: caseInsensitive)
        // One atom and nothing after it: a class, an escaped character or a group of single characters.
        guard let node = p.atom(), p.i == p.scalars.count, let members = node.exact, !members.isEmpty else { return nil }
        var values: [UInt32] = []
        for m in members {
            let scalars = Array(String(decoding: m, as: UTF8.self).unicodeScalars)
            guard scalars.count == 1, let u = scalars.first, !u.isASCII, !u.properties.changesWhenCaseMapped,
                  !u.properties.isAlphabetic else { return nil }
            values.append(u.value)
        }
        return ScalarSet(values)
    }

    /// A piece of pattern: the finite set of strings it matches (nil when not small and known), and what it requires.
    struct Node {
        var exact: Set<[UInt8]>?
        var req: [[[UInt8]]]
        var runs: [Run] = []
        /// Strings one of which every match starts with (none empty), when known beyond `exact`.
        var prefix: Set<[UInt8]>? = nil
        /// What every match starts with: the exact strings when none is empty, else the prefix.
        var starting: Set<[UInt8]>? {
            if let e = exact { return e.contains([]) ? nil : e }
            return prefix
        }
        static let empty = Node(exact: [[]], req: [])
        static let unknown = Node(exact: nil, req: [])
    }

    static let limit = 256

    struct Parser {
        let scalars: [Unicode.Scalar]
        let caseInsensitive: Bool
        var i = 0

        init(scalars: [Unicode.Scalar], caseInsensitive: Bool) { self.scalars = scalars; self.caseInsensitive = caseInsensitive }

        var peek: Unicode.Scalar? { i < scalars.count ? scalars[i] : nil }

        /// Alternatives separated by `|`.
        mutating func alternation() -> Node? {
            var branches: [Node] = []
            while true {
                guard let b = sequence() else { return nil }
                branches.append(b)
                if peek == "|" { i += 1; continue }
                break
            }
            if branches.count == 1 { return branches[0] }
            // Unions grown in place: a pattern can have hundreds of branches.
            var prefix: Set<[UInt8]>? = []
            for b in branches {
                guard let st = b.starting, prefix != nil else { prefix = nil; break }
                prefix!.formUnion(st)
            }
            // Each branch's longest run, loosened to hold for all of them.
            var runs: [Run] = []
            if branches.allSatisfy({ !$0.runs.isEmpty }) {
                let longest = branches.map { $0.runs.max { $0.length < $1.length }! }
                runs = [Run(bytes: longest.reduce(into: Set<UInt8>()) { $0.formUnion($1.bytes) }, length: longest.map(\.length).min()!)]
            }
            var exact: Set<[UInt8]>? = []
            for b in branches {
                guard let e = b.exact, let n = exact?.count, n + e.count <= RegexRequirement.limit else { exact = nil; break }
                exact!.formUnion(e)
            }
            // A match holds one branch, so (A1 and A2) or (B1) requires A1-or-B1 and A2-or-B1: every way of taking one
            // required set from each branch gives a set to require, as long as there are few; otherwise one per branch.
            var clauses: [[[UInt8]]] = [[]]
            for b in branches {
                var own = b.req
                if let e = b.exact, !e.contains([]) { own.append(Array(e)) }
                guard !own.isEmpty else { return Node(exact: exact, req: [], runs: runs, prefix: prefix) }
                if clauses.count * own.count > 16 {
                    var union: [[UInt8]] = []
                    for b in branches {
                        guard let best = Parser.best(b) else { return Node(exact: exact, req: [], runs: runs, prefix: prefix) }
                        union += best
                    }
                    return Node(exact: exact, req: [union], runs: runs, prefix: prefix)
                }
                clauses = clauses.flatMap { c in own.map { c + $0 } }
            }
            return Node(exact: exact, req: clauses, runs: runs, prefix: prefix)
        }

        /// The most telling set a node requires: its exact strings, or its required set with the longest shortest string.
        static func best(_ n: Node) -> [[UInt8]]? {
            var candidates = n.req
            if let e = n.exact, !e.contains([]) { candidates.append(Array(e)) }
            return candidates.max { ($0.map(\.count).min() ?? 0) < ($1.map(\.count).min() ?? 0) }
        }

        /// Atoms with their quantifiers, up to `|` or `)`.
        mutating func sequence() -> Node? {
            var req: [[[UInt8]]] = []
            var runs: [Run] = []
            var run: Set<[UInt8]>? = [[]]
            var whole = true
            // What a match starts with: the fixed strings before the first part that is not fixed, or, when only
            // zero-width parts (`\b`, `^`) come before it, what that part starts with.
            var prefix: Set<[UInt8]>? = nil
            func flush() {
                if let r = run, !r.contains([]) { req.append(Array(r)) }
                run = [[]]
            }
            while let c = peek, c != "|", c != ")" {
                var atom: Node
                if let fixed = plainRun() {
                    atom = Node(exact: [fixed], req: [])
                } else {
                    guard let one = self.atom(), let q = quantifier() else { return nil }
                    atom = Parser.apply(q, to: one)
                }
                if let e = atom.exact, let r = run, r.count * e.count <= RegexRequirement.limit {
                    var product: Set<[UInt8]> = []
                    for a in r { for b in e { product.insert(a + b) } }
                    run = product
                } else {
                    if whole, let r = run {
                        if !r.contains([]) { prefix = r } else if r == [[]] { prefix = atom.starting }
                    }
                    whole = false
                    flush()
                    if let e = atom.exact, !e.contains([]) { run = e }
                }
                // A part with known strings says all it requires through them.
                if atom.exact == nil { req += atom.req }
                runs += atom.runs
            }
            if whole { return Node(exact: run, req: req, runs: runs) }
            flush()
            return Node(exact: nil, req: req, runs: runs, prefix: prefix)
        }

        /// ASCII letters, digits and spaces in a row, none under a quantifier, lower-cased: one fixed string read at once,
        /// as the atoms one by one would give it (the long alternations of words are most of what rules' patterns hold).
        mutating func plainRun() -> [UInt8]? {
            func plain(_ u: Unicode.Scalar) -> Bool {
                u.value < 0x80 && (u == " " || ByteSet.isWordByte(UInt8(u.value)))
            }
            func quantified(_ j: Int) -> Bool {
                j + 1 < scalars.count && (scalars[j + 1] == "?" || scalars[j + 1] == "*" || scalars[j + 1] == "+" || scalars[j + 1] == "{")
            }
            var j = i
            var bytes: [UInt8] = []
            while j < scalars.count, plain(scalars[j]), !quantified(j) {
                bytes.append(lowerASCII(UInt8(scalars[j].value)))
                j += 1
            }
            if bytes.isEmpty { return nil }
            i = j
            return bytes
        }

        /// `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}` with an optional lazy or possessive mark, as (min, max); (1, 1) if none.
        mutating func quantifier() -> (Int, Int?)? {
            var q: (Int, Int?) = (1, 1)
            guard let c = peek else { return q }
            switch c {
            case "?": q = (0, 1); i += 1
            case "*": q = (0, nil); i += 1
            case "+": q = (1, nil); i += 1
            case "{":
                var j = i + 1
                var text = ""
                while j < scalars.count, scalars[j] != "}" { text.unicodeScalars.append(scalars[j]); j += 1 }
                guard j < scalars.count else { return nil }
                let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                guard let lo = Int(parts[0]) else { return nil }
                if parts.count == 1 { q = (lo, lo) } else if parts[1].isEmpty { q = (lo, nil) } else if let hi = Int(parts[1]) { q = (lo, hi) } else { return nil }
                i = j + 1
            default: return q
            }
            if peek == "?" || peek == "+" { i += 1 }
            return q
        }

        static func apply(_ q: (Int, Int?), to atom: Node) -> Node {
            switch q {
            case (1, 1): return atom
            case (0, 1):
                guard let e = atom.exact else { return .unknown }
                return Node(exact: e.union([[]]), req: [])
            case (0, _): return .unknown
            default:
                // At least once: what one occurrence requires stays required; many times one byte of a class is a run.
                var req = atom.req
                var runs = atom.runs
                if let e = atom.exact, !e.contains([]) { req.append(Array(e)) }
                if q.0 >= 8, let e = atom.exact, e.allSatisfy({ $0.count == 1 && $0[0] < 0x80 }) {
                    runs.append(Run(bytes: Set(e.map { $0[0] }), length: q.0))
                }
                // The first occurrence starts the match.
                return Node(exact: nil, req: req, runs: runs, prefix: atom.starting)
            }
        }

        mutating func atom() -> Node? {
            guard let c = peek else { return nil }
            i += 1
            switch c {
            case "(":
                var lookaround = false
                if peek == "?" {
                    i += 1
                    guard let k = peek else { return nil }
                    if k == ":" { i += 1 }
                    else if k == "=" || k == "!" { i += 1; lookaround = true }
                    else if k == "<", i + 1 < scalars.count, scalars[i + 1] == "=" || scalars[i + 1] == "!" { i += 2; lookaround = true }
                    else { return nil }
                }
                guard let inner = alternation(), peek == ")" else { return nil }
                i += 1
                return lookaround ? .empty : inner
            case "[": return charClass()
            case "\\": return escape(inClass: false).map { $0.map(char) ?? $1 }
            case ".": return .unknown
            case "^", "$": return .empty
            case "*", "+", "?", "{", ")", "|": return nil
            default: return char(c)
            }
        }

        /// An escape: a character (first) or a node (second) for classes, boundaries and the like.
        mutating func escape(inClass: Bool) -> (Unicode.Scalar?, Node)? {
            guard let c = peek else { return nil }
            i += 1
            switch c {
            case "s", "S", "w", "W", "d", "D": return (nil, .unknown)
            case "b", "B", "A", "z", "Z": return inClass ? nil : (nil, .empty)
            case "t": return ("\t", .unknown)
            case "n": return ("\n", .unknown)
            case "r": return ("\r", .unknown)
            case "e": return ("\u{1B}", .unknown)
            case "x":
                var hex = ""
                if peek == "{" {
                    i += 1
                    while let h = peek, h != "}" { hex.unicodeScalars.append(h); i += 1 }
                    guard peek == "}" else { return nil }
                    i += 1
                } else {
                    for _ in 0..<2 { guard let h = peek else { return nil }; hex.unicodeScalars.append(h); i += 1 }
                }
                guard let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) else { return nil }
                return (u, .unknown)
            default:
                // Escaped punctuation stands for itself; an escaped letter or digit means something this analysis does not know.
                if c.properties.isAlphabetic || ("0"..."9").contains(c) { return nil }
                return (c, .unknown)
            }
        }

        func char(_ u: Unicode.Scalar) -> Node {
            if u.value < 0x80 { return Node(exact: [[lowerASCII(UInt8(u.value))]], req: []) }
            // Case-insensitive matching of a letter outside ASCII may match other letters: not a fixed string.
            if caseInsensitive && u.properties.changesWhenCaseMapped { return .unknown }
            return Node(exact: [Array(String(u).utf8)], req: [])
        }

        /// `[...]`: its members when they are few and plain.
        mutating func charClass() -> Node? {
            var members: [Unicode.Scalar] = []
            var known = true
            if peek == "^" { i += 1; known = false }
            var first = true
            while let c = peek, c != "]" || first {
                first = false
                i += 1
                var lo: Unicode.Scalar
                if c == "\\" {
                    guard let (u, _) = escape(inClass: true) else { return nil }
                    guard let u else { known = false; continue }
                    lo = u
                } else if c == "[" {
                    return nil
                } else {
                    lo = c
                }
                if peek == "-", i + 1 < scalars.count, scalars[i + 1] != "]" {
                    i += 1
                    guard var hi = peek else { return nil }
                    i += 1
                    if hi == "\\" { guard let (u, _) = escape(inClass: true), let u else { return nil }; hi = u }
                    guard hi.value >= lo.value else { return nil }
                    if hi.value - lo.value > UInt32(RegexRequirement.limit) { known = false; continue }
                    for v in lo.value...hi.value { if let u = Unicode.Scalar(v) { members.append(u) } }
                } else {
                    members.append(lo)
                }
            }
            guard peek == "]" else { return nil }
            i += 1
            guard known, members.count <= RegexRequirement.limit else { return .unknown }
            var exact: Set<[UInt8]> = []
            for m in members {
                guard let e = char(m).exact else { return .unknown }
                exact.formUnion(e)
            }
            return Node(exact: exact, req: [])
        }
    }
}

/// A set of characters, looked for in a text one scalar at a time.
struct ScalarSet: Sendable {
    private let members: Set<UInt32>
    private let lowest: UInt32, highest: UInt32

    init(_ values: [UInt32]) {
        members = Set(values)
        lowest = values.min()!
        highest = values.max()!
    }

    /// The first scalar of `text` in the set, read from its UTF-8: a set without ASCII passes runs of ASCII over eight
    /// bytes at a time and decodes only the other scalars.
    func first(in text: String) -> Unicode.Scalar? {
        var text = text
        return text.withUTF8 { u in
            var i = 0
            while i < u.count {
                if lowest >= 0x80 {
                    i = asciiRunEnd(u, from: i)
                    if i == u.count { break }
                }
                let (v, length) = decodeUTF8(u, i)
                if v >= lowest && v <= highest && members.contains(v) { return Unicode.Scalar(v) }
                i += length
            }
            return nil
        }
    }
}
