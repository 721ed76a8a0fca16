import AtlasModel

/// A tool with its label, as the policy exporters see it.
public struct PolicyItem: Sendable, Hashable {
    public var server: String
    public var tool: String
    public var category: Category
    public var risk: RiskLevel
    public init(server: String, tool: String, category: Category, risk: RiskLevel) {
        self.server = server; self.tool = tool; self.category = category; self.risk = risk
    }
    public var rule: PolicyRule { PolicyRule.starter(category: category, risk: risk) }
}

/// Starter policies in the formats people load: the policy.json shape, Intercept's YAML, and client-native lists.
public enum PolicyExport {
    public enum Format: String, Sendable, CaseIterable { case json, intercept, claude, codex }

    /// One document for the given tools (one server, or a whole catalogue with server-qualified names where needed).
    public static func render(_ items: [PolicyItem], format: Format, description: String) -> String {
        let sorted = items.sorted { ($0.server, $0.tool) < ($1.server, $1.tool) }
        switch format {
        case .json: return json(sorted).pretty() + "\n"
        case .intercept: return intercept(sorted, description: description)
        case .claude: return claude(sorted).pretty() + "\n"
        case .codex: return codex(sorted)
        }
    }

    /// `{"version":"1","default":"deny","tools":{...}}` for a single server; several servers nest one document per server.
    public static func json(_ items: [PolicyItem]) -> JSONValue {
        let servers = Set(items.map(\.server))
        if servers.count <= 1 { return PolicyDocument.json(tools: items.map { ($0.tool, $0.rule) }) }
        var out: [String: JSONValue] = [:]
        for s in servers { out[s] = PolicyDocument.json(tools: items.filter { $0.server == s }.map { ($0.tool, $0.rule) }) }
        return ["version": .string(PolicyDocument.version), "servers": .object(out)]
    }

    /// Intercept's policy file: `version`, `description`, `default: deny`, `hide`, and per-tool `rules`.
    public static func intercept(_ items: [PolicyItem], description: String) -> String {
        var y = "version: \"1\"\n"
        y += "description: \(yamlString(description))\n"
        y += "default: deny\n"
        let hidden = items.filter { $0.rule.hidden }
        if !hidden.isEmpty {
            y += "hide:\n"
            for h in hidden { y += "  - \(yamlString(h.tool))\n" }
        }
        y += "tools:\n"
        if items.isEmpty { y += "  {}\n" }
        for i in items {
            let r = i.rule
            y += "  \(yamlString(i.tool)):\n"
            switch (r.action, r.ratePerMinute) {
            case (.deny, _):
                y += "    rules:\n"
                y += "      - name: \(yamlString("\(i.category.rawValue) \(i.risk.rawValue): deny"))\n"
                y += "        action: deny\n"
                y += "        on_deny: \(yamlString("\(i.tool) \(r.reason ?? "is denied")"))\n"
            case (.allow, .some(let n)):
                y += "    rules:\n"
                y += "      - name: \(yamlString("\(i.category.rawValue) \(i.risk.rawValue): \(n) calls per minute"))\n"
                y += "        rate_limit: \(n)/minute\n"
            case (.allow, nil):
                y += "    rules: []\n"
            }
        }
        return y
    }

    /// Claude Code settings: `permissions.allow` and `permissions.deny` with `mcp__server__tool` entries.
    public static func claude(_ items: [PolicyItem]) -> JSONValue {
        var allow: [JSONValue] = [], deny: [JSONValue] = []
        for i in items {
            let entry = JSONValue.string("mcp__\(clientName(i.server))__\(i.tool)")
            if i.rule.action == .allow { allow.append(entry) } else { deny.append(entry) }
        }
        return ["permissions": ["allow": .array(allow), "deny": .array(deny)]]
    }

    /// Codex `config.toml`: one `[mcp_servers.NAME]` table per server with `disabled_tools` for every denied tool.
    public static func codex(_ items: [PolicyItem]) -> String {
        var out = ""
        for server in Set(items.map(\.server)).sorted() {
            let denied = items.filter { $0.server == server && $0.rule.action == .deny }.map(\.tool)
            out += "[mcp_servers.\(tomlKey(clientName(server)))]\n"
            out += "disabled_tools = [" + denied.map(tomlString).joined(separator: ", ") + "]\n\n"
        }
        return out
    }

    /// Clients name servers with letters, digits, `_` and `-`.
    public static func clientName(_ s: String) -> String {
        // ASCII text byte by byte: every byte is a character, except CR LF, which is one character (one `_`).
        if s.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(s.utf8.count)
            var previous: UInt8 = 0
            for b in s.utf8 {
                if b == 0x0A && previous == 0x0D { previous = b; continue }
                let keep = (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
                out.append(keep ? b : UInt8(ascii: "_"))
                previous = b
            }
            return String(decoding: out, as: UTF8.self)
        }
        return String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
    }

    /// Whether every byte of `s` is printable ASCII other than `"` and `\`: such text is quoted as it is, in YAML and TOML.
    static func plainQuotable(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    static func yamlString(_ s: String) -> String {
        if plainQuotable(s) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80...0x9f).contains(u.value) || u.value == 0xFEFF || (0x2028...0x2029).contains(u.value) {
                    out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func tomlString(_ s: String) -> String {
        if plainQuotable(s) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 || u.value == 0x7f { out += String(format: "\\u%04X", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func tomlKey(_ s: String) -> String {
        s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) && !s.isEmpty ? s : tomlString(s)
    }
}

/// One-tool policy.json documents, pretty printed, as tool pages show them. A document's shape depends on its rule
/// alone: each rule's document is printed once with a marker for the tool's name, and a page puts the name (as a JSON
/// string) in the marker's place. The result is byte for byte `PolicyDocument.json(tools: [(name, rule)]).pretty()`.
struct OneToolPolicies: Sendable {
    private var parts: [PolicyRule: (head: [UInt8], tail: [UInt8])] = [:]
    private static let marker = "\u{1}name\u{1}"

    init(_ rules: some Sequence<PolicyRule>) {
        var encoded: [UInt8] = []
        JSONValue.writeString(OneToolPolicies.marker, to: &encoded)
        for rule in rules where parts[rule] == nil {
            let doc = PolicyDocument.json(tools: [(OneToolPolicies.marker, rule)]).prettyBytes()
            guard let at = doc.indices.first(where: { doc[$0...].starts(with: encoded) }) else { continue }
            parts[rule] = (Array(doc[..<at]), Array(doc[(at + encoded.count)...]))
        }
    }

    func pretty(_ name: String, _ rule: PolicyRule) -> String {
        guard let p = parts[rule] else { return PolicyDocument.json(tools: [(name, rule)]).pretty() }
        var out = p.head
        out.reserveCapacity(p.head.count + name.utf8.count + 2 + p.tail.count)
        JSONValue.writeString(name, to: &out)
        out += p.tail
        return String(decoding: out, as: UTF8.self)
    }
}
