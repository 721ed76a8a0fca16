import AtlasModel
internal import CText

/// One word as the tokenizer cuts it: its stem, and where it stands (UTF-8 offsets) in the original text.
struct RawToken: Sendable {
    var stem: String
    var start: Int
    var end: Int
}

/// One word of a definition: the number of its stem in the rules' vocabulary (-1 when no rule uses it), and its place.
struct Token: Sendable {
    var id: Int32
    var start: Int32
    var end: Int32
}

/// Whether every byte of `s` is below 0x80.
func isPlainASCII(_ s: String) -> Bool {
    var s = s
    return s.withUTF8 { asciiRunEnd($0, from: 0) == $0.count }
}

/// One new string written piece by piece into room counted beforehand (`concatenated`): each piece's bytes are copied
/// once, read where they are. Appending to a string checks its form and its room at every step, and a piece handed on
/// as a value is retained and released.
struct StringWriter {
    fileprivate let room: UnsafeMutableBufferPointer<UInt8>
    fileprivate(set) var count = 0

    @inline(__always) mutating func put(_ piece: borrowing String) {
        let copied = piece.utf8.withContiguousStorageIfAvailable { u in
            precondition(count + u.count <= room.count, "more bytes than counted")
            if let from = u.baseAddress, u.count > 0 { (room.baseAddress! + count).initialize(from: from, count: u.count) }
            return u.count
        }
        if let copied { count += copied; return }
        for b in piece.utf8 { put(byte: b) }
    }

    @inline(__always) mutating func put(byte: UInt8) {
        precondition(count < room.count, "more bytes than counted")
        room[count] = byte
        count += 1
    }
}

/// The string `write` puts together, of at most `bytes` bytes.
@inline(__always) func concatenated(bytes: Int, _ write: (inout StringWriter) -> Void) -> String {
    guard bytes > 0 else { return "" }
    return String(unsafeUninitializedCapacity: bytes) { room in
        var w = StringWriter(room: room)
        write(&w)
        return w.count
    }
}

/// Where the run of bytes below 0x80 that starts at `i` ends, read eight bytes at a time.
@inline(__always) func asciiRunEnd(_ u: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
    var j = i
    while j + 8 <= u.count, UnsafeRawPointer(u.baseAddress! + j).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { j += 8 }
    while j < u.count && u[j] < 0x80 { j += 1 }
    return j
}

/// The scalar whose UTF-8 starts at `i` (a lead byte of valid UTF-8, as a string's is), and its length in bytes.
@inline(__always) func decodeUTF8(_ u: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
    let b = u[i]
    if b < 0x80 { return (UInt32(b), 1) }
    if b >= 0xF0 {
        return ((UInt32(b & 0x07) << 18) | (UInt32(u[i + 1] & 0x3F) << 12) | (UInt32(u[i + 2] & 0x3F) << 6) | UInt32(u[i + 3] & 0x3F), 4)
    }
    if b >= 0xE0 { return ((UInt32(b & 0x0F) << 12) | (UInt32(u[i + 1] & 0x3F) << 6) | UInt32(u[i + 2] & 0x3F), 3) }
    return ((UInt32(b & 0x1F) << 6) | UInt32(u[i + 1] & 0x3F), 2)
}

/// A set of ASCII bytes (a bit each): the punctuation a text holds, or the punctuation a literal cannot occur without.
struct ByteSet: Sendable, Equatable {
    var low: UInt64 = 0, high: UInt64 = 0
    static let all = ByteSet(low: ~0, high: ~0)
    @inline(__always) mutating func insert(_ b: UInt8) {
        if b < 64 { low |= 1 << UInt64(b) } else if b < 128 { high |= 1 << UInt64(b - 64) }
    }
    @inline(__always) func holds(_ other: ByteSet) -> Bool { other.low & ~low == 0 && other.high & ~high == 0 }
    @inline(__always) func union(_ other: ByteSet) -> ByteSet { ByteSet(low: low | other.low, high: high | other.high) }
    var isEmpty: Bool { low == 0 && high == 0 }

    /// The bytes of `literal` that any text holding it holds as they are: ASCII, neither letters nor digits (which
    /// case and folding change, and every text has) nor white space (which folding turns into spaces).
    static func punctuation(of literal: [UInt8]) -> ByteSet {
        var set = ByteSet()
        for b in literal where b < 0x80 && !isWordByte(b) && !isFoldedSpace(b) { set.insert(b) }
        return set
    }

    @inline(__always) static func isWordByte(_ b: UInt8) -> Bool { b &- 0x61 < 26 || b &- 0x41 < 26 || b &- 0x30 < 10 }
}

/// ASCII white space, which folding collapses into one space.
@inline(__always) func isFoldedSpace(_ b: UInt8) -> Bool { b == 0x20 || b &- 0x09 < 5 } // space, or tab to carriage return

/// Eight bytes at once: the high bit of each byte of `x` that is ASCII and from `low` to `high`, the other bits clear.
@inline(__always) func asciiBytes(_ x: UInt64, from low: UInt8, to high: UInt8) -> UInt64 {
    let y = x & 0x7F7F_7F7F_7F7F_7F7F, ones: UInt64 = 0x0101_0101_0101_0101
    // Below 0x80, adding 0x80 - low sets the high bit from `low` on, adding 0x80 - (high + 1) from past `high` on.
    return (y &+ ones &* UInt64(0x80 - low)) & ~(y &+ ones &* UInt64(0x7F - high)) & ~x & 0x8080_8080_8080_8080
}

/// An ASCII capital as its small letter; every other byte as it is.
@inline(__always) func lowerASCII(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b + 32 : b }

/// The longest runs of white space in a text: of spaces, of tabs, and of any white space. A gap between words narrower
/// than `exactFrom` bytes counts whole for each (more than it holds: what the screens read may only overstate), so that
/// only the few wide gaps are read byte by byte.
struct Blanks: Sendable, Equatable {
    var spaces: Int32, tabs: Int32, any: Int32
    static let exactFrom = 8
    static let unknown = Blanks(spaces: .max, tabs: .max, any: .max)

    init(spaces: Int32, tabs: Int32, any: Int32) { self.spaces = spaces; self.tabs = tabs; self.any = any }

    /// The runs of a text whose gaps between words are all narrower than `exactFrom`, the widest `narrow` bytes.
    init(narrow: Int) { spaces = Int32(narrow); tabs = Int32(narrow); any = Int32(narrow) }

    /// The runs of `text`, cut into `tokens`: its gaps between words, and before the first and after the last.
    init(_ text: String, _ tokens: [Token]) {
        self.init(narrow: 0)
        var text = text, narrow = 0
        text.withUTF8 { u in
            var from = 0
            for k in 0...tokens.count {
                let to = k < tokens.count ? Int(tokens[k].start) : u.count
                if to - from < Blanks.exactFrom { narrow = max(narrow, to - from) } else { measure(UnsafeBufferPointer(rebasing: u[from..<to])) }
                if k < tokens.count { from = Int(tokens[k].end) }
            }
        }
        spaces = max(spaces, Int32(narrow)); tabs = max(tabs, Int32(narrow)); any = max(any, Int32(narrow))
    }

    /// Notes the runs of one gap.
    mutating func measure(_ gap: UnsafeBufferPointer<UInt8>) {
        var s: Int32 = 0, t: Int32 = 0, a: Int32 = 0
        for b in gap {
            s = b == 0x20 ? s + 1 : 0
            t = b == 0x09 ? t + 1 : 0
            a = isFoldedSpace(b) ? a + 1 : 0
            spaces = max(spaces, s); tabs = max(tabs, t); any = max(any, a)
        }
    }
}

/// How many bits of `word` are set below bit `bit`: the place, among the set bits, of that one (a sparse table's entries
/// are kept in the order of their bits).
@inline(__always) func bitsBelow(_ bit: Int, in word: UInt64) -> Int { (word & ((1 << UInt64(bit)) - 1)).nonzeroBitCount }

/// A set of vocabulary numbers as bits: membership without hashing.
struct Bitset: Sendable {
    var words: [UInt64]
    init(size: Int) { words = Array(repeating: 0, count: max(1, (size + 63) / 64)) }
    init(size: Int, _ ids: some Sequence<Int32>) {
        self.init(size: size)
        for i in ids { insert(i) }
    }
    @inline(__always) mutating func insert(_ id: Int32) { if id >= 0 { words[Int(id) >> 6] |= 1 << UInt64(Int(id) & 63) } }
    /// The set as its non-zero words only (index and bits): a set of a few words of a vocabulary of thousands.
    var sparse: [(index: Int, bits: UInt64)] { words.indices.filter { words[$0] != 0 }.map { ($0, words[$0]) } }
    /// Whether the set holds at least one number of every list (the literals a pattern cannot match without).
    func holdsOneOfEach(_ lists: [[Int32]]) -> Bool { lists.allSatisfy { $0.contains(where: contains) } }
    @inline(__always) func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) >> 6 < words.count && words[Int(id) >> 6] & (1 << UInt64(Int(id) & 63)) != 0 }
}

/// The stems of every word the rules use, numbered; definition words are looked up once each, by a 64-bit hash
/// of their stem bytes, so that tokenizing allocates no strings. The hash is already well mixed, so the look-up is an
/// open-addressing table probed by its low bits (a `Dictionary` would hash it again).
struct Vocabulary: Sendable {
    private var keys: [UInt64] = Array(repeating: 0, count: 16)
    private var values: [Int32] = Array(repeating: -1, count: 16)
    private(set) var count = 0

    mutating func add(_ stem: String) -> Int32 {
        let h = Tokenizer.hash(stem.utf8)
        let existing = id(hash: h)
        if existing >= 0 { return existing }
        if (count + 1) * 2 > keys.count { grow() }
        insert(h, Int32(count))
        count += 1
        return Int32(count - 1)
    }

    private mutating func insert(_ h: UInt64, _ v: Int32) {
        let mask = keys.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while values[i] >= 0 { i = (i + 1) & mask }
        keys[i] = h
        values[i] = v
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.1 >= 0 }
        keys = Array(repeating: 0, count: keys.count * 2)
        values = Array(repeating: -1, count: values.count * 2)
        for (k, v) in old { insert(k, v) }
    }

    func id(_ stem: String) -> Int32 { id(hash: Tokenizer.hash(stem.utf8)) }

    @inline(__always) func id(hash h: UInt64) -> Int32 {
        withTable { $0.id(hash: h) }
    }

    /// The table read in place, for a run of look-ups (one word after another) without a retain or a bounds check each.
    struct Table {
        let keys: UnsafeBufferPointer<UInt64>
        let values: UnsafeBufferPointer<Int32>

        @inline(__always) func id(hash h: UInt64) -> Int32 {
            let mask = keys.count - 1
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let v = values[i]
                if v < 0 { return -1 }
                if keys[i] == h { return v }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always) func withTable<R>(_ body: (Table) -> R) -> R {
        keys.withUnsafeBufferPointer { k in values.withUnsafeBufferPointer { v in body(Table(keys: k, values: v)) } }
    }
}

/// Where the fields of one definition note the vocabulary words they hold: every word anywhere (`present`, a bit per
/// word) and the fields each word is in (`fields`, a bit per field slot, `bit` being this field's).
struct WordNotes {
    let present: UnsafeMutablePointer<UInt64>
    let fields: UnsafeMutablePointer<UInt16>
    /// Pairs of vocabulary words that stand side by side, as bits (`WordPairs`).
    let pairs: UnsafeMutablePointer<UInt64>
    let bit: UInt16
    /// The room the definition's fields cut their tokens into, one after another (`TokenRoom`).
    let room: UnsafeMutablePointer<TokenRoom>

    @inline(__always) func note(_ id: Int32) {
        present[Int(id) >> 6] |= 1 << UInt64(Int(id) & 63)
        fields[Int(id)] |= bit
    }

    /// Notes word `id` (a vocabulary number, -1 for none) and, when the word before it is one too, the two side by side:
    /// what cutting a field notes for each of its words.
    @inline(__always) func note(_ id: Int32, after previous: Int32) {
        guard id >= 0 else { return }
        note(id)
        if previous >= 0 { pair(previous, id) }
    }

    /// Notes that `b` follows `a` (both vocabulary words).
    @inline(__always) func pair(_ a: Int32, _ b: Int32) {
        let k = WordPairs.bit(a, b)
        pairs[k >> 6] |= 1 << UInt64(k & 63)
    }
}

/// The pairs of vocabulary words a definition holds side by side, as one bit each in a table of `count` bits (a pair
/// may share its bit with another): what the screens read to rule out a phrase whose words all occur, but apart.
enum WordPairs {
    static let count = 8192
    static let words = count / 64
    @inline(__always) static func bit(_ a: Int32, _ b: Int32) -> Int {
        let x = (UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: x >> 51)
    }
}

/// Where a field's cutting hands its words' stem hashes.
protocol HashSink { mutating func add(_ hash: UInt64) }
struct NoHashes: HashSink { @inline(__always) mutating func add(_ hash: UInt64) {} }
extension Array: HashSink where Element == UInt64 { @inline(__always) mutating func add(_ hash: UInt64) { append(hash) } }

/// Room to cut a field's tokens into before they are copied out at their number, shared by the fields of a definition:
/// written in place, a token needs no check of a list's room and sharing, as appending does. A token takes one byte
/// of its text at least, so room for a token per byte holds them all.
struct TokenRoom {
    private(set) var tokens: UnsafeMutablePointer<Token>
    private(set) var capacity: Int

    static func make(capacity: Int = 256) -> UnsafeMutablePointer<TokenRoom> {
        let room = UnsafeMutablePointer<TokenRoom>.allocate(capacity: 1)
        room.initialize(to: TokenRoom(tokens: .allocate(capacity: capacity), capacity: capacity))
        return room
    }

    static func free(_ room: UnsafeMutablePointer<TokenRoom>) {
        room.pointee.tokens.deallocate()
        room.deinitialize(count: 1)
        room.deallocate()
    }

    /// Room for at least `count` tokens (what it held before is dropped).
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        tokens.deallocate()
        capacity = max(count, 2 * capacity)
        tokens = .allocate(capacity: capacity)
    }
}

/// A field of a definition cut into tokens once. The words it holds are noted in its definition's tables as it is cut.
final class Field: Sendable {
    let name: String
    let text: String
    let tokens: [Token]
    /// The longest run of ASCII letters and digits in the text (camelCase does not cut it), found while tokenizing.
    let longestRun: Int
    /// The ASCII bytes other than letters and digits the text holds.
    let punctuation: ByteSet
    /// Whether every byte of the text is below 0x80, when known (nil: the prefix of a text that is not).
    let isASCII: Bool?
    /// Its longest runs of white space, measured in the gaps between words.
    let blanks: Blanks
    /// Words cut by their capitals (`JavaScript`, `GraphQL`, `PostgreSQL`), whole, where the vocabulary knows them:
    /// the word's number and its first and last token. A one-word phrase (`javascript`) finds them too.
    let joined: [(id: Int32, first: Int32, last: Int32)]

    /// `notes`: where its vocabulary words are noted (nowhere when nil).
    convenience init(name: String, text: String, vocabulary: Vocabulary, notes: WordNotes? = nil) {
        var none = NoHashes()
        self.init(name: name, text: text, vocabulary: vocabulary, notes: notes, hashes: &none)
    }

    /// A field whose words' stem hashes are also handed to `hashes`, in order: for a caller that compares words the
    /// vocabulary may not know (a tool's name against its server's). Generic, so that a field that keeps none is cut
    /// by code without the step.
    init<H: HashSink>(name: String, text: String, vocabulary: Vocabulary, notes: WordNotes?, hashes: inout H) {
        self.name = name
        self.text = text
        var longest = 0, gap = 0, wordEnd = 0
        var marks = ByteSet(), other = false, touching = false
        var tokens: [Token] = []
        if !text.isEmpty {
            let room = notes?.room ?? TokenRoom.make()
            defer { if notes == nil { TokenRoom.free(room) } }
            room.pointee.reserve(text.utf8.count)
            let slots = room.pointee.tokens
            var count = 0
            vocabulary.withTable { table in
                var previous: Int32 = -1
                longest = Tokenizer.scan(text, marking: &marks, outsideASCII: &other) { hash, start, end in
                    hashes.add(hash)
                    let id = table.id(hash: hash)
                    notes?.note(id, after: previous)
                    previous = id
                    if start == wordEnd && count > 0 { touching = true }
                    (slots + count).initialize(to: Token(id: id, start: Int32(start), end: Int32(end)))
                    count += 1
                    gap = max(gap, start - wordEnd)
                    wordEnd = end
                }
            }
            tokens = Array(UnsafeBufferPointer(start: slots, count: count))
        }
        gap = max(gap, text.utf8.count - wordEnd)
        // A text with a gap wide enough to be measured run by run (`Blanks.exactFrom`) has its gaps read again.
        let blanks = gap < Blanks.exactFrom ? Blanks(narrow: gap) : Blanks(text, tokens)
        // Tokens that touch (no byte between them) were cut from one word: by its capitals, or where its script changes.
        var joined: [(id: Int32, first: Int32, last: Int32)] = []
        if touching {
            var text = text
            text.withUTF8 { utf8 in
                vocabulary.withTable { table in
                    var i = 0
                    while i < tokens.count {
                        var j = i
                        while j + 1 < tokens.count && tokens[j].end == tokens[j + 1].start { j += 1 }
                        if j > i {
                            let start = Int(tokens[i].start), end = Int(tokens[j].end)
                            let ascii = !utf8[start..<end].contains { $0 >= 0x80 }
                            let hash = ascii ? Tokenizer.asciiStemHash(utf8, start, end) : Tokenizer.otherStemHash(utf8, start, end)
                            let id = table.id(hash: hash)
                            if id >= 0 { joined.append((id, Int32(i), Int32(j))); notes?.note(id) }
                        }
                        i = j + 1
                    }
                }
            }
        }
        self.tokens = tokens
        self.longestRun = longest
        self.punctuation = marks
        self.isASCII = !other
        self.blanks = blanks
        self.joined = joined
    }

    /// The first `bytes` bytes of a field's text (a description's lead: patterns and literals of the lead are looked for
    /// in it alone) with the tokens that end there. Its punctuation, gaps and runs are those of the whole text: more than
    /// the prefix holds, which the screens allow (they only rule out).
    init(name: String, prefixOf other: Field, bytes: Int, notes: WordNotes? = nil) {
        self.name = name
        self.text = bytes >= other.text.utf8.count ? other.text : String(decoding: other.text.utf8.prefix(bytes), as: UTF8.self)
        // The tokens are in order: those of the prefix come first, copied at once.
        let tokens = Array(other.tokens.prefix { Int($0.end) <= bytes })
        if let notes { for t in tokens where t.id >= 0 { notes.note(t.id) } }
        var joined: [(id: Int32, first: Int32, last: Int32)] = []
        for w in other.joined where Int(other.tokens[Int(w.last)].end) <= bytes { joined.append(w); notes?.note(w.id) }
        self.tokens = tokens
        self.longestRun = other.longestRun
        self.punctuation = other.punctuation
        self.isASCII = other.isASCII == true ? true : nil
        self.blanks = other.blanks
        self.joined = joined
    }

    /// A field that only regular expressions read.
    init(name: String, rawText: String) {
        self.name = name; self.text = rawText; self.tokens = []; self.longestRun = Int.max; self.joined = []
        self.punctuation = .all
        self.isASCII = nil
        self.blanks = .unknown
    }

    /// Notes the words of a field cut without notes (a server's name, cut once for its tools) where a definition's fields
    /// note theirs, as cutting it there would have.
    func note(into notes: WordNotes) {
        var previous: Int32 = -1
        for t in tokens {
            notes.note(t.id, after: previous)
            previous = t.id
        }
        for w in joined { notes.note(w.id) }
    }

    /// The first place `phrase` occurs, as a range of token positions.
    /// (Its definition's notes say first, at less cost, whether the field holds every word: `Features.find`.)
    func find(_ phrase: [Int32]) -> Range<Int>? {
        guard let first = phrase.first, first >= 0 else { return nil }
        if phrase.count == 1 {
            if let i = tokens.firstIndex(where: { $0.id == first }) { return i..<(i + 1) }
            return joined.first(where: { $0.id == first }).map { Int($0.first)..<(Int($0.last) + 1) }
        }
        // Read in place: the phrase is looked for in every token of the field.
        return tokens.withUnsafeBufferPointer { t in
            phrase.withUnsafeBufferPointer { p in
                let n = p.count
                var i = 0
                while i + n <= t.count {
                    if t[i].id == first {
                        var k = 1
                        while k < n && t[i + k].id == p[k] { k += 1 }
                        if k == n { return i..<(i + n) }
                    }
                    i += 1
                }
                return nil
            }
        }
    }

    /// The text of tokens `r`, read in place (not the whole text copied out for a part of it).
    func quote(_ r: Range<Int>) -> String {
        var text = text
        return text.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[Int(tokens[r.lowerBound].start)..<Int(tokens[r.upperBound - 1].end)]), as: UTF8.self) }
    }
}

enum Tokenizer {
    /// Words of any naming style: snake_case, camelCase, kebab-case, dotted, spaced; letters and digits stay together.
    static func tokens(_ text: String) -> [RawToken] {
        var out: [RawToken] = []
        var text = text, marks = ByteSet(), other = false
        text.withUTF8 { utf8 in
            _ = scanBlocks(utf8, marking: &marks, outsideASCII: &other) { _, start, end in
                out.append(RawToken(stem: stemmed(UnsafeBufferPointer(rebasing: utf8[start..<end])), start: start, end: end))
            }
        }
        return out
    }

    /// The key of the vocabulary: a hash of a stem's bytes taken eight at a time (little-endian, the last chunk zero-padded)
    /// with its length, so that the tokenizer can hash a stem from the text in a step or two instead of a step per byte.
    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h = hashSeed, chunk: UInt64 = 0, k = 0, n = 0
        for b in bytes {
            chunk |= UInt64(b) << UInt64(8 * k)
            k += 1; n += 1
            if k == 8 { h = mix(h, chunk); chunk = 0; k = 0 }
        }
        if k > 0 { h = mix(h, chunk) }
        return finish(h, n)
    }

    static let hashSeed: UInt64 = 0x243F_6A88_85A3_08D3
    @inline(__always) static func mix(_ h: UInt64, _ chunk: UInt64) -> UInt64 {
        let m = (h ^ chunk) &* 0x9E37_79B9_7F4A_7C15
        return (m << 31) | (m >> 33)
    }
    /// The length mixed in and the high bits folded into the low ones, by which the vocabulary's table is probed.
    @inline(__always) static func finish(_ h: UInt64, _ n: Int) -> UInt64 {
        let x = (h ^ UInt64(n)) &* 0xFF51_AFD7_ED55_8CCD
        return x ^ (x >> 32)
    }

    /// Cuts `text` into words and hands each one's stem hash and byte range to `visit`: words of any naming style
    /// (a small letter then a capital starts a word, as does the last capital of a run followed by a small letter;
    /// digits stay in their word), letters outside ASCII in their word, and one word per character of scripts written
    /// without spaces. One loop over the bytes with its state in locals; the stem is hashed from the text itself.
    /// Returns the longest run of ASCII letters and digits (the runs end where words can: at other bytes).
    @discardableResult
    @inline(__always) static func scan(_ text: String, _ visit: (UInt64, Int, Int) -> Void) -> Int {
        var marks = ByteSet(), other = false
        return scan(text, marking: &marks, outsideASCII: &other, visit)
    }

    /// `scan`, noting in `marks` every ASCII byte other than a letter or a digit.
    /// `outsideASCII` is set when the text holds a byte of 0x80 or more.
    @inline(__always) static func scan(_ text: String, marking marks: inout ByteSet, outsideASCII: inout Bool,
                                       _ visit: (UInt64, Int, Int) -> Void) -> Int {
        var text = text
        return text.withUTF8 { utf8 in
            scanBlocks(utf8, marking: &marks, outsideASCII: &outsideASCII, visit)
        }
    }

    /// Where cutting a text stands between two bytes: the open word (where it starts, and whether it is ASCII so far), the
    /// class of the byte before (0 none or no letter, 1 small letter, 2 capital, 3 digit, 4 letter outside ASCII), where
    /// the run of ASCII letters and digits that holds it started, and the longest run so far.
    struct CutState { var open = -1; var ascii = true; var prev: UInt8 = 0; var runStart = 0; var longest = 0 }

    /// Cuts the bytes of `utf8` from `i` byte by byte, to `end` or just past it (to the end of a character that crosses
    /// it), from and into `state`; returns where it stopped. The word still open is left open.
    @inline(__always) static func scanBytes(_ utf8: UnsafeBufferPointer<UInt8>, from i: Int, to end: Int, _ state: inout CutState,
                                            marking marks: inout ByteSet, outsideASCII: inout Bool,
                                            _ visit: (UInt64, Int, Int) -> Void) -> Int {
        let n = utf8.count
        var i = i
        var runStart = state.runStart, longest = state.longest
        var start = state.open
        var ascii = state.ascii
        var prev = state.prev
        defer { state = CutState(open: start, ascii: ascii, prev: prev, runStart: runStart, longest: longest) }
        while i < end {
            let b = utf8[i]
            if b < 0x80 {
                let cls: UInt8 = b &- 0x61 < 26 ? 1 : b &- 0x41 < 26 ? 2 : b &- 0x30 < 10 ? 3 : 0
                if cls == 0 {
                    marks.insert(b)
                    prev = 0
                    longest = max(longest, i - runStart)
                    runStart = i + 1
                    cut(utf8, &start, &ascii, i, visit)
                    i += 1
                    continue
                }
                if start >= 0 && cls == 2 {
                    if prev == 1 {
                        cut(utf8, &start, &ascii, i, visit)
                    } else if prev == 2 {
                        let nb = i + 1 < n ? utf8[i + 1] : 0x20
                        if nb &- 0x61 < 26 { cut(utf8, &start, &ascii, i, visit) }
                    }
                }
                if start < 0 { start = i }
                prev = cls
                i += 1
                // Small letters never cut a word: a run of them is passed over at once, eight bytes at a time.
                if cls == 1 {
                    while i + 8 <= n {
                        let small = asciiBytes(UnsafeRawPointer(utf8.baseAddress! + i).loadUnaligned(as: UInt64.self), from: 0x61, to: 0x7A)
                        if small == 0x8080_8080_8080_8080 { i += 8; continue }
                        i += (~small & 0x8080_8080_8080_8080).trailingZeroBitCount >> 3
                        break
                    }
                    if i + 8 > n { while i < n && utf8[i] &- 0x61 < 26 { i += 1 } }
                }
                continue
            }
            // A multi-byte scalar.
            outsideASCII = true
            var len = 1
            if b >= 0xF0 { len = 4 } else if b >= 0xE0 { len = 3 } else if b >= 0xC0 { len = 2 }
            len = min(len, n - i)
            let scalar = String(decoding: UnsafeBufferPointer(rebasing: utf8[i..<(i + len)]), as: UTF8.self).unicodeScalars.first ?? " "
            let v = scalar.value
            let unspaced = (0x3040...0x30FF).contains(v) || (0x3400...0x9FFF).contains(v) || (0xAC00...0xD7AF).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0x0E00...0x0E7F).contains(v)
            let at = i
            i += len
            longest = max(longest, at - runStart)
            runStart = i
            if unspaced {
                cut(utf8, &start, &ascii, at, visit)
                start = at
                ascii = false
                prev = 0
                cut(utf8, &start, &ascii, at + len, visit)
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                if start < 0 { start = at }
                ascii = false
                prev = 4
            } else {
                prev = 0
                cut(utf8, &start, &ascii, at, visit)
            }
        }
        return i
    }

    /// The open word, if any, ended at the end of the text; the longest run.
    @inline(__always) static func finish(_ utf8: UnsafeBufferPointer<UInt8>, _ state: inout CutState, _ visit: (UInt64, Int, Int) -> Void) -> Int {
        if state.open >= 0 {
            state.longest = max(state.longest, utf8.count - state.runStart)
            cut(utf8, &state.open, &state.ascii, utf8.count, visit)
        }
        return state.longest
    }

    /// `scan` of a text, the same words cut the same way as byte by byte (`scanBytes`), found block by block: the small
    /// letters, capitals, digits and spaces of 64 bytes as a bit each, from which the words' starts (after a byte that is
    /// no letter or digit, at a capital after a small letter, and at the last capital of a run that a small letter
    /// follows) and ends (at a byte that is no letter or digit) are read with a few operations per block, instead of a
    /// test or two per byte. A block that holds bytes outside ASCII is cut byte by byte.
    @inline(__always) static func scanBlocks(_ u: UnsafeBufferPointer<UInt8>, marking marks: inout ByteSet, outsideASCII: inout Bool,
                                             _ visit: (UInt64, Int, Int) -> Void) -> Int {
        let n = u.count
        var state = CutState()
        var base = 0
        while base < n {
            let count = min(64, n - base)
            let c = classes(u, base, count)
            let small = c.small, capital = c.capital, digit = c.digit, space = c.space
            if c.high != 0 {
                // Byte by byte, from where the run of letters and digits stands (after the last byte that is none, when
                // no word is open).
                if state.open < 0 { state.runStart = base }
                base = scanBytes(u, from: base, to: base + count, &state, marking: &marks, outsideASCII: &outsideASCII, visit)
                continue
            }
            let valid: UInt64 = count == 64 ? ~0 : (1 << UInt64(count)) - 1
            let word = small | capital | digit, other = valid & ~word
            if space != 0 { marks.insert(0x20) }
            var rest = other & ~space
            while rest != 0 { marks.insert(u[base + rest.trailingZeroBitCount]); rest &= rest - 1 }
            // The byte before each (for the first, the byte before the block: a letter outside ASCII is in a word) and
            // after each (for the last, the first byte after the block).
            let wordBefore = word << 1 | (state.prev != 0 ? 1 : 0)
            let smallBefore = small << 1 | (state.prev == 1 ? 1 : 0), capitalBefore = capital << 1 | (state.prev == 2 ? 1 : 0)
            let smallAfter = small >> 1 | (base + count < n && u[base + count] &- 0x61 < 26 ? 1 << UInt64(count - 1) : 0)
            let runStarts = word & ~wordBefore
            let starts = runStarts | capital & (smallBefore | capitalBefore & smallAfter)
            let ends = other & wordBefore
            var events = starts | ends
            while events != 0 {
                let j = events.trailingZeroBitCount
                let bit: UInt64 = 1 << UInt64(j)
                events &= events - 1
                let at = base + j
                cut(u, &state.open, &state.ascii, at, visit)
                if ends & bit != 0 {
                    state.longest = max(state.longest, at - state.runStart)
                } else {
                    state.open = at
                    if runStarts & bit != 0 { state.runStart = at }
                }
            }
            let last: UInt64 = 1 << UInt64(count - 1)
            state.prev = small & last != 0 ? 1 : capital & last != 0 ? 2 : digit & last != 0 ? 3 : 0
            base += count
        }
        return finish(u, &state, visit)
    }

    /// The byte classes (`ct_classify64`, a bit each) of the `count` bytes of a text from `base`: 64, or the last bytes
    /// of the text, which are copied into zeros first (a zero is in no class), since 64 bytes from there would read
    /// past the text.
    @inline(__always) static func classes(_ u: UnsafeBufferPointer<UInt8>, _ base: Int, _ count: Int) -> ct_classes {
        if count == 64 { return ct_classify64(u.baseAddress! + base) }
        var block = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &block) { room in
            room.baseAddress!.copyMemory(from: u.baseAddress! + base, byteCount: count)
            return ct_classify64(room.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Hands the open word, if any, ending at `end` to `visit`, and closes it.
    @inline(__always) static func cut(_ utf8: UnsafeBufferPointer<UInt8>, _ start: inout Int, _ ascii: inout Bool, _ end: Int,
                                      _ visit: (UInt64, Int, Int) -> Void) {
        guard start >= 0 else { return }
        visit(ascii ? asciiStemHash(utf8, start, end) : otherStemHash(utf8, start, end), start, end)
        start = -1
        ascii = true
    }

    /// The stem hash (`hash`) of an ASCII word: its stem is a prefix of the lower-cased word (and perhaps a `y` or an `e`),
    /// read from the text eight bytes at a time and lower-cased in place.
    @inline(__always) static func asciiStemHash(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        let count = end - start
        // The word's first eight bytes, read once: a word that fits in them (most words) is stemmed there.
        let first = loweredChunk(text, start, min(8, count))
        // Most words' stems are settled by their last two letters (`Stemmer.plainStem`), without calling the stemmer.
        var plain: Int? = count
        if count > 3 {
            let last = count <= 8 ? UInt8(truncatingIfNeeded: first &>> UInt64(8 &* (count &- 1))) : lowerASCII(text[end - 1])
            let before = count <= 8 ? UInt8(truncatingIfNeeded: first &>> UInt64(8 &* (count &- 2))) : lowerASCII(text[end - 2])
            plain = Stemmer.plainStem(count, last: last, before: before)
        }
        let (length, extra) = plain.map { ($0, UInt8(0)) }
            ?? (count <= 8 ? Stemmer.stemLength(count) { UInt8(truncatingIfNeeded: first >> UInt64(8 * $0)) }
                : Stemmer.stemLength(count) { lowerASCII(text[start + $0]) })
        var h = hashSeed
        var c = 0
        var extraIn = extra == 0
        while c < length {
            let take = min(8, length - c)
            var chunk = c == 0 ? first : loweredChunk(text, start + c, take)
            if take < 8 {
                chunk &= (1 << UInt64(8 * take)) - 1
                if !extraIn { chunk |= UInt64(extra) << UInt64(8 * take); extraIn = true }
            }
            h = mix(h, chunk)
            c += 8
        }
        if !extraIn { h = mix(h, UInt64(extra)) }
        return finish(h, length + (extra == 0 ? 0 : 1))
    }

    /// `take` bytes (1 to 8) of `text` from `at`, little-endian in one word (the rest zero).
    @inline(__always) static func chunk(_ text: UnsafeBufferPointer<UInt8>, _ at: Int, _ take: Int) -> UInt64 {
        var chunk: UInt64 = 0
        if at + 8 <= text.count {
            chunk = UnsafeRawPointer(text.baseAddress! + at).loadUnaligned(as: UInt64.self)
            if take < 8 { chunk &= (1 << UInt64(8 * take)) - 1 }
        } else {
            for j in 0..<take { chunk |= UInt64(text[at + j]) << UInt64(8 * j) }
        }
        return chunk
    }

    /// `chunk`, its capitals lower-cased (a capital takes 0x20).
    @inline(__always) static func loweredChunk(_ text: UnsafeBufferPointer<UInt8>, _ at: Int, _ take: Int) -> UInt64 {
        let chunk = chunk(text, at, take)
        return chunk | asciiBytes(chunk, from: 0x41, to: 0x5A) >> 2
    }

    /// The stem hash of a word with letters outside ASCII (lower-cased and stemmed as a string).
    static func otherStemHash(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        hash(Stemmer.stem(String(decoding: UnsafeBufferPointer(rebasing: text[start..<end]), as: UTF8.self).lowercased()).utf8)
    }

    /// Lower case and stem in one pass for ASCII words; other words go through String.
    static func stemmed(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return Stemmer.stem(String(decoding: bytes, as: UTF8.self).lowercased()) }
        // Lower-cased into room on the stack, and stemmed there.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count + 1) { word in
            for k in bytes.indices { word[k] = lowerASCII(bytes[k]) }
            return Stemmer.stem(word, count: bytes.count)
        }
    }

    /// The lead of a description: its first sentence, or its first 300 characters (scanned as bytes).
    static func firstSentence(_ text: String) -> String {
        let u = Array(text.utf8)
        let r = u.withUnsafeBufferPointer { firstSentence($0) }
        return String(decoding: u[r], as: UTF8.self)
    }

    /// Where the lead ends in `text`'s UTF-8, counted as the description field always counted it: the lead's length
    /// after the leading white space that a `Character` calls white space. Read in place, without copies.
    static func leadEnd(_ text: String) -> Int {
        var copy = text
        let fast: Int? = copy.withUTF8 { u in
            let r = firstSentence(u)
            // Leading white space of ASCII bytes followed by an ASCII byte that is not white space (or by nothing) is
            // the same as whole characters of white space; a vertical tab, a form feed or other bytes leave it to them.
            guard r.lowerBound == u.count || (u[r.lowerBound] < 0x80 && u[r.lowerBound] != 0x0B && u[r.lowerBound] != 0x0C) else { return nil }
            return r.upperBound
        }
        if let fast { return fast }
        return text.utf8.count - text.drop(while: { $0.isWhitespace }).utf8.count + firstSentence(text).utf8.count
    }

    /// The byte range of the lead: its first sentence, or its first 300 characters.
    static func firstSentence(_ u: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var i = 0
        while i < u.count, u[i] == 0x20 || u[i] == 0x0A || u[i] == 0x0D || u[i] == 0x09 { i += 1 }
        let begin = i
        var end = u.count
        var chars = 0
        while i < u.count {
            // Eight ASCII bytes at a time while none can end the lead (a line break, `.`, `!` or `?`) and the 300th
            // character is not among them.
            while i + 8 <= u.count && chars + 8 <= 300 {
                let x = UnsafeRawPointer(u.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if x & 0x8080_8080_8080_8080 != 0 { break }
                if asciiBytes(x, from: 0x0A, to: 0x0A) | asciiBytes(x, from: 0x21, to: 0x21) | asciiBytes(x, from: 0x2E, to: 0x2E)
                    | asciiBytes(x, from: 0x3F, to: 0x3F) != 0 { break }
                chars += 8
                i += 8
            }
            if i == u.count { break }
            let b = u[i]
            if b == 0x0A, i + 1 < u.count, u[i + 1] == 0x0A || chars > 40 { end = i; break }
            if b == 0x2E || b == 0x21 || b == 0x3F {
                if i + 1 == u.count || u[i + 1] == 0x20 || u[i + 1] == 0x0A || u[i + 1] == 0x0D || u[i + 1] == 0x09,
                   b != 0x2E || !Summary.closesAbbreviation(u, at: i) { end = i + 1; break }
            }
            // 。 (E3 80 82) ends a sentence too.
            if b == 0xE3, i + 2 < u.count, u[i + 1] == 0x80, u[i + 2] == 0x82 { end = i + 3; break }
            if b & 0xC0 != 0x80 { chars += 1 }
            if chars > 300 { end = i; break }
            i += 1
        }
        return begin..<end
    }
}

/// A small symmetric stemmer: rule words and definition words go through the same function, so
/// `delete`, `deletes`, `deleted` and `deleting` meet. Only suffixes, no dictionary.
enum Stemmer {
    static func stem(_ w: String) -> String {
        // A word outside ASCII is its own stem: told without copying it.
        guard w.utf8.count > 3, w.utf8.allSatisfy({ $0 < 0x80 }) else { return w }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: w.utf8.count + 1) { word in
            _ = word.initialize(from: w.utf8)
            return stem(word, count: w.utf8.count)
        }
    }

    /// The stem, as a string, of the `count` lower-case ASCII bytes that open `word` (which has room for one more): the
    /// stem is a prefix of the word, and perhaps one more letter.
    static func stem(_ word: UnsafeMutableBufferPointer<UInt8>, count: Int) -> String {
        var n = count
        if n > 3 {
            let (length, extra) = stemLength(n) { word[$0] }
            n = length
            if extra != 0 { word[n] = extra; n += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: word[..<n]), as: UTF8.self)
    }

    /// The stem's length (and no added letter) of a word of four bytes or more whose last two bytes, lower case, settle
    /// it; nil when the stemmer must look further. Every ending the stemmer takes off ends in d, e, g or s: a word ending
    /// otherwise is its own stem, one ending in e only loses the e (from five bytes on), in d or g it is -ed or -ing or
    /// nothing, -ss, -us and -is are kept whole, and a plural whose letter before the s ends no ending loses the s alone.
    @inline(__always) static func plainStem(_ count: Int, last: UInt8, before: UInt8) -> Int? {
        switch last {
        case 0x65: return count > 4 ? count - 1 : count
        case 0x64: return before == 0x65 ? nil : count
        case 0x67: return before == 0x6E ? nil : count
        case 0x73:
            // -ss, -us and -is keep their s (and end no other ending); -es, -ds and -gs may be -ies, -sses, -eds, -ings.
            switch before {
            case 0x73, 0x75, 0x69: return count
            case 0x65, 0x64, 0x67: return nil
            default: return count - 1
            }
        default: return count
        }
    }

    /// The stem of the `n` lower-case ASCII bytes `at` gives: always the word's first `length` bytes, then the byte
    /// `extra` unless it is 0 (`y` for `-ies`, `e` for a short stem that lost it: `noted`, `coding`). Nothing is copied,
    /// so the tokenizer can hash a stem straight from the text.
    /// A stem is never cut below three letters, and a three-letter stem keeps a final `e` (`note`, `code`, `make`), so
    /// that `note` and `not`, or `cute` and `cut`, stay apart; `add` keeps its double letter (`added` is `add`).
    @inline(__always) static func stemLength(_ count: Int, _ at: (Int) -> UInt8) -> (length: Int, extra: UInt8) {
        var n = count
        @inline(__always) func ends(_ a: UInt8) -> Bool { n > 1 && at(n - 1) == a }
        @inline(__always) func ends(_ a: UInt8, _ b: UInt8) -> Bool { n > 2 && at(n - 2) == a && at(n - 1) == b }
        @inline(__always) func ends(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool { n > 3 && at(n - 3) == a && at(n - 2) == b && at(n - 1) == c }
        @inline(__always) func undouble() -> Bool {
            if n > 3, at(n - 1) == at(n - 2), at(n - 1) != 0x6C, at(n - 1) != 0x73, at(n - 1) != 0x7A { n -= 1; return true }
            return false
        }
        @inline(__always) func vowel(_ b: UInt8) -> Bool { b == 0x61 || b == e || b == i || b == 0x6F || b == u }
        let e: UInt8 = 0x65, i: UInt8 = 0x69, d: UInt8 = 0x64, g: UInt8 = 0x67, nn: UInt8 = 0x6E, u: UInt8 = 0x75
        let S: UInt8 = 0x73
        // `-ies` becomes `-y`, and a word ending in y takes no other suffix off.
        if n > 4 && ends(i, e, S) { return (n - 3, 0x79) }
        if n > 4 && at(n - 4) == S && ends(S, e, S) { n -= 2 }
        else if ends(S) && !ends(S, S) && !ends(u, S) && !ends(i, S) { n -= 1 }
        var cut = false, doubled = false
        if n > 5 && ends(i, nn, g) { n -= 3; cut = true; doubled = undouble() }
        else if n > 4 && ends(e, d) && !ends(e, e, d) { n -= 2; cut = true; doubled = undouble() }
        if cut {
            // A consonant, a vowel and a consonant left of `-ed` or `-ing` had an `e` (`noted`, `coding`); not when the
            // consonant was doubled (`tagged`) or is w, x or y (`fixed`).
            if n == 3, !doubled, !vowel(at(0)), vowel(at(1)) || at(1) == 0x79, !vowel(at(2)), at(2) != 0x77, at(2) != 0x78, at(2) != 0x79 {
                return (3, e)
            }
        } else if n > 4, at(n - 1) == e {
            n -= 1
        }
        return (n, 0)
    }
}
