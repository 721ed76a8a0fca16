import Foundation
import Synchronization

/// Folds text so that disguised instructions match plain patterns: NFKC, look-alike letters to Latin,
/// invisible and formatting characters removed, white space collapsed, lower case.
public enum Normalizer {
    /// Cyrillic and Greek letters that render like Latin ones, the usual material of homoglyph payloads.
    static let confusables: [Unicode.Scalar: Character] = {
        let pairs: [(UInt32, Character)] = [
            (0x0430, "a"), (0x0435, "e"), (0x043E, "o"), (0x0440, "p"), (0x0441, "c"), (0x0443, "y"), (0x0445, "x"), (0x0456, "i"),
            (0x0455, "s"), (0x0458, "j"), (0x04CF, "l"), (0x0501, "d"), (0x051B, "q"), (0x051D, "w"), (0x0410, "a"), (0x0412, "b"),
            (0x0415, "e"), (0x041A, "k"), (0x041C, "m"), (0x041D, "h"), (0x041E, "o"), (0x0420, "p"), (0x0421, "c"), (0x0422, "t"),
            (0x0425, "x"), (0x0406, "i"), (0x0405, "s"), (0x03BF, "o"), (0x03B1, "a"), (0x03B5, "e"), (0x03B9, "i"), (0x03BA, "k"),
            (0x03BD, "v"), (0x03C4, "t"), (0x03C1, "p"), (0x0391, "a"), (0x0392, "b"), (0x0395, "e"), (0x0397, "h"), (0x0399, "i"),
            (0x039A, "k"), (0x039C, "m"), (0x039D, "n"), (0x039F, "o"), (0x03A1, "p"), (0x03A4, "t"), (0x03A5, "y"), (0x03A7, "x"),
            (0x0131, "i"), (0x0261, "g"),
        ]
        var m: [Unicode.Scalar: Character] = [:]
        for (code, c) in pairs { m[Unicode.Scalar(code)!] = c }
        return m
    }()

    /// Zero-width, bidirectional, tag and other invisible format characters.
    public static func isInvisible(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0xFEFF, 0x00AD, 0x034F, 0x180E, 0xE0000...0xE007F: true
        default: false
        }
    }

    public static func fold(_ text: String) -> String { fold([text], separator: "") }

    /// `fold(parts.joined(separator: separator))`, without joining them first.
    static func fold(_ parts: [String], separator: String) -> String {
        withFolded(parts, separator: separator) { String(decoding: $0, as: UTF8.self) }
    }

    /// `body` given the UTF-8 of `fold(parts, separator:)`, without making a string of it.
    static func withFolded<R>(_ parts: [String], separator: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var out = Folded(capacity: parts.reduce(separator.utf8.count * parts.count) { $0 + $1.utf8.count })
        for (k, part) in parts.enumerated() {
            var sep = separator, part = part
            if k > 0 { sep.withUTF8 { fold($0, into: &out) } }
            part.withUTF8 { fold($0, into: &out) }
        }
        return out.withBytes(body)
    }

    /// UTF-8 folded into `out`: ASCII byte by byte (lower case, white space collapsed); only the few scalars outside
    /// ASCII are decoded and go through the compatibility mapping and lower-casing (one scalar at a time, which is what
    /// matters for patterns; whole-string NFKC cost more than classifying the tool).
    private static func fold(_ u: UnsafeBufferPointer<UInt8>, into out: inout Folded) {
        var i = 0
        while i < u.count {
            let j = asciiRunEnd(u, from: i)
            if j > i { out.ascii(UnsafeBufferPointer(rebasing: u[i..<j])); i = j; continue }
            let (value, length) = decodeUTF8(u, i)
            // Han, Hangul syllables and kana fold to themselves (test `foldsToItself`): their bytes are copied as they are.
            if foldsToItself(value) {
                out.other(UnsafeBufferPointer(rebasing: u[i..<(i + length)]))
                i += length
                continue
            }
            i += length
            for m in mapped(Unicode.Scalar(value)!) {
                if m.value < 0x80 { out.ascii(UInt8(m.value)); continue }
                if isInvisible(m) { continue }
                if m.properties.isWhitespace { out.space(); continue }
                if let c = confusables[m] { out.other(Array(c.utf8)); continue }
                out.other(Array(String(m).utf8))
            }
        }
    }

    /// When folding leaves the words of `text` as they are (every character outside ASCII is neither a letter nor a
    /// digit, nor hidden, nor a look-alike, and folds to no letter or digit: `—`, `’`, `…`, emoji; not `™` or `ﬁ`), the
    /// ASCII punctuation it makes of characters outside ASCII (`…` folds to `...`, `！` to `!`): with the text's own, all
    /// the punctuation its folded text can hold. Nil when folding changes its words. Read as UTF-8: only the scalars
    /// outside ASCII are decoded.
    static func punctuationMade(_ text: String) -> ByteSet? {
        var text = text
        return text.withUTF8 { bytes in
            var made = ByteSet()
            var i = asciiRunEnd(bytes, from: 0)
            while i < bytes.count {
                let (value, length) = decodeUTF8(bytes, i)
                i = asciiRunEnd(bytes, from: i + length)
                // Dashes, quotes, bullets and the ellipsis come back in every other description: their answers are kept.
                if value >= 0x2000 && value < 0x2070 {
                    guard let m = generalPunctuation[Int(value - 0x2000)] else { return nil }
                    made = made.union(m)
                    continue
                }
                guard let m = punctuationMade(Unicode.Scalar(value)!) else { return nil }
                made = made.union(m)
            }
            return made
        }
    }

    /// What folding makes of one scalar outside ASCII, or nil when it is or makes a letter or a digit, is hidden or is
    /// a look-alike (`punctuationMade(_:)` of a text).
    static func punctuationMade(_ u: Unicode.Scalar) -> ByteSet? {
        if isInvisible(u) || confusables[u] != nil || wordLike(u) { return nil }
        var made = ByteSet()
        for m in mapped(u) {
            if m.value >= 0x80 { if wordLike(m) { return nil }; continue }
            let b = UInt8(m.value)
            if ByteSet.isWordByte(b) { return nil }
            if !isFoldedSpace(b) { made.insert(b) }
        }
        return made
    }

    /// `punctuationMade` of U+2000 to U+206F, worked out once.
    static let generalPunctuation: [ByteSet?] = (0x2000..<0x2070).map { punctuationMade(Unicode.Scalar(UInt32($0))!) }

    /// Scalars that NFKC and lower-casing leave as they are and that are neither white space, invisible nor look-alikes:
    /// the unified Han ideographs (with extension A), Hangul syllables, and hiragana and katakana letters.
    @inline(__always) static func foldsToItself(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0x3041...0x3096).contains(v) || (0x30A1...0x30FA).contains(v)
    }

    /// What the tokenizer takes as part of a word.
    static func wordLike(_ u: Unicode.Scalar) -> Bool { u.properties.isAlphabetic || u.properties.numericType != nil }

    /// Mappings already worked out, shared by every thread: NFKC through Foundation costs microseconds per scalar,
    /// and the same few dashes and quotes come back in every description.
    private static let mappedCache = Mutex<[UInt32: [Unicode.Scalar]]>([:])

    /// A non-ASCII scalar after NFKC and lower-casing: `ﬁ` → `fi`, `Ａ` → `a`, `Ж` → `ж`. Invisible characters stay
    /// themselves (they are dropped by the caller).
    static func mapped(_ u: Unicode.Scalar) -> [Unicode.Scalar] {
        if let known = mappedCache.withLock({ $0[u.value] }) { return known }
        let m = mapping(u)
        mappedCache.withLock { cache in if cache.count < 1 << 16 { cache[u.value] = m } }
        return m
    }

    static func mapping(_ u: Unicode.Scalar) -> [Unicode.Scalar] {
        if isInvisible(u) || u.properties.isWhitespace || confusables[u] != nil { return [u] }
        var out: [Unicode.Scalar] = []
        for c in String(u).precomposedStringWithCompatibilityMapping.unicodeScalars {
            if c.value < 0x80 { out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c); continue }
            out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
        }
        return out
    }

    /// The folded text being built: one space for any run of white space, ASCII lower-cased. Written in place into a
    /// buffer made large enough beforehand (folding ASCII never lengthens it; a mapping may).
    struct Folded {
        private var buffer: [UInt8]
        private var count = 0
        private var inSpace = false
        init(capacity: Int) { buffer = [UInt8](repeating: 0, count: max(capacity, 16)) }

        func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[..<count])) }
        }

        private mutating func reserve(_ k: Int) {
            if count + k > buffer.count { buffer += [UInt8](repeating: 0, count: max(k, buffer.count)) }
        }

        mutating func space() {
            if !inSpace && count > 0 { reserve(1); buffer[count] = 0x20; count += 1 }
            inSpace = true
        }

        mutating func ascii(_ b: UInt8) {
            withUnsafeBytes(of: b) { ascii($0.assumingMemoryBound(to: UInt8.self)) }
        }

        /// What folding makes of each ASCII byte: white space a space, a capital its small letter.
        static let asciiTable: [UInt8] = (0..<128).map { isFoldedSpace(UInt8($0)) ? 0x20 : lowerASCII(UInt8($0)) }

        /// Plain ASCII bytes: white space runs become one space (none at the start), letters lower case.
        mutating func ascii(_ run: UnsafeBufferPointer<UInt8>) {
            reserve(run.count)
            var n = count, space = inSpace
            // Without branches on the text (a wrong guess at every word's end cost more than the rest): each byte's folded
            // form is looked up and written where the next byte goes, and kept (the place moves on) unless it is white
            // space after white space or at the start. The buffer has room, as `reserve` made sure. The place and the
            // state are the closure's own locals, so that they stay in registers, and the place waits on nothing but
            // itself from one byte to the next.
            Folded.asciiTable.withUnsafeBufferPointer { table in
                buffer.withUnsafeMutableBufferPointer { out in
                    // Nothing written yet counts as white space before: none is kept at the start.
                    var k = n, after = space || n == 0 ? 1 : 0
                    for b in run {
                        let folded = table[Int(b & 0x7F)]
                        out[k] = folded
                        let blank = folded == 0x20 ? 1 : 0
                        k &+= 1 &- (blank & after)
                        after = blank
                    }
                    n = k
                    space = after != 0
                }
            }
            count = n
            inSpace = space
        }

        mutating func other(_ utf8: [UInt8]) { utf8.withUnsafeBufferPointer { other($0) } }

        mutating func other(_ utf8: UnsafeBufferPointer<UInt8>) {
            reserve(utf8.count)
            for b in utf8 { buffer[count] = b; count += 1 }
            inSpace = false
        }
    }
}
