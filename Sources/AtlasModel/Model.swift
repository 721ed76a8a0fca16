import Foundation

/// The five categories of the taxonomy, ordered from least to most severe.
public enum Category: String, Sendable, CaseIterable, Codable, Comparable {
    case read = "Read", write = "Write", execute = "Execute", destructive = "Destructive", financial = "Financial"

    public var severity: Int { Category.allCases.firstIndex(of: self)! }
    public static func < (a: Category, b: Category) -> Bool { a.severity < b.severity }

    /// The risk a tool of this category starts from before modifiers.
    public var baseline: RiskLevel {
        switch self {
        case .read: .low
        case .write: .medium
        case .execute, .destructive: .high
        case .financial: .critical
        }
    }

    public init?(label: String) {
        guard let c = Category.allCases.first(where: { $0.rawValue.lowercased() == label.lowercased() }) else { return nil }
        self = c
    }
}

/// The four risk levels, ordered.
public enum RiskLevel: String, Sendable, CaseIterable, Codable, Comparable {
    case low = "Low", medium = "Medium", high = "High", critical = "Critical"

    public var rank: Int { RiskLevel.allCases.firstIndex(of: self)! }
    public static func < (a: RiskLevel, b: RiskLevel) -> Bool { a.rank < b.rank }
    public func raised() -> RiskLevel { RiskLevel.allCases[min(rank + 1, 3)] }

    public init?(label: String) {
        guard let r = RiskLevel.allCases.first(where: { $0.rawValue.lowercased() == label.lowercased() }) else { return nil }
        self = r
    }
}

/// How a server is started or reached: argv and an explicit environment, or a URL. Never a shell string.
public struct LaunchPlan: Sendable, Hashable, Codable {
    public enum Transport: String, Sendable, Codable { case stdio, streamableHTTP = "streamable-http", sse }
    public var transport: Transport
    /// argv[0] is the program (a name looked up in PATH, or a path); the rest are arguments.
    public var argv: [String]
    /// Exactly the variables the child gets (plus a fresh HOME, TMPDIR and a fixed PATH).
    public var environment: [String: String]
    public var url: String?
    public var headers: [String: String]
    /// Things a person should know about this plan: placeholder secrets, unresolved variables.
    public var notes: [String]
    /// A PyPI package to install into a cached environment before launch; argv[0] is then its console script.
    public var pypi: PyPIPackage?

    public struct PyPIPackage: Sendable, Hashable, Codable {
        public var name: String
        public var version: String?
        public init(name: String, version: String?) { self.name = name; self.version = version }
        /// `name==version`, or just the name.
        public var requirement: String { version.map { "\(name)==\($0)" } ?? name }
    }

    public init(transport: Transport = .stdio, argv: [String] = [], environment: [String: String] = [:], url: String? = nil,
                headers: [String: String] = [:], notes: [String] = [], pypi: PyPIPackage? = nil) {
        self.transport = transport; self.argv = argv; self.environment = environment
        self.url = url; self.headers = headers; self.notes = notes; self.pypi = pypi
    }

    /// A line a person can read and rerun; values are shell-quoted for display only, never executed through a shell.
    public var displayCommand: String {
        if let url { return "\(transport.rawValue) \(url)" }
        if let pypi { return "pypi \(pypi.requirement): " + (Array(environment.keys.sorted().map { "\($0)=\(LaunchPlan.quote(environment[$0]!))" }) + argv.map(LaunchPlan.quote)).joined(separator: " ") }
        let env = environment.keys.sorted().map { "\($0)=\(LaunchPlan.quote(environment[$0]!))" }
        return (env + argv.map(LaunchPlan.quote)).joined(separator: " ")
    }

    /// A plan as stored (the JSON its Codable form writes), read with our own parser: the site reads thousands of them.
    public init?(json: JSONValue) {
        guard let o = json.objectValue, let t = o["transport"]?.stringValue.flatMap(Transport.init(rawValue:)) else { return nil }
        func strings(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap(\.stringValue) ?? [] }
        func table(_ v: JSONValue?) -> [String: String] { (v?.objectValue ?? [:]).compactMapValues(\.stringValue) }
        self.init(transport: t, argv: strings(o["argv"]), environment: table(o["environment"]), url: o["url"]?.stringValue,
                  headers: table(o["headers"]), notes: strings(o["notes"]),
                  pypi: o["pypi"]?["name"]?.stringValue.map { PyPIPackage(name: $0, version: o["pypi"]?["version"]?.stringValue) })
    }

    static func quote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:@+,".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// One server as a catalogue lists it.
public struct ServerEntry: Sendable, Hashable, Codable {
    /// Stable identifier, unique in a catalogue (e.g. `mcp-luma` or `io.github.owner/name`).
    public var name: String
    public var title: String?
    public var description: String?
    public var version: String?
    /// Where the entry came from: package coordinates or repository, for display.
    public var package: String?
    public var source: String
    public var launch: LaunchPlan
    public var notes: String?
    /// The registry's word on the entry (active, deprecated, deleted), when it came from a registry.
    public var registryStatus: String?

    public init(name: String, title: String? = nil, description: String? = nil, version: String? = nil, package: String? = nil,
                source: String, launch: LaunchPlan, notes: String? = nil, registryStatus: String? = nil) {
        self.name = name; self.title = title; self.description = description; self.version = version
        self.package = package; self.source = source; self.launch = launch; self.notes = notes; self.registryStatus = registryStatus
    }
}

/// The annotations a server declares for a tool: claims, never answers.
public struct ToolAnnotations: Sendable, Hashable, Codable {
    public var title: String?
    public var readOnlyHint: Bool?
    public var destructiveHint: Bool?
    public var idempotentHint: Bool?
    public var openWorldHint: Bool?

    public init(title: String? = nil, readOnlyHint: Bool? = nil, destructiveHint: Bool? = nil, idempotentHint: Bool? = nil, openWorldHint: Bool? = nil) {
        self.title = title; self.readOnlyHint = readOnlyHint; self.destructiveHint = destructiveHint
        self.idempotentHint = idempotentHint; self.openWorldHint = openWorldHint
    }

    public init(json: JSONValue?) {
        self.init(title: json?["title"]?.stringValue, readOnlyHint: json?["readOnlyHint"]?.boolValue,
                  destructiveHint: json?["destructiveHint"]?.boolValue, idempotentHint: json?["idempotentHint"]?.boolValue,
                  openWorldHint: json?["openWorldHint"]?.boolValue)
    }

    public var isEmpty: Bool { readOnlyHint == nil && destructiveHint == nil && idempotentHint == nil && openWorldHint == nil }
}

/// One parameter of a tool's input schema, flattened for rules and pages.
public struct ToolParameter: Sendable, Hashable, Codable {
    public var name: String
    public var type: String
    public var required: Bool
    public var description: String
    public var enumValues: [String]
    public var defaultValue: String?
}

/// What the classifier reads of one parameter: its name, its description (or title) and its choices.
public struct ParameterText: Sendable, Hashable {
    public var name: String
    public var description: String
    public var choices: [String]
}

/// A tool definition as a server sent it, with the parts the classifier and the site read.
public struct Tool: Sendable, Hashable {
    public var name: String
    public var title: String?
    public var description: String
    public var inputSchema: JSONValue { didSet { parameterTexts = Tool.parameterTexts(of: inputSchema) } }
    public var annotations: ToolAnnotations
    /// Exactly what the server sent.
    public var raw: JSONValue
    /// What the classifier reads of each parameter, in the order of `parameters`: taken from the schema when the tool is
    /// made, as its name and description are, while the schema's tree is fresh in memory (read again later, one
    /// definition at a time, its scattered parts cost more to reach than the texts do to read).
    public private(set) var parameterTexts: [ParameterText]

    public init(name: String, title: String? = nil, description: String = "", inputSchema: JSONValue = ["type": "object"],
                annotations: ToolAnnotations = ToolAnnotations(), raw: JSONValue? = nil) {
        self.name = name; self.title = title; self.description = description; self.inputSchema = inputSchema
        parameterTexts = Tool.parameterTexts(of: inputSchema)
        self.annotations = annotations
        if let raw {
            self.raw = raw
        } else {
            var o: [String: JSONValue] = ["name": .string(name), "description": .string(description), "inputSchema": inputSchema]
            if let title { o["title"] = .string(title) }
            var a: [String: JSONValue] = [:]
            if let v = annotations.readOnlyHint { a["readOnlyHint"] = .bool(v) }
            if let v = annotations.destructiveHint { a["destructiveHint"] = .bool(v) }
            if let v = annotations.idempotentHint { a["idempotentHint"] = .bool(v) }
            if let v = annotations.openWorldHint { a["openWorldHint"] = .bool(v) }
            if !a.isEmpty { o["annotations"] = .object(a) }
            self.raw = .object(o)
        }
    }

    public enum DecodeError: Error, CustomStringConvertible, Sendable {
        case notAnObject, missingName, badField(String)
        public var description: String {
            switch self {
            case .notAnObject: "tool definition is not a JSON object"
            case .missingName: "tool definition has no string \"name\""
            case .badField(let f): "tool field \"\(f)\" has the wrong type"
            }
        }
    }

    /// Reads a tool leniently: only a string name is required; wrong-typed optional fields are ignored.
    public init(json: JSONValue) throws(DecodeError) {
        guard case .object(let o) = json else { throw .notAnObject }
        guard let name = o["name"]?.stringValue, !name.isEmpty else { throw .missingName }
        let annotations = o["annotations"]
        var title = o["title"]?.stringValue
        if title == nil { title = annotations?["title"]?.stringValue }
        var schema = o["inputSchema"] ?? .object(["type": "object"])
        if schema.objectValue == nil { schema = .object(["type": "object"]) }
        self.init(name: name, title: title, description: o["description"]?.stringValue ?? "", inputSchema: schema,
                  annotations: ToolAnnotations(json: annotations), raw: json)
    }

    /// The schema's properties in a stable order (required first, then by name), each with whether it is required.
    private var orderedProperties: [(key: String, value: JSONValue, required: Bool)] {
        guard case .object(let schema) = inputSchema, case .object(let props)? = schema["properties"] else { return [] }
        // A schema requires a few names: a list compared directly costs less than hashing each name into a set.
        let required = (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        // Required parameters first, each group by name (each name is looked up in `required` once, not per comparison).
        let entries = props.sorted { $0.key < $1.key }
        if required.isEmpty { return entries.map { ($0.key, $0.value, false) } }
        var first: [(key: String, value: JSONValue, required: Bool)] = [], rest: [(key: String, value: JSONValue, required: Bool)] = []
        for e in entries { if required.contains(e.key) { first.append((e.key, e.value, true)) } else { rest.append((e.key, e.value, false)) } }
        return first + rest
    }

    /// A parameter's choices: its `enum` (values other than strings in canonical JSON), or the string choices of its
    /// `anyOf`/`oneOf` alternatives.
    private static func choices(_ enumV: JSONValue?, _ alternatives: JSONValue?) -> [String] {
        var enums = (enumV?.arrayValue ?? []).compactMap { v -> String? in v.stringValue ?? (v.isNull ? nil : v.canonical()) }
        if enums.isEmpty, let any = alternatives?.arrayValue {
            enums = any.flatMap { ($0["enum"]?.arrayValue ?? []).compactMap(\.stringValue) }
        }
        return enums
    }

    /// The schema's properties in a stable order (required first, then by name).
    public var parameters: [ToolParameter] {
        orderedProperties.map { entry in
            // The members a parameter table shows, found in one pass over the property (no look-up per member).
            var typeV, alternatives, items, enumV, defaultV, description, title: JSONValue?
            if case .object(let p) = entry.value {
                for (k, v) in p {
                    switch k {
                    case "type": typeV = v
                    case "anyOf": alternatives = v
                    case "oneOf": if alternatives == nil { alternatives = v }
                    case "items": items = v
                    case "enum": enumV = v
                    case "default": defaultV = v
                    case "description": description = v
                    case "title": title = v
                    default: break
                    }
                }
            }
            var type = typeV?.stringValue ?? typeV?.arrayValue?.compactMap(\.stringValue).joined(separator: " | ") ?? ""
            if type.isEmpty, let any = alternatives?.arrayValue {
                type = any.compactMap { $0["type"]?.stringValue }.filter { $0 != "null" }.joined(separator: " | ")
            }
            if type == "array", let item = items?["type"]?.stringValue { type = "array of \(item)" }
            let def = defaultV.flatMap { $0.isNull ? nil : ($0.stringValue ?? $0.canonical()) }
            return ToolParameter(name: entry.key, type: type, required: entry.required, description: description?.stringValue ?? title?.stringValue ?? "",
                                 enumValues: Tool.choices(enumV, alternatives), defaultValue: def)
        }
    }

    /// What the classifier reads of each parameter of `schema`, in the order of `parameters`: its name, its description
    /// (or title) and its choices; the type and default are not worked out.
    static func parameterTexts(of inputSchema: JSONValue) -> [ParameterText] {
        guard case .object(let schema) = inputSchema, case .object(let props)? = schema["properties"] else { return [] }
        var required: [JSONValue] = []
        if case .array(let r)? = schema["required"] { required = r }
        // The properties' places, in the order of `parameters`: their values are read once each, in that order, and
        // nothing is copied out to be sorted.
        let names = props.keys
        var order: [(required: Bool, index: Dictionary<String, JSONValue>.Index)] = []
        order.reserveCapacity(props.count)
        var i = props.startIndex
        while i != props.endIndex {
            let name = names[i]
            order.append((required.contains { if case .string(let s) = $0 { s == name } else { false } }, i))
            props.formIndex(after: &i)
        }
        order.sort { $0.required != $1.required ? $0.required : names[$0.index] < names[$1.index] }
        var texts: [ParameterText] = []
        texts.reserveCapacity(order.count)
        for (_, index) in order {
            var description, title: String?
            var enumV, alternatives: JSONValue?
            if case .object(let p) = props.values[index] {
                for (k, v) in p {
                    switch k {
                    case "description": if case .string(let d) = v { description = d }
                    case "title": if case .string(let t) = v { title = t }
                    case "enum": enumV = v
                    case "anyOf": alternatives = v
                    case "oneOf": if alternatives == nil { alternatives = v }
                    default: break
                    }
                }
            }
            texts.append(ParameterText(name: names[index], description: description ?? title ?? "", choices: Tool.choices(enumV, alternatives)))
        }
        return texts
    }

    /// What a tool's page shows of its definition: name, title, description, annotations, and each parameter's type,
    /// choices, default and description. `Tool(json:)` and `parameters` read nothing else.
    public static let pageParts: JSONKeep = .members([
        ("name", .all), ("title", .all), ("description", .all), ("annotations", .all),
        ("inputSchema", .members([
            ("properties", .everyMember(.members([("type", .all), ("anyOf", .all), ("oneOf", .all), ("items", .members([("type", .all)])),
                                                  ("enum", .all), ("default", .all), ("description", .all), ("title", .all)]))),
            ("required", .all), ("type", .all),
        ])),
    ])

    /// A hash of the canonical definition, for drift detection across scans.
    public var definitionHash: String { Hashing.fnv1a64Hex(raw.canonical()) }
}

public enum Hashing {
    /// The FNV-1a offset basis: where a hash starts afresh.
    @inlinable public static var fnvOffset: UInt64 { 0xcbf29ce484222325 }

    /// FNV-1a 64-bit of a string's UTF-8 bytes, continuing from `h`: read from the string's own storage (iterating its
    /// UTF-8 view costs several times more).
    public static func fnv1a64(_ s: String, from h: UInt64 = fnvOffset) -> UInt64 {
        var s = s
        return s.withUTF8 { fnv1a64(bytes: $0, from: h) }
    }

    /// FNV-1a 64-bit of bytes, continuing from `h` (the FNV offset basis when starting afresh).
    @inlinable @inline(__always)
    public static func fnv1a64(bytes: some Sequence<UInt8>, from h: UInt64 = fnvOffset) -> UInt64 {
        var h = h
        for b in bytes { h = fnv1a64(byte: b, from: h) }
        return h
    }

    /// One byte of FNV-1a 64-bit.
    @inlinable @inline(__always)
    public static func fnv1a64(byte b: UInt8, from h: UInt64) -> UInt64 { (h ^ UInt64(b)) &* 0x100000001b3 }

    /// A fast 64-bit digest of bytes, eight at a time, for telling whether a generated file changed (not for security).
    public static func digest64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var h: UInt64 = 0x9E3779B97F4A7C15 ^ UInt64(raw.count)
            var i = 0
            while i + 8 <= raw.count {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                h = (h ^ (w &* 0xBF58476D1CE4E5B9)).rotatedLeft(27) &* 0x94D049BB133111EB
                i += 8
            }
            while i < raw.count { h = fnv1a64(byte: raw[i], from: h); i += 1 }
            h ^= h >> 31
            return h &* 0xBF58476D1CE4E5B9 ^ (h >> 29)
        }
    }

    /// FNV-1a 64-bit as 16 hex digits: stable across runs and platforms (unlike `Hasher`).
    public static func fnv1a64Hex(_ s: String) -> String {
        let hex = String(fnv1a64(s), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension UInt64 {
    func rotatedLeft(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}

/// FNV-1a over a sequence of strings, each followed by a separator byte so that ("ab", "c") and ("a", "bc") differ.
public struct Fingerprint: Sendable {
    public private(set) var value: UInt64
    public init(seed: UInt64) { value = Hashing.fnvOffset ^ seed }
    public mutating func add(_ s: String) {
        value = Hashing.fnv1a64(byte: 0xFF, from: Hashing.fnv1a64(s, from: value))
    }
    /// Adds a digest made elsewhere.
    public mutating func add(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { value = Hashing.fnv1a64(byte: 0xFE, from: Hashing.fnv1a64(bytes: $0, from: value)) }
    }
}

/// What only a tool's own pages show, as stored: its definition (canonical JSON) and its verdict's evidence (JSON).
public struct ToolDetails: Sendable {
    public var definition: String
    public var evidenceJSON: String
    public init(definition: String, evidenceJSON: String) { self.definition = definition; self.evidenceJSON = evidenceJSON }
}

/// One piece of evidence: which rule fired, on which part of the definition, and the exact text that fired it.
public struct Evidence: Sendable, Hashable, Codable {
    public var rule: String
    public var field: String
    public var fragment: String
    public var effect: String
    public init(rule: String, field: String, fragment: String, effect: String) {
        self.rule = rule; self.field = field; self.fragment = fragment; self.effect = effect
    }

    /// Evidence as stored (a JSON array of objects), read with our own parser; text that does not parse gives none.
    public static func list(json: String) -> [Evidence] {
        guard let items = (try? JSONValue.parse(json))?.arrayValue else { return [] }
        return items.map { e in
            Evidence(rule: e["rule"]?.stringValue ?? "", field: e["field"]?.stringValue ?? "", fragment: e["fragment"]?.stringValue ?? "",
                     effect: e["effect"]?.stringValue ?? "")
        }
    }
}

public enum Confidence: String, Sendable, Codable, CaseIterable { case high, medium, low }

/// The classifier's answer for one tool.
public struct Verdict: Sendable, Hashable, Codable {
    public var category: Category
    public var risk: RiskLevel
    public var confidence: Confidence
    public var evidence: [Evidence]
    public init(category: Category, risk: RiskLevel, confidence: Confidence, evidence: [Evidence]) {
        self.category = category; self.risk = risk; self.confidence = confidence; self.evidence = evidence
    }
}

public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, low, medium, high, critical
    public var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// A security finding about a tool or server definition.
public struct Finding: Sendable, Hashable, Codable {
    public var rule: String
    public var severity: Severity
    public var title: String
    public var tool: String?
    public var field: String
    public var fragment: String
    public init(rule: String, severity: Severity, title: String, tool: String?, field: String, fragment: String) {
        self.rule = rule; self.severity = severity; self.title = title; self.tool = tool; self.field = field; self.fragment = fragment
    }
}

/// How a scan of one server ended.
public enum ScanStatus: String, Sendable, Codable, CaseIterable {
    case ok, timeout, crashed
    case protocolError = "protocol-error"
    case needsCredentials = "needs-credentials"
    case unsupportedRuntime = "unsupported-runtime"
    case unreachable, refused
}

/// Everything one scan of one server produced.
public struct ScanResult: Sendable {
    public var server: String
    public var status: ScanStatus
    public var reason: String?
    public var era: String?
    public var protocolVersion: String?
    public var serverInfo: JSONValue?
    public var capabilities: JSONValue?
    public var instructions: String?
    public var tools: [Tool]
    /// Tools the server sent that could not be read, with why.
    public var toolErrors: [String]
    public var prompts: [String] = []
    public var resources: [String] = []
    public var pages: Int
    public var paginationNote: String?
    public var junkLines: Int
    public var stderrTail: String
    public var durationMs: Int
    public var startedAt: Date

    public init(server: String, status: ScanStatus, reason: String? = nil, startedAt: Date = Date()) {
        self.server = server; self.status = status; self.reason = reason; self.era = nil; self.protocolVersion = nil
        self.serverInfo = nil; self.capabilities = nil; self.instructions = nil; self.tools = []; self.toolErrors = []
        self.pages = 0; self.paginationNote = nil; self.junkLines = 0; self.stderrTail = ""; self.durationMs = 0; self.startedAt = startedAt
    }
}

/// Finds a folder or file that ships with ToolAtlas (rules/, site-gen/, catalogue/): in the working directory,
/// or next to the executable or up to five of its parent folders (`.build/debug/toolatlas` in a checkout).
public enum BundledPath {
    /// `relative` under the first candidate folder where `marker` (relative to it, default itself) exists;
    /// the working-directory candidate when none does, so errors name a sensible path.
    public static func find(_ relative: String, marker: String = "") -> String {
        let fm = FileManager.default
        var candidates = [fm.currentDirectoryPath + "/" + relative]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.path + "/" + relative)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first(where: { fm.fileExists(atPath: $0 + marker) }) ?? candidates[0]
    }
}

/// What lists show of a description: its first sentence, and the white space trimmed around text.
public enum Summary {
    public static func whitespace(_ u: Unicode.Scalar, newlines: Bool) -> Bool {
        if u.isASCII { return u == " " || u == "\t" || (newlines && (u == "\n" || u == "\r" || u.value == 0x0B || u.value == 0x0C)) }
        return u.properties.isWhitespace && (newlines || !(u.value == 0x85 || u.value == 0x2028 || u.value == 0x2029))
    }

    public static func trim(_ s: Substring, newlines: Bool = true) -> String {
        let scalars = s.unicodeScalars
        var a = scalars.startIndex, b = scalars.endIndex
        while a < b && whitespace(scalars[a], newlines: newlines) { a = scalars.index(after: a) }
        while b > a && whitespace(scalars[scalars.index(before: b)], newlines: newlines) { b = scalars.index(before: b) }
        return String(scalars[a..<b])
    }

    /// Abbreviations whose full stop never ends a sentence: "Run a module on hosts, e.g. shell or copy" goes on.
    static let inSentenceAbbreviations: Set<String> = ["e.g", "i.e", "eg", "ie", "vs", "cf"]

    /// Those abbreviations' bytes packed into a number each (first byte lowest; no abbreviation holds a zero byte).
    static let packedAbbreviations: [UInt32] = inSentenceAbbreviations.map { packed($0.utf8) }

    static func packed(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var key: UInt32 = 0, shift: UInt32 = 0
        for b in bytes { key |= UInt32(b) << shift; shift += 8 }
        return key
    }

    /// Whether the full stop at `dot` closes one of those abbreviations (the letters and dots before it, in any case).
    /// The bytes are compared packed, lower-cased, without making a string: this runs at every full stop of a description.
    public static func closesAbbreviation(_ u: UnsafeBufferPointer<UInt8>, at dot: Int) -> Bool {
        func letter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        var start = dot
        while start > 0, dot - start < 4, letter(u[start - 1]) || u[start - 1] == 0x2E { start -= 1 }
        guard start < dot, start == 0 || !letter(u[start - 1]) else { return false }
        return packedAbbreviations.contains(packed(UnsafeBufferPointer(rebasing: u[start..<dot]).lazy.map { letter($0) ? $0 | 0x20 : $0 }))
    }

    /// The first line or sentence of the trimmed text (up to a newline, or a full stop followed by a space, an
    /// abbreviation's excepted), at most 240 characters.
    public static func firstSentence(_ s: String) -> String {
        var bytes = s
        return bytes.withUTF8 { firstSentence(utf8: $0, text: s) }
    }

    /// The first sentence of UTF-8 text read in place (a database column): only the sentence becomes a string when
    /// the text starts, after ASCII white space, with an ASCII character.
    public static func firstSentence(utf8 u: UnsafeBufferPointer<UInt8>) -> String { firstSentence(utf8: u, text: nil) }

    private static func firstSentence(utf8 u: UnsafeBufferPointer<UInt8>, text: String?) -> String {
        var a = 0
        while a < u.count, u[a] == 0x20 || (u[a] >= 0x09 && u[a] <= 0x0D) { a += 1 }
        guard a < u.count, u[a] < 0x80 else { return firstSentence(scalars: text ?? String(decoding: u, as: UTF8.self)) }
        var i = a
        while i < u.count {
            if u[i] == 0x0A { return capped(String(decoding: UnsafeBufferPointer(rebasing: u[a..<i]), as: UTF8.self)) }
            if u[i] == UInt8(ascii: "."), i + 1 < u.count, u[i + 1] == 0x20, !closesAbbreviation(u, at: i) {
                return capped(String(decoding: UnsafeBufferPointer(rebasing: u[a...i]), as: UTF8.self))
            }
            i += 1
        }
        return capped(trim(Substring(text ?? String(decoding: u, as: UTF8.self))))
    }

    /// The same, walking characters (text that starts outside ASCII).
    private static func firstSentence(scalars s: String) -> String {
        let scalars = s.unicodeScalars
        var a = scalars.startIndex
        while a < scalars.endIndex && whitespace(scalars[a], newlines: true) { a = scalars.index(after: a) }
        let u = s.utf8
        var i = a
        var first: String? = nil
        while i < u.endIndex {
            let b = u[i]
            if b == 0x0A { first = String(s[a..<i]); break }
            if b == UInt8(ascii: "."), case let next = u.index(after: i), next < u.endIndex, u[next] == 0x20 {
                // The bytes before the stop (at most five) decide whether it closes an abbreviation.
                let before = Array(u[(u.index(i, offsetBy: -5, limitedBy: u.startIndex) ?? u.startIndex)...i])
                if !before.withUnsafeBufferPointer({ closesAbbreviation($0, at: before.count - 1) }) { first = String(s[a..<next]); break }
            }
            i = u.index(after: i)
        }
        return capped(first ?? trim(s[a...]))
    }

    /// At most 240 characters: a longer text is cut at 237 and ends with an ellipsis.
    static func capped(_ text: String) -> String { text.utf8.count > 240 && text.count > 240 ? String(text.prefix(237)) + "…" : text }
}
