import Foundation
// ICU's C regular-expression API, as the toolchain's Foundation ships it (its names carry a `swift_` prefix).
import _FoundationICU

/// A rule's pattern, compiled by ICU (the engine under NSRegularExpression, so a match is the same match) and used
/// through its C API. The text is handed over as UTF-16 that the caller converts once per field: NSRegularExpression
/// converts the whole text again on every call, which on a description of a few kilobytes costs 30 to 50 µs a call,
/// against under a microsecond here.
/// A matcher holds the text it searches, so it serves one call at a time: each call takes one from a small pool.
final class ICURegex: @unchecked Sendable {
    /// The compiled pattern, only ever cloned (a clone shares it and has its own matching state).
    private let compiled: OpaquePointer
    private var pool: [OpaquePointer] = []
    private let lock = NSLock()
    let pattern: String
    let caseInsensitive: Bool
    /// A pattern that matches wherever this one does and costs less to try (`RegexRequirement.withoutOpeningLookbehind`):
    /// where it fails, this one is not tried.
    let necessary: ICURegex?

    /// What ICU said of a pattern it refused, and where.
    struct CompileError: Error, CustomStringConvertible {
        let code: String, line: Int, offset: Int
        var description: String { "\(code) at line \(line), offset \(offset)" }
    }

    /// The pattern compiled once, as NSRegularExpression would compile it with the same options (the same ICU).
    init(pattern: String, caseInsensitive: Bool) throws(CompileError) {
        self.pattern = pattern
        self.caseInsensitive = caseInsensitive
        let units = Array(pattern.utf16)
        var status = U_ZERO_ERROR
        var parseError = UParseError()
        let flags = caseInsensitive ? UInt32(UREGEX_CASE_INSENSITIVE.rawValue) : 0
        let compiled = swift_uregex_open(units, Int32(units.count), flags, &parseError, &status)
        guard let compiled, status.rawValue <= 0 else {
            if let compiled { swift_uregex_close(compiled) }
            throw CompileError(code: String(cString: swift_u_errorName(status)), line: Int(parseError.line), offset: Int(parseError.offset))
        }
        self.compiled = compiled
        necessary = RegexRequirement.withoutOpeningLookbehind(pattern).flatMap { try? ICURegex(pattern: $0, caseInsensitive: caseInsensitive) }
    }

    deinit {
        for m in pool { swift_uregex_close(m) }
        swift_uregex_close(compiled)
    }

    private func withMatcher<R>(_ body: (OpaquePointer) -> R) -> R {
        lock.lock()
        let spare = pool.popLast()
        lock.unlock()
        var status = U_ZERO_ERROR
        guard let matcher = spare ?? swift_uregex_clone(compiled, &status) else { preconditionFailure("ICU could not clone a compiled pattern") }
        defer {
            lock.lock()
            pool.append(matcher)
            lock.unlock()
        }
        return body(matcher)
    }

    /// The first match in `text` (UTF-16) that starts at `from` or later, as UTF-16 offsets; when `anchored`, only a
    /// match that starts at `from`. The text before `from` and after the match is seen by `\b` and look-arounds
    /// (transparent bounds), and `^` matches only at the text's real start (no anchoring bounds): what
    /// NSRegularExpression finds with `.withTransparentBounds` and `.withoutAnchoringBounds` over `from..<text.count`.
    func firstMatch(in text: UnsafeBufferPointer<UInt16>, from: Int, anchored: Bool) -> Range<Int>? {
        guard let base = text.baseAddress else { return nil }
        return withMatcher { m in
            var status = U_ZERO_ERROR
            swift_uregex_setText(m, base, Int32(text.count), &status)
            swift_uregex_setRegion(m, Int32(from), Int32(text.count), &status)
            swift_uregex_useTransparentBounds(m, 1, &status)
            swift_uregex_useAnchoringBounds(m, 0, &status)
            let found = anchored ? swift_uregex_lookingAt(m, -1, &status) : swift_uregex_find(m, -1, &status)
            guard found != 0, status.rawValue <= 0 else { return nil }
            let start = swift_uregex_start(m, 0, &status), end = swift_uregex_end(m, 0, &status)
            guard status.rawValue <= 0 else { return nil }
            return Int(start)..<Int(end)
        }
    }
}
