import AtlasModel

/// Tests that the conditions of a list of rules cannot hold without, run for every rule of the list on every definition
/// before any rule is evaluated: most rules are ruled out here, by a few look-ups in flat tables, without the cost of
/// calling into a rule and reading its conditions (each a boxed value to retain and release).
///
/// A rule passes when every test of its `when` conditions passes and, if it has `any` groups, every test of one group
/// passes. Each test is necessary, never sufficient: a rule that passes is then evaluated, and within it every `any` or
/// `unless` group whose tests fail is passed over (it cannot hold, so the first group that holds is the same).
struct Screens: @unchecked Sendable {
    /// What a test reads.
    enum Kind: UInt8 {
        /// The definition holds a word of a sparse set (`sparse[start..<start + count]`, index and bits in turn).
        case words
        /// One of the name's action words (`nameVerb`) is in a dense set at `dense[start...]`.
        case nameAction
        /// The lead's verb (`leadVerb`) is in a dense set at `dense[start...]`.
        case leadVerb
        /// The last word of the name (`nameLast`) is in a dense set at `dense[start...]`.
        case last
        /// The category decided is one of those in the mask `start` (bit by category's position).
        case category
        /// One of some phrases has every word in one of the fields of `fields` (a mask of field slots), and each pair of
        /// its words side by side somewhere in the definition (`WordPairs`). The phrases are found by their rarest word:
        /// `count` entries of `phraseKeys` from `start`, each a word of the vocabulary's numbers (a block of 64 and its
        /// bits) with, for each bit in order, a range of `phrases` (at `phraseRanges[base...]`) holding the phrases whose
        /// rarest word it is, each its number of words then the words in order. Only the phrases whose rarest word the
        /// definition holds are read.
        case phrases
        /// The definition's flag `start` (`Features.Flag`) is set (`count` 1) or clear (`count` 0).
        case flag
        /// The definition's longest run of letters and digits is at least `start` long.
        case run
        /// In one of the fields of `fields`, every one of `count` groups (at `byteGroups[start...]`) has a literal whose
        /// punctuation (`ByteSet.punctuation(of:)`) the field holds: a literal cannot occur in a text without its
        /// punctuation, nor a pattern match without one literal of each group it requires.
        case bytes
        /// In one of the fields of `fields`, a run of white space is as long as one of some literals of white space only
        /// needs: of spaces, tabs or any white space as long as `blankNeeds[start]` says (`Blanks`, as thresholds).
        case blank
    }

    struct Test { var kind: Kind; var start: Int32; var count: Int32; var fields: UInt16 = 0 }

    /// Rarest words of phrases (`Kind.phrases`): a block of 64 vocabulary numbers, those of it that are keys, and where
    /// the ranges of their phrases start in `phraseRanges`.
    struct PhraseKey { var block: Int32; var bits: UInt64; var base: Int32 }

    /// What the `bytes` and `blank` tests read of a field: the ASCII punctuation it holds, and its runs of white space.
    struct FieldBytes { var punctuation = ByteSet(); var blanks = Blanks(narrow: 0) }

    /// The tests' tables (see `Builder`), in memory of their own once built.
    private let tables: Storage

    /// A rule's groups of tests (ranges of `groups`), and where the bits of its `any` groups start in a rule mask (-1: it
    /// has none, and each group is tested).
    struct Entry { var when: Int32, firstGroup: Int32, groupCount: Int32, cheapUnless: Int32, costlyUnless: Int32, groupBits: Int32 = -1 }

    /// Rules with this many `any` groups or more have a bit for each in the index, so that only the groups whose key holds
    /// are tested.
    static let groupBitsFrom = 2

    /// What a rule's key test reads, for the index of keys.
    enum Key: Int, CaseIterable { case word, action, lead, last }

    /// The bit of a category in a `category` test's mask (no bit for none).
    static func mask(_ category: AtlasModel.Category?) -> Int32 {
        category.map { 1 << Int32(AtlasModel.Category.allCases.firstIndex(of: $0)!) } ?? 0
    }

    init(_ compiled: [CompiledRule], vocabularySize size: Int, rarity: (Int32) -> Int, literal: (Int32) -> [UInt8]) {
        tables = Storage(Builder(compiled, vocabularySize: size, rarity: rarity, literal: literal))
    }

    /// The built tables copied once into memory that is read in place, so that screening a definition takes no closure
    /// per table (and no retain of one); freed with the classifier.
    fileprivate final class Storage: @unchecked Sendable {
        let rules: UnsafeBufferPointer<Entry>
        let groups: UnsafeBufferPointer<(start: Int32, count: Int32)>
        let tests: UnsafeBufferPointer<Test>
        let sparse: UnsafeBufferPointer<UInt64>
        let dense: UnsafeBufferPointer<UInt64>
        let phrases: UnsafeBufferPointer<Int32>
        let phraseKeys: UnsafeBufferPointer<PhraseKey>
        let phraseRanges: UnsafeBufferPointer<(start: Int32, end: Int32)>
        let keys: UnsafeBufferPointer<UInt64>
        /// The words that key some rule of the list by themselves (a bit per vocabulary word): the definition's other
        /// words add nothing to the rules to test.
        let keyWords: UnsafeBufferPointer<UInt64>
        let keyPairs: UnsafeBufferPointer<UInt64>
        let pairRank: UnsafeBufferPointer<Int32>
        let pairRows: UnsafeBufferPointer<UInt64>
        let always: UnsafeBufferPointer<UInt64>
        let byteGroups: UnsafeBufferPointer<(start: Int32, count: Int32)>
        let byteSets: UnsafeBufferPointer<ByteSet>
        let blankNeeds: UnsafeBufferPointer<Blanks>
        /// Words of a rule mask (and those of them that hold the rules' own bits), and the vocabulary's size rounded up to
        /// whole words (a row of `keys` per word).
        let maskWords: Int
        let ruleWords: Int
        let vocabularySize: Int

        init(_ b: Builder) {
            rules = Storage.copy(b.rules); groups = Storage.copy(b.groups); tests = Storage.copy(b.tests)
            sparse = Storage.copy(b.sparse); dense = Storage.copy(b.dense); phrases = Storage.copy(b.phrases)
            phraseKeys = Storage.copy(b.phraseKeys); phraseRanges = Storage.copy(b.phraseRanges)
            keys = Storage.copy(b.keys); always = Storage.copy(b.always); keyWords = Storage.copy(b.keyWords)
            keyPairs = Storage.copy(b.keyPairs); pairRank = Storage.copy(b.pairRank); pairRows = Storage.copy(b.pairRows)
            byteGroups = Storage.copy(b.byteGroups); byteSets = Storage.copy(b.byteSets); blankNeeds = Storage.copy(b.blankNeeds)
            maskWords = b.maskWords; ruleWords = b.ruleWords; vocabularySize = b.vocabularySize
        }

        deinit {
            Storage.free(rules); Storage.free(groups); Storage.free(tests); Storage.free(sparse); Storage.free(dense)
            Storage.free(phrases); Storage.free(phraseKeys); Storage.free(phraseRanges); Storage.free(keys); Storage.free(always)
            Storage.free(byteGroups); Storage.free(byteSets); Storage.free(keyWords); Storage.free(blankNeeds)
            Storage.free(keyPairs); Storage.free(pairRank); Storage.free(pairRows)
        }

        /// Plain values (no references): freeing their memory is all that deinitializing them takes.
        private static func free<T>(_ b: UnsafeBufferPointer<T>) { b.baseAddress!.deallocate() }

        private static func copy<T>(_ a: [T]) -> UnsafeBufferPointer<T> {
            let p = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, a.count))
            _ = p.initialize(from: a)
            return UnsafeBufferPointer(rebasing: p[..<a.count])
        }
    }

    /// The tables as they are built, rule by rule; `Storage` keeps them once built.
    fileprivate struct Builder {
        var sparse: [UInt64] = []
        var phrases: [Int32] = []
        var phraseKeys: [PhraseKey] = []
        var phraseRanges: [(start: Int32, end: Int32)] = []
        var byteGroups: [(start: Int32, count: Int32)] = []
        var byteSets: [ByteSet] = []
        var blankNeeds: [Blanks] = []
        var dense: [UInt64] = []
        let stride: Int
        var tests: [Test] = []
        /// Per rule: its `when` tests, then its `any` groups, then its cheap and its costly `unless` groups (each a range of
        /// tests), as ranges of `groups`.
        var groups: [(start: Int32, count: Int32)] = []
        var rules: [Entry] = []
        /// The index of keys: for each key kind and vocabulary word, the rules (a bit each) keyed on that word, so that the
        /// rules a definition may fire are found from its words instead of by testing every rule (pairs of words side by
        /// side have rows of their own, `pairRows`). A rule's key comes from one of the tests of its `when` group (or one per
        /// `any` group), the one likely to hold least often; a rule without one is in `always`. The `any` groups of a rule
        /// with `groupBitsFrom` or more have bits of their own after the rules', each set through its group's key.
        var keys: [UInt64] = []
        var keyWords: [UInt64] = []
        /// The pairs of words side by side (`WordPairs` bits) that key some rule; for each block of 64, how many key pairs
        /// come before it; and each key pair's row of rules, in the order of the bits.
        var keyPairs = [UInt64](repeating: 0, count: WordPairs.words)
        var pairRank = [Int32](repeating: 0, count: WordPairs.words)
        var pairRows: [UInt64] = []
        var always: [UInt64] = []
        /// Words of a rule mask, and those of them that hold the rules' own bits.
        var maskWords = 1
        var ruleWords = 1
        var vocabularySize = 0

        init(_ compiled: [CompiledRule], vocabularySize size: Int, rarity: (Int32) -> Int, literal: (Int32) -> [UInt8]) {
            stride = max(1, (size + 63) / 64)
            for r in compiled {
                let when = Int32(groups.count)
                groups.append(addTests(r.when, size: size, rarity: rarity, literal: literal))
                let first = Int32(groups.count)
                for g in r.any { groups.append(addTests(g, size: size, rarity: rarity, literal: literal)) }
                let cheap = Int32(groups.count)
                for g in r.cheapUnless { groups.append(addTests(g, size: size, rarity: rarity, literal: literal)) }
                let costly = Int32(groups.count)
                for g in r.costlyUnless { groups.append(addTests(g, size: size, rarity: rarity, literal: literal)) }
                rules.append(Entry(when: when, firstGroup: first, groupCount: Int32(r.any.count), cheapUnless: cheap, costlyUnless: costly))
            }
            vocabularySize = stride * 64
            // A mask holds a bit per rule, then (from a word of its own) a bit per `any` group of the rules with many.
            ruleWords = max(1, (rules.count + 63) / 64)
            var next = ruleWords * 64
            for k in rules.indices where rules[k].groupCount >= Screens.groupBitsFrom {
                rules[k].groupBits = Int32(next)
                next += Int(rules[k].groupCount)
            }
            maskWords = (next + 63) / 64
            keys = Array(repeating: 0, count: Key.allCases.count * vocabularySize * maskWords)
            keyWords = Array(repeating: 0, count: stride)
            always = Array(repeating: 0, count: maskWords)
            var pairMasks: [Int: [UInt64]] = [:]
            func index(_ key: KeyChoice, bit k: Int) {
                let bit = UInt64(1) << UInt64(k & 63), word = k >> 6
                for id in key.ids {
                    keys[(key.kind.rawValue * vocabularySize + Int(id)) * maskWords + word] |= bit
                    if key.kind == .word { keyWords[Int(id) >> 6] |= 1 << UInt64(id & 63) }
                }
                for pair in key.pairs {
                    pairMasks[pair, default: Array(repeating: 0, count: maskWords)][word] |= bit
                    keyPairs[pair >> 6] |= 1 << UInt64(pair & 63)
                }
            }
            for k in rules.indices {
                let e = rules[k]
                let bit = UInt64(1) << UInt64(k & 63), word = k >> 6
                // Each group's bit, through the group's key (or always, a group without one).
                let groupKeys = (Int(e.firstGroup)..<Int(e.firstGroup + e.groupCount)).map { key(of: $0, rarity: rarity) }
                if e.groupBits >= 0 {
                    for (g, key) in groupKeys.enumerated() {
                        let b = Int(e.groupBits) + g
                        if let key { index(key, bit: b) } else { always[b >> 6] |= 1 << UInt64(b & 63) }
                    }
                }
                // The key of the `when` group, or else one key for each `any` group.
                var chosen: [KeyChoice] = []
                if let key = key(of: Int(e.when), rarity: rarity) {
                    chosen = [key]
                    // A rule the index lets through has its key's test passed, when the key is the test: the test need not
                    // run again. It is moved past the end of the group, which no longer counts it.
                    if key.exact {
                        let r = groups[Int(e.when)], last = Int(r.start + r.count) - 1
                        tests.swapAt(key.test, last)
                        groups[Int(e.when)].count -= 1
                    }
                } else if e.groupCount > 0, groupKeys.allSatisfy({ $0 != nil }) {
                    chosen = groupKeys.map { $0! }
                }
                if chosen.isEmpty { always[word] |= bit; continue }
                for key in chosen { index(key, bit: k) }
            }
            // The rows of the pairs that key some rule, in the order of their bits; each block of 64 bits with the number
            // of key pairs before it, so that a pair's row is found by counting the key pairs below it.
            var before: Int32 = 0
            for w in 0..<WordPairs.words {
                pairRank[w] = before
                before += Int32(keyPairs[w].nonzeroBitCount)
            }
            pairRows = Array(repeating: 0, count: max(1, Int(before)) * maskWords)
            for (pair, mask) in pairMasks {
                let w = pair >> 6
                let row = Int(pairRank[w]) + bitsBelow(pair & 63, in: keyPairs[w])
                for m in 0..<maskWords { pairRows[row * maskWords + m] = mask[m] }
            }
            // Within each group, the tests that read one value first and those that walk tables last: the first test
            // that fails ends the group, and a group holds only if all pass, in any order.
            for r in groups {
                tests[Int(r.start)..<Int(r.start + r.count)].sort { Builder.cost($0) < Builder.cost($1) }
            }
        }

        /// How much a test reads, in rank: a value of the definition, a word looked up in a set, a list of words, then
        /// the fields' punctuation and phrases (with their words side by side).
        private static func cost(_ t: Test) -> Int {
            switch t.kind {
            case .category, .flag, .run: 0
            case .last, .leadVerb: 1
            case .nameAction: 2
            case .words: 3 + Int(t.count) / 4
            case .blank: 40
            case .bytes: 41
            case .phrases: 50
            }
        }

        /// A rule's key for the index: words of a kind, and pairs of words side by side (`WordPairs` bits), one of which
        /// the definition must hold for test `test` to pass (`exact`: and holding one passes it).
        struct KeyChoice { var kind: Key; var ids: [Int32]; var pairs: [Int] = []; var test: Int; var exact: Bool; var cost: Int }

        /// The test of group `g` that a look-up answers and that is likely to hold least often, with its key: a test of
        /// the name's action, the lead's verb or the name's last word (one word of the definition each), a test of every
        /// word the definition holds, or a test of phrases, keyed on their words side by side (the pair with the rarest
        /// word of each phrase of several words), which few definitions hold; among them the one with the fewest keys.
        private func key(of g: Int, rarity: (Int32) -> Int) -> KeyChoice? {
            let r = groups[g]
            var best: KeyChoice? = nil
            for (i, t) in zip(Int(r.start)..., tests[Int(r.start)..<Int(r.start + r.count)]) {
                var choice = KeyChoice(kind: .word, ids: [], test: i, exact: true, cost: 0)
                switch t.kind {
                case .words:
                    for e in 0..<Int(t.count) {
                        let index = Int(sparse[Int(t.start) + 2 * e]), bits = sparse[Int(t.start) + 2 * e + 1]
                        for b in 0..<64 where bits & (1 << UInt64(b)) != 0 { choice.ids.append(Int32(index * 64 + b)) }
                    }
                    choice.cost = 16 * choice.ids.count
                case .nameAction, .leadVerb, .last:
                    choice.kind = t.kind == .nameAction ? .action : t.kind == .leadVerb ? .lead : .last
                    for w in 0..<stride where dense[Int(t.start) + w] != 0 {
                        for b in 0..<64 where dense[Int(t.start) + w] & (1 << UInt64(b)) != 0 { choice.ids.append(Int32(w * 64 + b)) }
                    }
                    choice.cost = choice.ids.count
                case .phrases:
                    choice.exact = false
                    var pairs = Set<Int>(), singles = Set<Int32>()
                    for e in Int(t.start)..<Int(t.start + t.count) {
                        let key = phraseKeys[e]
                        for b in 0..<key.bits.nonzeroBitCount {
                            let range = phraseRanges[Int(key.base) + b]
                            var at = Int(range.start)
                            while at < Int(range.end) {
                                let words = Array(phrases[(at + 1)...(at + Int(phrases[at]))])
                                at += 1 + words.count
                                if words.count == 1 { singles.insert(words[0]); continue }
                                let k = words.indices.dropLast().max { max(rarity(words[$0]), rarity(words[$0 + 1])) < max(rarity(words[$1]), rarity(words[$1 + 1])) }!
                                pairs.insert(WordPairs.bit(words[k], words[k + 1]))
                            }
                        }
                    }
                    choice.ids = singles.sorted()
                    choice.pairs = pairs.sorted()
                    choice.cost = 16 * singles.count + 2 * pairs.count
                default: continue
                }
                if best == nil || choice.cost < best!.cost { best = choice }
            }
            return best
        }

        /// The tests of a group of conditions that must all hold, appended; their range.
        private mutating func addTests(_ conditions: [Compiled], size: Int, rarity: (Int32) -> Int, literal: (Int32) -> [UInt8]) -> (start: Int32, count: Int32) {
            let start = Int32(tests.count)
            func dense(_ b: Bitset) -> Int32 {
                let at = Int32(self.dense.count)
                self.dense += b.words + Array(repeating: 0, count: stride - b.words.count)
                return at
            }
            func sparse(_ b: Bitset) {
                let entries = b.sparse
                tests.append(Test(kind: .words, start: Int32(self.sparse.count), count: Int32(entries.count)))
                for e in entries { self.sparse += [UInt64(e.index), e.bits] }
            }
            // Every word of a phrase must occur: the phrase is needed through its longest word (among equals the last: `list
            // users` through *users*), the one least likely to be present. A quick test of the whole definition's words.
            func keyWords(_ p: [[Int32]]) {
                var b = Bitset(size: size)
                for ph in p { if let key = ph.reversed().max(by: { rarity($0) < rarity($1) }) { b.insert(key) } }
                sparse(b)
            }
            // Then every word of one phrase, in the fields the condition reads (when the quick test passed).
            func phrases(_ p: [[Int32]], fields: UInt16) {
                // Each phrase grouped by its rarest word (among equals the last), the groups in the words' order; a
                // phrase keeps its own order, so that its words side by side can be looked up in pairs.
                func rarest(_ ph: [Int32]) -> Int32 { ph.enumerated().max { (rarity($0.element), $0.offset) < (rarity($1.element), $1.offset) }!.element }
                let byKey = Dictionary(grouping: p.filter { !$0.isEmpty && $0.allSatisfy { $0 >= 0 } }, by: rarest)
                let start = Int32(phraseKeys.count)
                for key in byKey.keys.sorted() {
                    let block = key >> 6, bit = UInt64(1) << UInt64(key & 63)
                    if phraseKeys.last?.block != block || phraseKeys.count == Int(start) {
                        phraseKeys.append(PhraseKey(block: block, bits: 0, base: Int32(phraseRanges.count)))
                    }
                    phraseKeys[phraseKeys.count - 1].bits |= bit
                    let from = Int32(self.phrases.count)
                    for ph in byKey[key]! { self.phrases.append(Int32(ph.count)); self.phrases += ph }
                    phraseRanges.append((from, Int32(self.phrases.count)))
                }
                tests.append(Test(kind: .phrases, start: start, count: Int32(phraseKeys.count) - start, fields: fields))
            }
            // The punctuation of literals, by group (a group holding a literal without punctuation tells nothing).
            func punctuation(_ groups: [[[UInt8]]], in kinds: [FieldKind]) {
                let sets = groups.map { $0.map(ByteSet.punctuation(of:)) }.filter { !$0.contains(where: \.isEmpty) }
                guard !sets.isEmpty else { return }
                let start = Int32(byteGroups.count)
                for g in sets {
                    byteGroups.append((Int32(byteSets.count), Int32(g.count)))
                    byteSets += g
                }
                tests.append(Test(kind: .bytes, start: start, count: Int32(sets.count), fields: kinds.reduce(0) { $0 | 1 << UInt16($1.slot) }))
            }
            for c in conditions {
                switch c {
                case .contains(let kinds, let literals, _):
                    punctuation([literals.map(\.bytes)], in: kinds)
                    if !literals.isEmpty, literals.allSatisfy({ $0.bytes.count > 1 && $0.bytes.allSatisfy(isFoldedSpace) }) {
                        // The shortest literal of spaces, of tabs and of other white space.
                        var need = Blanks.unknown
                        for l in literals {
                            let n = Int32(clamping: l.bytes.count)
                            if l.bytes.allSatisfy({ $0 == 0x20 }) { need.spaces = min(need.spaces, n) }
                            else if l.bytes.allSatisfy({ $0 == 0x09 }) { need.tabs = min(need.tabs, n) }
                            else { need.any = min(need.any, n) }
                        }
                        tests.append(Test(kind: .blank, start: Int32(blankNeeds.count), count: 0, fields: kinds.reduce(0) { $0 | 1 << UInt16($1.slot) }))
                        blankNeeds.append(need)
                    }
                case .regex(let kinds, _, let requires, _, _, _): punctuation(requires.map { $0.map(literal) }, in: kinds)
                case .nameVerb(let b): tests.append(Test(kind: .nameAction, start: dense(b), count: 0))
                case .leadVerb(let b): tests.append(Test(kind: .leadVerb, start: dense(b), count: 0))
                case .nonASCII(let want): tests.append(Test(kind: .flag, start: Features.Flag.nonASCII.rawValue, count: want ? 1 : 0))
                case .unusable(let want): tests.append(Test(kind: .flag, start: Features.Flag.unusable.rawValue, count: want ? 1 : 0))
                case .noParams(let want): tests.append(Test(kind: .flag, start: Features.Flag.noParams.rawValue, count: want ? 1 : 0))
                case .longToken(let n): tests.append(Test(kind: .run, start: Int32(clamping: n), count: 0))
                case .nameLast(let b): tests.append(Test(kind: .last, start: dense(b), count: 0))
                case .actionOffered(var b, let phrases):
                    // A longer phrase's first word is in the choice, so in the definition's parameters.
                    for p in phrases { b.insert(p[0]) }
                    sparse(b)
                case .has(let kinds, let p, _, _):
                    keyWords(p)
                    // A field read as folded text has the words of the fields it is folded from.
                    let slots = kinds.flatMap { $0 == .normalized ? [.normalized] + Features.foldedKinds : [$0] }
                    phrases(p, fields: slots.reduce(0) { $0 | 1 << UInt16($1.slot) })
                case .near(let kinds, let a, let b, _):
                    // A word of each set, in the fields the condition reads.
                    let slots = kinds.flatMap { $0 == .normalized ? [.normalized] + Features.foldedKinds : [$0] }
                    for set in [a, b] {
                        let ids = (0..<Int32(size)).filter(set.contains).map { [$0] }
                        keyWords(ids)
                        phrases(ids, fields: slots.reduce(0) { $0 | 1 << UInt16($1.slot) })
                    }
                case .paramNamed(let p), .paramIs(let p):
                    keyWords(p)
                    phrases(p, fields: 1 << UInt16(FieldKind.params.slot))
                case .categoryIs(let cats):
                    tests.append(Test(kind: .category, start: cats.reduce(0) { $0 | Screens.mask($1) }, count: 0))
                default: break
                }
            }
            return (start, Int32(tests.count) - start)
        }
    }

    /// The tables read in place for one definition and one list: whether a rule may fire, and which of its groups of
    /// conditions may hold (a group whose tests fail is passed over by the evaluation, which would find the same).
    struct Reader {
        /// The list's tables; the rest is the definition's.
        fileprivate let s: Storage
        let present: UnsafeBufferPointer<UInt64>
        let fieldsOfWord: UnsafeBufferPointer<UInt16>
        let actions: UnsafeBufferPointer<Int32>
        let leadID: Int32
        let lastID: Int32
        let flags: UInt32
        let longestRun: Int
        let categoryBit: Int32
        let fieldBytes: UnsafeBufferPointer<FieldBytes>
        /// The definition's pairs of words side by side (`WordPairs`).
        let pairs: UnsafeBufferPointer<UInt64>
        /// The mask of the rules and groups whose keys hold, while `forEachPassing` reads it.
        var groupMask: UnsafePointer<UInt64>? = nil

        @inline(__always) func holds(_ t: Test) -> Bool {
            switch t.kind {
            case .words:
                var i = Int(t.start)
                let end = i + 2 * Int(t.count)
                while i < end {
                    let w = Int(s.sparse[i])
                    if w < present.count && present[w] & s.sparse[i + 1] != 0 { return true }
                    i += 2
                }
                return false
            case .nameAction:
                for id in actions where s.dense[Int(t.start) + Int(id) >> 6] & (1 << UInt64(id & 63)) != 0 { return true }
                return false
            case .leadVerb:
                return leadID >= 0 && s.dense[Int(t.start) + Int(leadID) >> 6] & (1 << UInt64(leadID & 63)) != 0
            case .flag:
                return (flags >> UInt32(t.start)) & 1 == UInt32(t.count)
            case .run:
                return longestRun >= Int(t.start)
            case .last:
                return lastID >= 0 && s.dense[Int(t.start) + Int(lastID) >> 6] & (1 << UInt64(lastID & 63)) != 0
            case .category:
                return t.start & categoryBit != 0
            case .bytes:
                var fields = t.fields
                fields: while fields != 0 {
                    let have = fieldBytes[fields.trailingZeroBitCount].punctuation
                    fields &= fields - 1
                    for g in Int(t.start)..<Int(t.start + t.count) {
                        let group = s.byteGroups[g]
                        var found = false
                        for i in Int(group.start)..<Int(group.start + group.count) where have.holds(s.byteSets[i]) { found = true; break }
                        if !found { continue fields }
                    }
                    return true
                }
                return false
            case .blank:
                var fields = t.fields
                let need = s.blankNeeds[Int(t.start)]
                while fields != 0 {
                    let have = fieldBytes[fields.trailingZeroBitCount].blanks
                    if have.spaces >= need.spaces || have.tabs >= need.tabs || have.any >= need.any { return true }
                    fields &= fields - 1
                }
                return false
            case .phrases:
                for e in Int(t.start)..<Int(t.start + t.count) {
                    let key = s.phraseKeys[e]
                    guard Int(key.block) < present.count else { continue }
                    var held = present[Int(key.block)] & key.bits
                    while held != 0 {
                        let bit = held.trailingZeroBitCount
                        held &= held - 1
                        let r = s.phraseRanges[Int(key.base) + bitsBelow(bit, in: key.bits)]
                        var i = Int(r.start)
                        while i < Int(r.end) {
                            let n = Int(s.phrases[i])
                            var k = 0
                            while k < n, fieldsOfWord[Int(s.phrases[i + 1 + k])] & t.fields != 0 { k += 1 }
                            // Every word is there; the words of a longer phrase must also stand side by side, pair by pair.
                            if k == n {
                                k = 1
                                while k < n {
                                    let bit = WordPairs.bit(s.phrases[i + k], s.phrases[i + 1 + k])
                                    guard pairs[bit >> 6] & (1 << UInt64(bit & 63)) != 0 else { break }
                                    k += 1
                                }
                                if k >= n { return true }
                            }
                            i += 1 + n
                        }
                    }
                }
                return false
            }
        }


        /// Calls `body` with each rule that may fire, in order: the rules whose key holds (found through the index of
        /// keys), each then tested in full.
        @inline(__always) func forEachPassing(_ body: (Int, Reader) -> Void) {
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: s.maskWords) { mask in
                for w in 0..<s.maskWords { mask[w] = s.always[w] }
                @inline(__always) func add(_ key: Screens.Key, _ id: Int) {
                    let base = (key.rawValue * s.vocabularySize + id) * s.maskWords
                    for w in 0..<s.maskWords { mask[w] |= s.keys[base + w] }
                }
                for (w, bits) in present.enumerated() {
                    var b = bits & s.keyWords[w]
                    while b != 0 { add(.word, w * 64 + b.trailingZeroBitCount); b &= b - 1 }
                }
                // The definition's pairs of words side by side that key some rule.
                for w in 0..<WordPairs.words {
                    var b = pairs[w] & s.keyPairs[w]
                    while b != 0 {
                        let row = (Int(s.pairRank[w]) + bitsBelow(b.trailingZeroBitCount, in: s.keyPairs[w])) * s.maskWords
                        for m in 0..<s.maskWords { mask[m] |= s.pairRows[row + m] }
                        b &= b - 1
                    }
                }
                for id in actions { add(.action, Int(id)) }
                if leadID >= 0 { add(.lead, Int(leadID)) }
                if lastID >= 0 { add(.last, Int(lastID)) }
                // The groups' bits are read while the mask lasts.
                var reader = self
                reader.groupMask = UnsafePointer(mask.baseAddress!)
                for w in 0..<s.ruleWords {
                    var b = mask[w]
                    while b != 0 {
                        let k = w * 64 + b.trailingZeroBitCount
                        b &= b - 1
                        if reader.mayFire(k) { body(k, reader) }
                    }
                }
            }
        }

        /// Whether every test of group `g` (an index into `s.groups`) passes.
        @inline(__always) func all(_ g: Int) -> Bool {
            let r = s.groups[g]
            for i in Int(r.start)..<Int(r.start + r.count) where !holds(s.tests[i]) { return false }
            return true
        }

        /// Whether rule `k` of the list may fire.
        func mayFire(_ k: Int) -> Bool {
            let r = s.rules[k]
            guard all(Int(r.when)) else { return false }
            if r.groupCount == 0 { return true }
            for g in 0..<Int(r.groupCount) where groupKeyHolds(r, g) && all(Int(r.firstGroup) + g) { return true }
            return false
        }

        /// Whether the key of `any` group `g` of a rule holds (true for a rule whose groups have no bits).
        @inline(__always) func groupKeyHolds(_ r: Entry, _ g: Int) -> Bool {
            guard r.groupBits >= 0, let mask = groupMask else { return true }
            let b = Int(r.groupBits) + g
            return mask[b >> 6] & (1 << UInt64(b & 63)) != 0
        }

        /// Whether the `any` group `j` of rule `k` may hold.
        @inline(__always) func anyMayHold(_ k: Int, _ j: Int) -> Bool {
            let r = s.rules[k]
            return groupKeyHolds(r, j) && all(Int(r.firstGroup) + j)
        }
        /// Whether the cheap `unless` group `j` of rule `k` may hold.
        @inline(__always) func cheapUnlessMayHold(_ k: Int, _ j: Int) -> Bool { all(Int(s.rules[k].cheapUnless) + j) }
        /// Whether the costly `unless` group `j` of rule `k` may hold.
        @inline(__always) func costlyUnlessMayHold(_ k: Int, _ j: Int) -> Bool { all(Int(s.rules[k].costlyUnless) + j) }
    }

    /// The tables read for definition `f`, with the category decided so far as its mask (made once per list, not per rule).
    func read<R>(_ f: Features, categoryBit: Int32, _ body: (Reader) -> R) -> R {
        let t = tables
        return f.actionIDs.withUnsafeBufferPointer { actions in
            f.fieldBytes.withUnsafeBufferPointer { fieldBytes in
                body(Reader(s: t, present: f.present, fieldsOfWord: f.fieldsOfWord, actions: actions, leadID: f.leadVerbID,
                            lastID: f.nameLast?.id ?? -1, flags: f.flags, longestRun: f.longestRun,
                            categoryBit: categoryBit, fieldBytes: fieldBytes, pairs: f.pairs))
            }
        }
    }
}
