/// The taxonomy's starter policy: what each label allows, limits, denies or hides.
public struct PolicyRule: Sendable, Hashable {
    public enum Action: String, Sendable { case allow, deny }
    public var action: Action
    /// Calls per minute, when limited.
    public var ratePerMinute: Int?
    public var reason: String?
    /// Hidden from tools/list as well as denied.
    public var hidden: Bool

    public init(action: Action, ratePerMinute: Int?, reason: String?, hidden: Bool) {
        self.action = action; self.ratePerMinute = ratePerMinute; self.reason = reason; self.hidden = hidden
    }

    public static let approvalReason = "requires human approval"

    /// The starter rule for a label, exactly as the taxonomy's table prescribes.
    public static func starter(category: Category, risk: RiskLevel) -> PolicyRule {
        switch (category, risk) {
        case (.read, .low): PolicyRule(action: .allow, ratePerMinute: nil, reason: nil, hidden: false)
        case (.read, _): PolicyRule(action: .allow, ratePerMinute: 60, reason: nil, hidden: false)
        case (.write, .low), (.write, .medium): PolicyRule(action: .allow, ratePerMinute: 30, reason: nil, hidden: false)
        case (.write, _): PolicyRule(action: .allow, ratePerMinute: 10, reason: nil, hidden: false)
        case (.execute, .critical): PolicyRule(action: .deny, ratePerMinute: nil, reason: approvalReason, hidden: false)
        case (.execute, _): PolicyRule(action: .allow, ratePerMinute: 10, reason: nil, hidden: false)
        case (.destructive, .critical): PolicyRule(action: .deny, ratePerMinute: nil, reason: approvalReason, hidden: true)
        case (.destructive, _), (.financial, _): PolicyRule(action: .deny, ratePerMinute: nil, reason: approvalReason, hidden: false)
        }
    }

    /// The per-tool object of the reference card's policy.json shape: `{}` allows, a rate limit or a deny says so.
    public var jsonRule: JSONValue {
        var o: [String: JSONValue] = [:]
        if action == .deny {
            o["action"] = "deny"
            if let reason { o["reason"] = .string(reason) }
            if hidden { o["hide"] = true }
        } else if let r = ratePerMinute {
            o["rate_limit"] = ["max": .int(Int64(r)), "window": 60]
        }
        return .object(o)
    }

    /// One sentence a person can read, agreeing with `jsonRule`.
    public var summary: String {
        switch action {
        case .allow: ratePerMinute.map { "Allowed, limited to \($0) calls per minute." } ?? "Allowed without a rate limit."
        case .deny: "Denied (\(reason ?? "no reason given"))" + (hidden ? "; also hidden from tools/list." : ".")
        }
    }
}

/// A policy.json document: default deny, one rule per listed tool.
public enum PolicyDocument {
    public static let version = "1"

    public static func json(tools: [(name: String, rule: PolicyRule)]) -> JSONValue {
        var rules: [String: JSONValue] = [:]
        for t in tools { rules[t.name] = t.rule.jsonRule }
        return ["version": .string(version), "default": "deny", "tools": .object(rules)]
    }
}
