import AtlasModel

/// One word of a definition: its stem for matching, and where it stands in the original text for quoting.
struct Token: Sendable {
    var stem: String
    var start: String.Index
    var end: String.Index
}

/// A field of a definition cut into tokens once, with a set of its stems for fast look-ups.
struct Field: Sendable {
    let name: String
    let text: String
    let tokens: [Token]
    let stems: Set<String>

    init(name: String, text: String) {
        self.name = name
        self.text = text
        self.tokens = Tokenizer.tokens(text)
        self.stems = Set(tokens.map(\.stem))
    }

    init(name: String, text: String, tokens: [Token]) {
        self.name = name; self.text = text; self.tokens = tokens; self.stems = Set(tokens.map(\.stem))
    }

    /// The first place `phrase` (a list of stems) occurs, as a range of token positions.
    func find(_ phrase: [String]) -> Range<Int>? {
        guard let first = phrase.first, stems.contains(first) else { return nil }
        if phrase.count == 1 { return tokens.firstIndex(where: { $0.stem == first }).map { $0..<($0 + 1) } }
        for s in phrase.dropFirst() where !stems.contains(s) { return nil }
        var i = 0
        while i + phrase.count <= tokens.count {
            var ok = true
            for (k, p) in phrase.enumerated() where tokens[i + k].stem != p { ok = false; break }
            if ok { return i..<(i + phrase.count) }
            i += 1
        }
        return nil
    }

    func quote(_ r: Range<Int>) -> String {
        String(text[tokens[r.lowerBound].start..<tokens[r.upperBound - 1].end])
    }
}

enum Tokenizer {
    /// Words of any naming style: snake_case, camelCase, kebab-case, dotted, spaced; letters and digits stay together.
    static func tokens(_ text: String) -> [Token] {
        var out: [Token] = []
        var start: String.Index? = nil
        var prev: Character? = nil
        var i = text.startIndex
        func flush(_ end: String.Index) {
            if let s = start {
                let word = text[s..<end]
                out.append(Token(stem: Stemmer.stem(word.lowercased()), start: s, end: end))
            }
            start = nil
        }
        while i < text.endIndex {
            let c = text[i]
            if c.isLetter || c.isNumber {
                if let p = prev, start != nil {
                    // camelCase and HTTPServer boundaries
                    if p.isLowercase && c.isUppercase { flush(i) }
                    else if p.isUppercase && c.isUppercase, let n = text.index(i, offsetBy: 1, limitedBy: text.endIndex), n < text.endIndex, text[n].isLowercase { flush(i) }
                    else if !c.isASCII && !p.isASCII && (c.isLetter && !c.isCased) { flush(i) } // scripts without spaces: one token per character
                }
                if start == nil { start = i }
                prev = c
            } else {
                flush(i)
                prev = nil
            }
            i = text.index(after: i)
        }
        flush(text.endIndex)
        return out
    }

    /// The lead of a description: its first sentence, or its first 300 characters.
    static func firstSentence(_ text: String) -> String {
        let trimmed = text.drop(while: { $0.isWhitespace })
        var end = trimmed.endIndex
        var i = trimmed.startIndex
        var count = 0
        while i < trimmed.endIndex {
            let c = trimmed[i]
            if c == "\n", let n = trimmed.index(i, offsetBy: 1, limitedBy: trimmed.endIndex), n < trimmed.endIndex, trimmed[n] == "\n" || count > 40 { end = i; break }
            if (c == "." || c == "!" || c == "?" || c == "。"), let n = trimmed.index(i, offsetBy: 1, limitedBy: trimmed.endIndex), n == trimmed.endIndex || trimmed[n].isWhitespace { end = n; break }
            count += 1
            if count > 300 { end = i; break }
            i = trimmed.index(after: i)
        }
        return String(trimmed[..<end])
    }
}

/// A small symmetric stemmer: rule words and definition words go through the same function, so
/// `delete`, `deletes`, `deleted` and `deleting` meet. Only suffixes, no dictionary.
enum Stemmer {
    static func stem(_ w: String) -> String {
        var s = Array(w.utf8)
        guard s.count > 3, s.allSatisfy({ $0 < 0x80 }) else { return w }
        func ends(_ suffix: String) -> Bool { let u = Array(suffix.utf8); return s.count > u.count && Array(s.suffix(u.count)) == u }
        if ends("ies") && s.count > 4 { s.removeLast(3); s.append(UInt8(ascii: "y")) }
        else if ends("sses") { s.removeLast(2) }
        else if ends("s") && !ends("ss") && !ends("us") && !ends("is") { s.removeLast() }
        if s.count > 5 && ends("ing") { s.removeLast(3); undouble(&s) }
        else if s.count > 4 && ends("ed") && !ends("eed") { s.removeLast(2); undouble(&s) }
        if s.count > 3, s.last == UInt8(ascii: "e") { s.removeLast() }
        return String(decoding: s, as: UTF8.self)
    }

    private static func undouble(_ s: inout [UInt8]) {
        if s.count > 2, s[s.count - 1] == s[s.count - 2], !"lsz".utf8.contains(s[s.count - 1]) { s.removeLast() }
    }
}
