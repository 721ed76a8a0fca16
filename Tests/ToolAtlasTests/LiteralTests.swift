import AtlasModel
@testable import Classifier
import CText
import Foundation
import Testing

/// The literal matcher and the literals derived from patterns: a pattern is skipped when its literals are absent, so
/// a derived literal that a match can do without would silently lose findings.
@Suite("Literals and pattern prefilters")
struct LiteralTests {
    /// A UTF-16 range as NSRegularExpression reports one.
    static func range(_ r: Range<Int>?) -> NSRange? { r.map { NSRange(location: $0.lowerBound, length: $0.count) } }

    static func strings(_ req: [[[UInt8]]]) -> [[String]] { req.map { $0.map { String(decoding: $0, as: UTF8.self) } } }

    @Test("the matcher finds every literal in one pass, overlapping ones and ASCII case included")
    func matcher() {
        var m = LiteralMatcher()
        let ids = ["he", "she", "his", "hers", "\u{200B}", "<!--"].map { m.add(Array($0.utf8)) }
        m.build()
        let found = m.scan("uSHErs a\u{200B}b")
        #expect(ids.map(found.contains) == [true, true, false, true, true, false])
        #expect(ids.map(m.scan("").contains) == [false, false, false, false, false, false])
        #expect(m.scan("x <!-- y").contains(ids[5]))
    }

    @Test("a long text read as two halves side by side finds each literal wherever it stands, across the middle too")
    func halves() {
        var m = LiteralMatcher()
        let literals = ["needle in", "ab", "the longest literal of all here", "q!", "x"]
        let ids = literals.map { m.add(Array($0.utf8)) }
        m.build()
        let filler = Array(String(repeating: "lorem ipsum dolor sit amet ", count: 12).utf8)
        for literal in literals.indices where literal != 4 {
            let bytes = Array(literals[literal].uppercased().utf8)
            for at in 0...(filler.count - bytes.count) {
                var text = filler
                text.replaceSubrange(at..<(at + bytes.count), with: bytes)
                let s = String(decoding: text, as: UTF8.self)
                let found = m.scan(s), folded = m.scanFolded([s], separator: " ")
                let lower = text.map(lowerASCII)
                for (l, id) in zip(literals, ids) {
                    let expected = Classifier.find(Array(l.utf8), in: lower)
                    #expect(found.contains(id) == expected, "\(l) with \(literals[literal]) at \(at)")
                    #expect(folded.contains(id) == expected, "folded: \(l) with \(literals[literal]) at \(at)")
                }
            }
        }
    }

    @Test("an automaton too large for 16-bit states finds what a plain search finds")
    func wideAutomaton() {
        // 4,000 literals of 12 random letters: about 40,000 states, more than 16 bits hold, so the 32-bit table is used.
        var rng = SystemRandomNumberGenerator()
        var m = LiteralMatcher()
        let literals = (0..<4000).map { _ in (0..<12).map { _ in UInt8.random(in: 0x61...0x7A, using: &rng) } }
        let ids = literals.map { m.add($0) }
        m.build()
        #expect(m.isWide)
        let text = String(decoding: literals[7] + Array(" x ".utf8) + literals[3999].map { $0 - 32 } + Array("ab".utf8), as: UTF8.self)
        let found = m.scan(text)
        let lower = Array(text.utf8).map(lowerASCII)
        for (l, id) in zip(literals, ids) {
            #expect(found.contains(id) == Classifier.find(l, in: lower), "\(String(decoding: l, as: UTF8.self))")
        }
        #expect(found.contains(ids[7]) && found.contains(ids[3999]))
    }

    @Test("a literal is found byte for byte, short ones by memchr and long ones by skipping, as a plain search finds it")
    func findLiteral() {
        var rng = SystemRandomNumberGenerator()
        func naive(_ n: [UInt8], _ h: [UInt8]) -> Bool { n.count <= h.count && (0...(h.count - n.count)).contains { Array(h[$0..<($0 + n.count)]) == n } }
        var found = 0
        for _ in 0..<400 {
            // A small alphabet (with runs of spaces) so that needles occur, almost occur and overlap.
            let hay = (0..<Int.random(in: 0...300, using: &rng)).map { _ in [0x20, 0x20, 0x61, 0x62, 0x09][Int.random(in: 0..<5, using: &rng)] as UInt8 }
            let needle: [UInt8] = Bool.random(using: &rng) && hay.count > 2
                ? Array(hay[Int.random(in: 0..<(hay.count / 2), using: &rng)...].prefix(Int.random(in: 1...40, using: &rng)))
                : (0..<Int.random(in: 1...40, using: &rng)).map { _ in [0x20, 0x61, 0x62][Int.random(in: 0..<3, using: &rng)] as UInt8 }
            let expected = naive(needle, hay)
            found += expected ? 1 : 0
            #expect(Classifier.find(needle, in: hay) == expected, "\(needle) in \(hay)")
        }
        #expect(Classifier.find(Array(repeating: 0x20, count: 30), in: Array(("a" + String(repeating: " ", count: 30) + "b").utf8)))
        #expect(!Classifier.find(Array(repeating: 0x20, count: 30), in: Array(("a" + String(repeating: " ", count: 29) + "b").utf8)))
        #expect(found > 50)
    }

    @Test("text outside ASCII folds part by part as it folds joined, and transcodes to the UTF-16 of its string")
    func foldAndTranscodeOutsideASCII() {
        let cases: [[String]] = [
            ["Ｉgnore — ﬁle\u{00A0}\u{00A0}now", "naïve ＡＢＣ"], ["𝐬𝐞𝐧𝐝 😀 to\u{200B}day", "検索 ", " é"], ["ДЕЛЕТЕ Ωmega", "\u{2003}"],
        ]
        for parts in cases {
            #expect(Normalizer.fold(parts, separator: " \n ") == Normalizer.fold(parts.joined(separator: " \n ")), "\(parts)")
            for text in parts + [Normalizer.fold(parts, separator: " ")] { #expect(Features.utf16(text) == Array(text.utf16), "\(text)") }
        }
        #expect(Normalizer.fold(["Ｓend  ＴＯ", "ﬁle"], separator: " \n ") == "send to file")
    }

    @Test("text whose words folding keeps: the folded text holds no punctuation but its own and what folding says it makes")
    func punctuationMadeByFolding() {
        func punctuation(_ t: String) -> ByteSet { t.utf8.reduce(into: ByteSet()) { if $1 < 0x80 && !ByteSet.isWordByte($1) && !isFoldedSpace($1) { $0.insert($1) } } }
        let kept = ["Wait… then — go ’s", "a ！ b （c）", "😀 ok\u{00A0}now", "plain. ascii!", "x — ＿ ＆ y"]
        for t in kept {
            guard let made = Normalizer.punctuationMade(t) else { Issue.record("\(t) keeps its words"); continue }
            #expect(punctuation(t).union(made).holds(punctuation(Normalizer.fold(t))), "\(t)")
            #expect(Tokenizer.tokens(Normalizer.fold(t)).map(\.stem) == Tokenizer.tokens(t).map(\.stem), "\(t)")
        }
        #expect(Normalizer.punctuationMade("Wait…") == ByteSet.punctuation(of: Array(".".utf8)))
        #expect(Normalizer.punctuationMade("a — b ’") == ByteSet())
        for t in ["ﬁle", "Ｉgnore", "to\u{200B}day", "ДЕЛЕТЕ", "naïve", "™", "検索"] { #expect(Normalizer.punctuationMade(t) == nil, "\(t)") }
    }

    @Test("the scalars folding copies as they are (Han, Hangul syllables, kana) are those the full mapping leaves as they are")
    func foldsToItself() {
        var checked = 0
        for v in UInt32(0x3000)...0xD7FF where Normalizer.foldsToItself(v) {
            let u = Unicode.Scalar(v)!
            #expect(Normalizer.mapping(u) == [u] && !u.properties.isWhitespace && !Normalizer.isInvisible(u) && Normalizer.confusables[u] == nil,
                    "U+\(String(v, radix: 16, uppercase: true))")
            checked += 1
        }
        #expect(checked > 38_000)
        #expect(Normalizer.fold("Ｆｉｌｅ 删除 文件 ﬁx") == "file 删除 文件 fix")
    }

    @Test("literals found while folding plain ASCII on the fly, and the text folded part by part, are those of the folded text")
    func foldedOnTheFly() {
        var m = LiteralMatcher()
        let ids = ["ignore previous", " to http", "a b", "x\ty", "  ", "send", "http", "\n"].map { m.add(Array($0.utf8)) }
        m.build()
        let cases: [[String]] = [
            ["Ignore\n\t  PREVIOUS rules", "then send"], ["  leading space", "", "  "], ["ends with a", "b starts"],
            ["x\ty", "post to\r\nhttp://e.x"], [], ["", ""], ["two  spaces", "\u{0B}\u{0C}vertical"],
        ]
        for parts in cases {
            let folded = m.scan(Normalizer.fold(parts.joined(separator: " \n ")))
            let onTheFly = m.scanFolded(parts, separator: " \n ")
            #expect(ids.map(folded.contains) == ids.map(onTheFly.contains), "\(parts)")
            #expect(Normalizer.fold(parts, separator: " \n ") == Normalizer.fold(parts.joined(separator: " \n ")), "\(parts)")
        }
    }

    @Test("the lead found eight bytes at a time ends where reading byte by byte ends it")
    func leadEightAtATime() {
        // Byte by byte: a blank line (or a line break after 40 characters), a full stop, `!` or `?` before white space or
        // the end (not a full stop that closes an abbreviation), 。, or the 300th character.
        func byByte(_ u: UnsafeBufferPointer<UInt8>) -> Range<Int> {
            var i = 0
            while i < u.count, u[i] == 0x20 || u[i] == 0x0A || u[i] == 0x0D || u[i] == 0x09 { i += 1 }
            let begin = i
            var chars = 0
            while i < u.count {
                let b = u[i]
                if b == 0x0A, i + 1 < u.count, u[i + 1] == 0x0A || chars > 40 { return begin..<i }
                if b == 0x2E || b == 0x21 || b == 0x3F,
                   i + 1 == u.count || u[i + 1] == 0x20 || u[i + 1] == 0x0A || u[i + 1] == 0x0D || u[i + 1] == 0x09,
                   b != 0x2E || !Summary.closesAbbreviation(u, at: i) { return begin..<(i + 1) }
                if b == 0xE3, i + 2 < u.count, u[i + 1] == 0x80, u[i + 2] == 0x82 { return begin..<(i + 3) }
                if b & 0xC0 != 0x80 { chars += 1 }
                if chars > 300 { return begin..<i }
                i += 1
            }
            return begin..<u.count
        }
        let alphabet = ["a", "b", " ", "x", "y", "z", "e", "t", ".", "!", "?", "\n", "é", "。", "e.g.", "A"]
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        var texts: [String] = []
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 41, 42, 299, 300, 301, 302, 309, 320, 400] {
            for _ in 0..<40 {
                var text = ""
                for _ in 0..<length {
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let pick = Int(seed >> 33)
                    // Mostly letters and spaces, so that the ends fall at every place of an eight-byte step.
                    text += alphabet[pick % 50 < 44 ? pick % 8 : 8 + pick % (alphabet.count - 8)]
                }
                texts.append(text)
            }
        }
        texts += [String(repeating: "word ", count: 80), String(repeating: "a", count: 299) + ". b", String(repeating: "ab", count: 30) + "\nx"]
        if let lines = try? String(contentsOfFile: Fixtures.handmade, encoding: .utf8) { texts += lines.split(separator: "\n").map(String.init) }
        for text in texts {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBufferPointer { m in
                let u = UnsafeBufferPointer(m)
                #expect(Tokenizer.firstSentence(u) == byByte(u), "\(text.debugDescription)")
            }
        }
    }

    @Test("the byte classes read 64 bytes at a time are those of each byte, for every byte value at every place")
    func byteClasses() {
        // Every value at every place of a block, the others drawn at random, in blocks of every length (a text's last
        // part is copied into zeros before it is read).
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        for value in 0...255 {
            for place in 0..<64 {
                var bytes = (0..<64).map { _ -> UInt8 in
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return UInt8(truncatingIfNeeded: seed >> 56)
                }
                bytes[place] = UInt8(value)
                // Up to the end of the block or short of it, the value inside.
                let count = place + 1 + value % (64 - place)
                var small: UInt64 = 0, capital: UInt64 = 0, digit: UInt64 = 0, space: UInt64 = 0, high: UInt64 = 0
                for (i, b) in bytes.prefix(count).enumerated() {
                    let bit = UInt64(1) << UInt64(i)
                    if b >= 0x61 && b <= 0x7A { small |= bit }
                    if b >= 0x41 && b <= 0x5A { capital |= bit }
                    if b >= 0x30 && b <= 0x39 { digit |= bit }
                    if b == 0x20 { space |= bit }
                    if b >= 0x80 { high |= bit }
                }
                let c = bytes.withUnsafeBufferPointer { Tokenizer.classes($0, 0, count) }
                #expect(c.small == small && c.capital == capital && c.digit == digit && c.space == space && c.high == high,
                        "byte \(value) at \(place), \(count) bytes")
            }
        }
    }

    @Test("text cut block by block gives the words, marks and longest run that cutting it byte by byte gives")
    func blockTokenizer() {
        // Texts of every length around the 64-byte blocks, from an alphabet of what the cuts tell apart: small letters,
        // capitals, digits, spaces, punctuation, letters outside ASCII, characters of scripts written without spaces, and
        // characters outside ASCII that are no letters (a capital run followed by a small letter across a block's edge,
        // a character across it); and lines of the hand-made set and (where present) of the corpus.
        var texts = ["", "a", "A", "aB", "ABc", "HTTPServer", "x" + String(repeating: "AB", count: 40) + "c", String(repeating: "ab ", count: 30),
                     String(repeating: "a", count: 63) + "é" + "b", String(repeating: "a", count: 62) + "検索", String(repeating: "Ab", count: 40) + "—x"]
        let alphabet = ["a", "A", "b", "B", "z", "Z", "0", "9", " ", "_", "-", ".", "\n", "\t", ":", "/", "é", "É", "検", "ก", "—", "\u{200B}", "😀"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in [1, 2, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200] {
            for plain in [true, false] {
                for _ in 0..<30 {
                    var text = ""
                    for _ in 0..<length {
                        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        let pick = Int(seed >> 33)
                        // Mostly ASCII, as real texts are.
                        text += alphabet[plain || pick % 8 != 0 ? pick % 16 : 16 + pick % (alphabet.count - 16)]
                    }
                    texts.append(text)
                }
            }
        }
        for file in [Fixtures.handmade, Fixtures.corpus] {
            guard let lines = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            texts += lines.split(separator: "\n").prefix(800).map(String.init)
        }
        for text in texts {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBufferPointer { m in
                let u = UnsafeBufferPointer(m)
                var blockMarks = ByteSet(), byteMarks = ByteSet(), blockOutside = false, byteOutside = false
                var blockWords: [[UInt64]] = [], byteWords: [[UInt64]] = []
                let blockRun = Tokenizer.scanBlocks(u, marking: &blockMarks, outsideASCII: &blockOutside) { h, a, b in blockWords.append([h, UInt64(a), UInt64(b)]) }
                var state = Tokenizer.CutState()
                _ = Tokenizer.scanBytes(u, from: 0, to: u.count, &state, marking: &byteMarks, outsideASCII: &byteOutside) { h, a, b in byteWords.append([h, UInt64(a), UInt64(b)]) }
                let byteRun = Tokenizer.finish(u, &state) { h, a, b in byteWords.append([h, UInt64(a), UInt64(b)]) }
                #expect(blockWords == byteWords, "\(text.debugDescription)")
                #expect(blockMarks == byteMarks && blockRun == byteRun && blockOutside == byteOutside, "\(text.debugDescription)")
            }
        }
    }

    @Test("the tokenizer cuts words of every naming style and measures the longest run of letters and digits")
    func tokenizer() {
        #expect(Tokenizer.tokens("getHTTPServer_list2 files-deleted").map(\.stem) == ["get", "http", "server", "list2", "file", "delet"])
        // Short stems keep what tells them apart: `note` is not `not`, `added` is `add`, `coding` is `code`, `tagged` is `tag`.
        #expect(Tokenizer.tokens("not notes noted noting note").map(\.stem) == ["not", "note", "note", "note", "note"])
        #expect(Tokenizer.tokens("add added adding codes coding coded tagged fixed hoped hopping").map(\.stem)
                == ["add", "add", "add", "code", "code", "code", "tag", "fix", "hope", "hop"])
        #expect(Tokenizer.tokens("déjà vu, 検索").map(\.stem) == ["déjà", "vu", "検", "索"])
        // A word cut by its capitals is also found whole by a one-word phrase, and quoted whole.
        var vocab = Vocabulary()
        let js = vocab.add("javascript"), pg = vocab.add("postgresql"), java = vocab.add("java")
        let field = Field(name: "description", text: "Runs JavaScript or PostgreSQL, not Java-Script.", vocabulary: vocab)
        #expect(field.find([js]).map(field.quote) == "JavaScript")
        #expect(field.find([pg]).map(field.quote) == "PostgreSQL")
        #expect(field.find([java]).map(field.quote) == "Java")
        #expect(Field(name: "d", text: "Java-Script only", vocabulary: vocab).find([js]) == nil)
        #expect(Tokenizer.tokens("a\u{200B}b").map { [$0.start, $0.end] } == [[0, 1], [4, 5]])
        // The longest runs of spaces, tabs and any white space: a gap between words narrower than eight bytes counts whole
        // for each (never less than a run it holds); a wider one (or before the first word, or after the last) is measured.
        let sp = String(repeating: " ", count: 30), tab = String(repeating: "\t", count: 9)
        for (text, runs) in [("", [0, 0, 0]), ("ab", [0, 0, 0]), ("ab   cd\t\t\t\t\tx", [5, 5, 5]), ("     ", [5, 5, 5]), ("  ab", [2, 2, 2]),
                             ("ab.  ", [3, 3, 3]), ("a, \n b", [4, 4, 4]), ("a\u{200B}b", [3, 3, 3]),
                             ("a" + sp + "b", [30, 0, 30]), (sp, [30, 0, 30]), ("a\n" + tab + "b. c", [2, 9, 10]), ("a -- " + tab + sp, [30, 9, 40]),
                             ("a.\t\t\t\t \t\t\t\t", [1, 4, 9]), ("ab, cd" + sp, [30, 2, 30]), ("\t\t\t\t\t\t\t\t\tab" + sp + "c d", [30, 9, 30])] {
            let b = Field(name: "d", text: text, vocabulary: vocab).blanks
            #expect([b.spaces, b.tabs, b.any].map(Int.init) == runs, "\(text.debugDescription)")
        }
        let texts = ["", "abc", "ab-cd", "camelCaseWordsStayOneRun12", "x é yyyy", "QUJD" + String(repeating: "QUJD", count: 10) + "=", "a__b", "ab検cd"]
        for t in texts {
            var longest = 0
            while Classifier.firstRun(in: t, of: Classifier.letterOrDigit, length: longest + 1) != nil { longest += 1 }
            #expect(Tokenizer.scan(t) { _, _, _ in } == longest, "\(t)")
        }
    }

    @Test("literals are derived from sequences, alternatives, optional parts and classes")
    func derived() {
        #expect(Self.strings(RegexRequirement.of("<\\s*/?\\s*instructions?\\s*>", caseInsensitive: false)) == [["<"], ["instruction"], [">"]])
        #expect(Self.strings(RegexRequirement.of("ab(c|d)e", caseInsensitive: true)) == [["abce", "abde"]])
        #expect(Self.strings(RegexRequirement.of("(foo|bar\\w+)baz", caseInsensitive: false)) == [["bar", "foo"], ["baz"]])
        #expect(Self.strings(RegexRequirement.of("[\\x{200B}-\\x{200C}]", caseInsensitive: false)) == [["\u{200B}", "\u{200C}"]])
        #expect(Self.strings(RegexRequirement.of("Ab\\.C", caseInsensitive: true)) == [["ab.c"]])
        // (ab and cd) or ef: ab-or-ef, and cd-or-ef.
        #expect(Self.strings(RegexRequirement.of("ab\\s+cd|ef", caseInsensitive: false)) == [["ab", "ef"], ["cd", "ef"]])
        // Long repeats of a class are runs; an alternative of two runs needs the shorter, over both classes.
        let runs = RegexRequirement.runs("[a-f0-9]{96,}|[A-Za-z]{120,}", caseInsensitive: false)
        #expect(runs.count == 1 && runs.first?.length == 96 && runs.first?.bytes.count == 26 + 10)
        #expect(RegexRequirement.runs("x{3}", caseInsensitive: false).isEmpty)
        // Nothing is known about what may be absent, or about syntax the analysis does not read.
        #expect(RegexRequirement.of("(x|\\w+)y?", caseInsensitive: false).isEmpty)
        #expect(RegexRequirement.of("a*", caseInsensitive: false).isEmpty)
        #expect(RegexRequirement.of("(?i)abc", caseInsensitive: false).isEmpty)
        #expect(RegexRequirement.of("(a)\\1", caseInsensitive: false).isEmpty)
        #expect(RegexRequirement.of("[^a]bc", caseInsensitive: false).count == 1)
        // One character of a class with letters or digits tells nothing; one of punctuation does.
        #expect(Self.strings(RegexRequirement.of("[a-c0-9]+=[+/]", caseInsensitive: false)) == [["=+", "=/"]])
        #expect(Self.strings(RegexRequirement.of("[a-c0-9]{120,}[<>]", caseInsensitive: false)) == [["<", ">"]])
    }

    @Test("what every match starts with is derived only where the pattern says it plainly, and what it matches without an opening negative look-behind")
    func starts() {
        func starts(_ p: String) -> [String]? { RegexRequirement.starts(p, caseInsensitive: true).map { $0.map { String(decoding: $0, as: UTF8.self) } } }
        #expect(starts("\\b(never|do not)\\W+x") == ["do not", "never"])
        #expect(starts("\\bsav(e|es) to") == ["save to", "saves to"])
        #expect(starts("\\b(?:(ignore|disregard)\\W+(all\\W+)?previous)") == ["disregard", "ignore"])
        #expect(starts("(?<![a-z])abc\\d") == ["abc"])
        #expect(starts("(ab|cd\\w+)x") == ["ab", "cd"])
        #expect(starts("(ab)?cd") == ["abcd", "cd"])
        #expect(starts("(ab)?\\w+") == nil)
        #expect(starts("\\W*(ab|cd)") == nil)
        #expect(starts("x*y") == nil)
        #expect(starts("(ab|\\w+)c") == nil)
        #expect(starts("(ab){2,}c") == ["ab"])
        // One-byte starts are not used: they occur nearly everywhere.
        #expect(MatchStarts([Array("<".utf8)], of: "<") == nil)
        // Every alternative of the top level opens with a word boundary; a `|` in a group, a class or escaped divides nothing.
        for (p, opens) in [("\\b(a|b)c", true), ("\\ba|\\bb", true), ("\\b[|]x", true), ("\\b\\|x", true), ("\\b(?<!x|y)ab", true),
                           ("\\ba|b", false), ("a\\b", false), ("[\\b]a", false), ("\\b(a)|(\\bb)", false), ("\\B(a)", false),
                           // A class nests (as ICU reads it): the `|` inside `[[a]|]` divides nothing.
                           ("\\b[[a]|]x", true), ("\\b[[a]]x|y", false)] {
            #expect(RegexRequirement.opensWithBoundary(p) == opens, "\(p)")
        }
        // A pattern that opens with a negative look-behind (after `\b`, if any) is tried first without it; no other is.
        for (p, without) in [("\\b(?<!not )ab", "\\bab"), ("(?<![(a)\\]])x|y", "x|y"), ("(?<!\\)(a))ab", "ab"), ("(?<=a)b", nil),
                             ("a(?<!b)c", nil), ("(?<!a", nil), ("\\B(?<!a)b", nil),
                             // Syntax that would be read wrong: quoted text, comments, free spacing, back-references.
                             ("(?<!\\Q)\\E)ab", nil), ("(?<!a(?#)))b", nil), ("(?<!a)(?x) b # (", nil), ("(?<!a)(?ix: b # ()", nil), ("(?<!(a))(b)\\2", nil),
                             ("(?<!a)(?<n>b)\\k<n>", nil)] as [(String, String?)] {
            #expect(RegexRequirement.withoutOpeningLookbehind(p) == without, "\(p)")
        }
    }

    @Test("a pattern that is one class of caseless characters outside ASCII is looked for scalar by scalar; any other is not")
    func scalarSets() throws {
        let set = try #require(RegexRequirement.scalarSet("[\\x{200B}-\\x{200D}\\x{E0000}-\\x{E007F}]", caseInsensitive: true))
        #expect(set.first(in: "plain ascii") == nil)
        #expect(set.first(in: "déjà — vu") == nil)
        #expect(set.first(in: "a\u{200C}b\u{200B}") == "\u{200C}")
        #expect(set.first(in: "tag \u{E0041} here") == "\u{E0041}")
        // Read from the UTF-8 eight bytes at a time: a member anywhere, before or after other scalars, is the one found.
        let filler = Array("ab é cd — ef 😀 gh ij kl mn op".unicodeScalars)
        for at in 0...filler.count {
            for member: Unicode.Scalar in ["\u{200D}", "\u{E007F}"] {
                var scalars = filler
                scalars.insert(member, at: at)
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars + ["\u{200B}"])
                #expect(set.first(in: text) == member, "\(member.value) at \(at)")
            }
        }
        for p in ["[a-z]", "[\\x{200B}a]", "[é]", "[\\x{200B}]+", "[\\x{200B}]x", "[^\\x{200B}]", "x|[\\x{200B}]", "[\\x{0400}-\\x{04FF}]"] {
            #expect(RegexRequirement.scalarSet(p, caseInsensitive: true) == nil, "\(p)")
        }
    }

    @Test("a pattern tried only where its starts occur, through ICU's C API, finds the match NSRegularExpression finds in the whole text")
    func anchoredAtStarts() throws {
        let patterns = ["\\b(never|do not)\\W+(\\w+\\W+){0,3}?(tell|show)\\W+(the\\W+)?user", "^(ab|cd)x", "(?<![a-z])(ab|cd)\\b",
                        "\\bsav(e|es|ed) (\\w+ ){0,3}(to|in) /",
                        // Starts inside words (`location`, `target`, `_get`) are passed over: no word boundary precedes them.
                        "\\b(cat|get)\\w*\\s+(\\w+\\s+){0,2}?it|\\bopen\\b",
                        // Tried without its look-behind first, then whole where that matches.
                        "\\b(?<!\\bnot\\W{1,3})(get|cat)\\W+(\\w+\\W+){0,2}?it"]
        let texts = ["never tell the user", "xnever tell the user; never show user", "zz abx", "abx", "cdab ab", "xab cd", "AB",
                     String(repeating: "never ", count: 12) + "tell user", String(repeating: "do not ", count: 9) + "x", "",
                     "it saves the file to /tmp and saved it in /x", "Never  Tell the User", "ab\ncd",
                     // Outside ASCII: offsets counted in UTF-16 (an emoji is two units), and letters that fold onto ASCII.
                     "déjà vu — never tell the user", "😀 ab 😀 cd", "né ab", "ſave it to /x", "neveR tell the uſer", "\u{FB01}le: ab",
                     "location target_get it; cat it", "locate it", "do not get it", "not get it, then get it", "éget it", "x_open open", "reopen", "Get it", "_cat it", "9get it", "(get it)"]
        var compared = 0
        for p in patterns {
            let re = try NSRegularExpression(pattern: p, options: [.caseInsensitive])
            let icu = try ICURegex(pattern: p, caseInsensitive: true)
            #expect((icu.necessary != nil) == (p.hasPrefix("(?<!") || p.hasPrefix("\\b(?<!")), "\(p)")
            let exact = try ICURegex(pattern: p, caseInsensitive: false)
            let starts = try #require(RegexRequirement.starts(p, caseInsensitive: true).flatMap { MatchStarts($0, of: p) }, "\(p)")
            for t in texts {
                let ns = NSString(string: t)
                let whole = re.firstMatch(in: t, range: NSRange(location: 0, length: ns.length))?.range
                let units = Array(t.utf16)
                let (searched, anchored) = units.withUnsafeBufferPointer { text in
                    (Self.range(icu.firstMatch(in: text, from: 0, anchored: false)), Self.range(starts.firstMatch(icu, in: text, of: t, foldsOntoASCII: MatchStarts.foldsOntoASCII(t))))
                }
                #expect(whole == searched, "\(p) on \(t)")
                #expect(whole == anchored, "\(p) on \(t)")
                // Case counts when the pattern says so.
                let caseSensitive = try NSRegularExpression(pattern: p).firstMatch(in: t, range: NSRange(location: 0, length: ns.length))?.range
                #expect(caseSensitive == units.withUnsafeBufferPointer { Self.range(exact.firstMatch(in: $0, from: 0, anchored: false)) }, "\(p) on \(t)")
                compared += whole == nil ? 0 : 1
            }
        }
        #expect(compared >= 8)
    }

    @Test("every match of every rule's pattern, over the corpus and the rules' own examples, holds the pattern's literals and starts with its starts; ICU's C API finds NSRegularExpression's match",
          .enabled(if: FileManager.default.fileExists(atPath: Fixtures.corpus)))
    func derivedLiteralsAreNeeded() throws {
        let rules = try RuleLoader.load(directory: Fixtures.rules)
        var texts: [String] = []
        for line in try String(contentsOfFile: Fixtures.corpus, encoding: .utf8).split(separator: "\n") {
            guard let t = try JSONValue.parse(Array(line.utf8))["tool"], let tool = try? Tool(json: t) else { continue }
            texts += [tool.description, Normalizer.fold(tool.description)]
        }
        for r in rules {
            for e in r.examples.match + r.examples.noMatch + r.examples.knownMiss { texts += [e.tool.description, Normalizer.fold(e.tool.description)] }
        }
        var checked = 0
        for r in rules {
            for case .regex(_, let icu) in r.when + r.any.joined() + r.unless.joined() {
                // The pattern as NSRegularExpression compiles it, to compare with.
                let re = try NSRegularExpression(pattern: icu.pattern, options: icu.caseInsensitive ? [.caseInsensitive] : [])
                var m = LiteralMatcher()
                let req = RegexRequirement.of(re.pattern, caseInsensitive: icu.caseInsensitive).map { $0.map { m.add($0) } }
                m.build()
                let starts = RegexRequirement.starts(re.pattern, caseInsensitive: icu.caseInsensitive).flatMap { MatchStarts($0, of: re.pattern) }
                let set = RegexRequirement.scalarSet(re.pattern, caseInsensitive: icu.caseInsensitive)
                for text in texts {
                    let whole = re.firstMatch(in: text, range: NSRange(location: 0, length: NSString(string: text).length))?.range
                    if let set {
                        #expect(set.first(in: text).map { String($0) } == whole.map { NSString(string: text).substring(with: $0) },
                                "\(r.id): the character set finds another character than the pattern in \(text.prefix(80))")
                    }
                    let units = Array(text.utf16)
                    units.withUnsafeBufferPointer { u in
                        #expect(whole == Self.range(icu.firstMatch(in: u, from: 0, anchored: false)), "\(r.id): ICU finds another match in \(text.prefix(80))")
                        if let starts {
                            #expect(whole == Self.range(starts.firstMatch(icu, in: u, of: text, foldsOntoASCII: MatchStarts.foldsOntoASCII(text))),
                                    "\(r.id): trying the pattern only at its starts finds another match in \(text.prefix(80))")
                        }
                    }
                }
                for text in texts where re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil {
                    checked += 1
                    let found = m.scan(text)
                    #expect(req.allSatisfy { $0.contains(where: found.contains) }, "\(r.id): a match in \(text.prefix(80)) lacks a derived literal")
                    for run in RegexRequirement.runs(re.pattern, caseInsensitive: re.options.contains(.caseInsensitive)) {
                        #expect(Classifier.firstRun(in: text, of: run.table, length: run.length) != nil, "\(r.id): a match in \(text.prefix(80)) lacks a run of \(run.length)")
                    }
                }
            }
        }
        #expect(checked > 50)
    }
}
