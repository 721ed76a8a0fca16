import AtlasModel
import Foundation

/// What the site is built from: one entry per server, with its last scan and its classified tools.
public struct SiteServer: Sendable {
    public var name: String
    public var title: String?
    public var description: String?
    public var package: String?
    public var launch: String
    public var transport: String
    public var scan: SiteScan?
    public var tools: [SiteTool]
    public var changes: [SiteChange]
    public var findings: [Finding]
    public init(name: String, title: String?, description: String?, package: String?, launch: String, transport: String, scan: SiteScan?,
                tools: [SiteTool], changes: [SiteChange], findings: [Finding]) {
        self.name = name; self.title = title; self.description = description; self.package = package; self.launch = launch
        self.transport = transport; self.scan = scan; self.tools = tools; self.changes = changes; self.findings = findings
    }
}

public struct SiteScan: Sendable {
    public var status: String
    public var reason: String?
    public var era: String?
    public var protocolVersion: String?
    public var serverName: String?
    public var serverVersion: String?
    public var date: Date
    public var durationMs: Int
    public init(status: String, reason: String?, era: String?, protocolVersion: String?, serverName: String?, serverVersion: String?, date: Date, durationMs: Int) {
        self.status = status; self.reason = reason; self.era = era; self.protocolVersion = protocolVersion
        self.serverName = serverName; self.serverVersion = serverVersion; self.date = date; self.durationMs = durationMs
    }
}

/// A classified tool as the site shows it. Its definition (canonical JSON text) and evidence may be left out: the
/// generator then reads them (`ToolDetails`) only when a page that shows them is rendered, so a rebuild that keeps a
/// tool's pages never reads its definition.
public struct SiteTool: Sendable {
    public var name: String
    /// The description; for a tool listed from the store, only its first sentence (the page reads the definition).
    /// Fixed at creation, as `summary` is cut from it.
    public let description: String
    /// The first sentence of the description: what lists, the search index and llms-full.txt show of it.
    public let summary: String
    /// Category, risk and confidence, with the evidence when it was given with the tool.
    public var verdict: Verdict
    public var findings: [Finding]
    /// The definition and evidence, when given with the tool.
    let details: ToolDetails?
    /// A digest of everything about the tool that its pages show: definition, verdict, evidence and findings.
    public let digest: UInt64
    private var parsed: Tool?

    public init(tool: Tool, verdict: Verdict, findings: [Finding], definitionHash: String? = nil) {
        name = tool.name; description = tool.description; summary = Summary.firstSentence(tool.description); parsed = tool
        self.verdict = verdict; self.findings = findings
        details = ToolDetails(definition: tool.raw.canonical(), evidenceJSON: "")
        var h = Fingerprint(seed: 0)
        h.add(definitionHash ?? tool.definitionHash); h.add(verdict.category.rawValue); h.add(verdict.risk.rawValue); h.add(verdict.confidence.rawValue)
        for e in verdict.evidence { h.add(e.rule); h.add(e.field); h.add(e.fragment); h.add(e.effect) }
        digest = SiteTool.digest(h.value, findings)
    }

    /// A tool as stored, without its details, listed by the first sentence of its description (`Summary.firstSentence`);
    /// `storedDigest` changes whenever its definition, verdict or evidence does.
    public init(name: String, summary: String, verdict: Verdict, findings: [Finding], storedDigest: UInt64) {
        self.name = name; self.description = summary; self.summary = summary; parsed = nil; details = nil
        self.verdict = verdict; self.findings = findings
        digest = SiteTool.digest(storedDigest, findings)
    }

    static func digest(_ base: UInt64, _ findings: [Finding]) -> UInt64 {
        var h = Fingerprint(seed: base)
        for f in findings { h.add(f.rule); h.add(f.severity.rawValue); h.add(f.title); h.add(f.field); h.add(f.fragment) }
        return h.value
    }

    /// The definition text: the one given with the tool, or the one read for this build.
    func definition(_ loaded: ToolDetails?) -> String? { (details ?? loaded)?.definition }

    /// The evidence: the one given with the tool, or the one read for this build.
    func evidence(_ loaded: ToolDetails?) -> [Evidence] {
        details != nil ? verdict.evidence : loaded.map { Evidence.list(json: $0.evidenceJSON) } ?? []
    }

    /// The parsed definition (a stored definition always parses; if it somehow does not, its name and description remain).
    func tool(_ text: String) -> Tool {
        if let parsed { return parsed }
        // Only what the page shows is built from the stored definition (the rest of its schema is skipped unread).
        return (try? JSONValue.parse(text, keeping: Tool.pageParts)).flatMap { try? Tool(json: $0) } ?? Tool(name: name, description: description)
    }
}

public struct SiteChange: Sendable {
    public var date: Date
    public var tool: String
    public var kind: String
    public var detail: String
    public init(date: Date, tool: String, kind: String, detail: String) { self.date = date; self.tool = tool; self.kind = kind; self.detail = detail }
}

/// File and URL names from untrusted names: a safe alphabet, bounded length, and a hash suffix wherever two names would meet.
public enum Slug {
    /// Small letters and digits, every other run of characters one dash, at most 64 bytes. Read as bytes: a character
    /// outside ASCII is never a letter here, so its bytes make one dash like any other separator.
    public static func base(_ s: String) -> String {
        var s = s
        let slug = s.withUTF8 { bytes in
            // Written straight into the new string (at most 64 bytes, all ASCII).
            let limit = min(64, bytes.count)
            return String(unsafeUninitializedCapacity: limit) { out in
                var n = 0
                var dash = false
                for v in bytes where n < limit {
                    if (v >= 0x30 && v <= 0x39) || (v >= 0x61 && v <= 0x7A) {
                        out[n] = v; n += 1; dash = false
                    } else if v >= 0x41 && v <= 0x5A {
                        out[n] = v + 0x20; n += 1; dash = false
                    } else if !dash && n > 0 { out[n] = UInt8(ascii: "-"); n += 1; dash = true }
                }
                while n > 0 && out[n - 1] == UInt8(ascii: "-") { n -= 1 }
                return n
            }
        }
        return slug.isEmpty ? "x" : slug
    }

    /// Unique slugs for a set of names: a name keeps its plain slug unless another name shares it; then each
    /// of them gets a hash of its exact name appended, whatever order the names came in.
    public static func assign(_ names: [String]) -> [String: String] {
        Dictionary(zip(names, slugs(names)), uniquingKeysWith: { a, _ in a })
    }

    /// `assign`, as a list in the order of `names`.
    public static func slugs(_ names: [String]) -> [String] {
        let bases = names.map(base)
        // For each slug, the first name that has it and whether another (different) name has it too.
        var owners: [String: (name: String, shared: Bool)] = [:]
        owners.reserveCapacity(names.count)
        for (n, b) in zip(names, bases) {
            if let o = owners[b] { if !o.shared && o.name != n { owners[b] = (o.name, true) } } else { owners[b] = (n, false) }
        }
        return zip(names, bases).map { n, b in owners[b]!.shared ? b + "-" + String(Hashing.fnv1a64Hex(n).prefix(8)) : b }
    }
}

enum Text {
    /// Characters XML 1.0 forbids (most C0 controls, U+FFFE/U+FFFF) become U+FFFD, so any text can go into a page.
    static func clean(_ s: String) -> String {
        guard mayBeBad(s) else { return s }
        guard s.unicodeScalars.contains(where: bad) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars { out.append(bad(u) ? "\u{FFFD}" : u) }
        return String(out)
    }

    /// Whether `s` may hold a character `clean` replaces, from its bytes: a C0 control other than tab, line feed and
    /// carriage return, or the lead bytes of U+FFFE/U+FFFF (EF BF). Most text has none, and decoding scalars costs more.
    static func mayBeBad(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { u in
            for b in u where b < 0x20 || b == 0xEF {
                if b == 0xEF || (b != 0x09 && b != 0x0A && b != 0x0D) { return true }
            }
            return false
        }
    }

    static func bad(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u.value != 0x09 && u.value != 0x0A && u.value != 0x0D) || u.value == 0xFFFE || u.value == 0xFFFF
    }

    /// A docstring as a person would read it: the common indentation of the lines after the first removed
    /// (the way Python's inspect.cleandoc does), surrounding blank lines trimmed.
    static func cleandoc(_ s: String) -> String {
        var s = s
        return s.withUTF8 { u -> String in
            // Lines as byte ranges; the text is only copied once, into the result.
            var lines: [Range<Int>] = []
            var start = 0
            for i in 0..<u.count where u[i] == 0x0A { lines.append(start..<i); start = i + 1 }
            lines.append(start..<u.count)
            guard lines.count > 1 else { return trim(String(decoding: u, as: UTF8.self)) }
            func indent(_ r: Range<Int>) -> Int {
                var n = 0
                while r.lowerBound + n < r.upperBound, u[r.lowerBound + n] == 0x20 || u[r.lowerBound + n] == 0x09 { n += 1 }
                return n
            }
            func blank(_ r: Range<Int>) -> Bool {
                let k = indent(r)
                if r.lowerBound + k == r.upperBound { return true }
                // Other white space outside ASCII counts as blank too, as trim() sees it.
                guard u[r.lowerBound + k] >= 0x80 else { return false }
                return trim(Substring(String(decoding: UnsafeBufferPointer(rebasing: u[r]), as: UTF8.self)), newlines: false).isEmpty
            }
            let common = lines.dropFirst().filter { !blank($0) }.map(indent).min() ?? 0
            var out = Array(trim(Substring(String(decoding: UnsafeBufferPointer(rebasing: u[lines[0]]), as: UTF8.self)), newlines: false).utf8)
            out.reserveCapacity(u.count)
            for r in lines.dropFirst() {
                out.append(0x0A)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: u[(r.lowerBound + min(common, indent(r)))..<r.upperBound]))
            }
            return trim(String(decoding: out, as: UTF8.self))
        }
    }

    /// White space (and, unless told otherwise, line breaks) removed from both ends, without Foundation's bridging.
    static func trim(_ s: String, newlines: Bool = true) -> String { Summary.trim(Substring(s), newlines: newlines) }
    static func trim(_ s: Substring, newlines: Bool = true) -> String { Summary.trim(s, newlines: newlines) }

    /// A date as the site shows it, `yyyy-MM-dd HH:mm UTC`, from the calendar arithmetic of the C library (a
    /// `DateFormatter` cost about 17 µs per date, twice per server). Gregorian throughout: before 1582 it would differ
    /// from Foundation's, which turns Julian there; scans are not that old.
    static func utcMinute(_ date: Date) -> String {
        var t = time_t(floor(date.timeIntervalSince1970))
        var c = tm()
        guard gmtime_r(&t, &c) != nil else { return "" }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = Int(c.tm_year) + 1900
        let y = year >= 0 && year < 1000 ? String(repeating: "0", count: 4 - String(year).count) + String(year) : String(year)
        return "\(y)-\(two(c.tm_mon + 1))-\(two(c.tm_mday)) \(two(c.tm_hour)):\(two(c.tm_min)) UTC"
    }
}
