import AtlasModel
import Foundation

/// What a rule decides.
public enum RuleStage: String, Sendable { case category, risk, finding }

/// A compiled condition: one signal of a definition and what to look for in it.
enum Condition: Sendable {
    /// The tool's action word (the first verb of the name, the server's own prefix skipped) is one of these.
    case nameVerb([String])
    /// The last word of the tool's name, the server's own name skipped (what it acts on: `list_calendars`, not
    /// `list_calendar_events`), is one of these.
    case nameLast([String])
    /// The first verb of the description's lead, when the name has none.
    case leadVerb([String])
    /// A phrase occurs in one of the named fields. `quiet`: a word the rule's patterns need, written so that a definition
    /// without it is passed over before any pattern runs (`*_needs`); it holds without being quoted as evidence.
    case has(fields: [FieldKind], phrases: [[String]], quiet: Bool)
    /// A word of `first` is followed by a word of `then` at most `within` words later, in one of the named fields (the
    /// folded text's parts read as one). Words are counted as a pattern's `\w+` counts them, or fewer: the pieces of
    /// `snake_case` or `camelCase` are one word (`Features.near`).
    case near(fields: [FieldKind], first: [String], then: [String], within: Int)
    /// A parameter is named like one of these (its whole name, or its last word, or a phrase within it).
    case paramNamed([[String]])
    /// A parameter's whole name is one of these (`code`, not `currency_code`).
    case paramIs([[String]])
    /// The tool takes no parameters (true) or some (false).
    case noParams(Bool)
    /// The server declared these annotation values.
    case annotation([String: Bool])
    /// The category already decided (risk rules).
    case categoryIs([AtlasModel.Category])
    /// A parameter that selects what the tool does (`action`, `operation`, `method`...) offers a choice that opens with
    /// one of these words or phrases (`delete`, `create refund`): a tool that can do several things is judged by the worst
    /// it offers.
    case actionOffered([[String]])
    /// A regular expression matches a field (kept for what word look-ups cannot say: hidden characters, encodings).
    case regex(fields: [FieldKind], ICURegex)
    /// The lead of the description starts the tool's purpose with a negation or it is empty: no usable words at all.
    case unusable(Bool)
    /// A literal string occurs in one of the fields (exact bytes; for characters and markers, not words).
    case contains(fields: [FieldKind], [String])
    /// The title, description, parameter descriptions or instructions hold a character outside ASCII.
    case nonASCII(Bool)
    /// Some word in the title, description, parameter descriptions or instructions is at least this many bytes long.
    case longToken(Int)
}

enum FieldKind: String, Sendable, CaseIterable {
    case name, title, lead, description, params, paramText = "param_text", server, instructions
    /// Title, description, parameter descriptions and instructions, folded: compatibility forms, look-alike letters mapped
    /// to Latin, invisible characters dropped, white space collapsed, lower case. Hidden payloads cannot dodge a pattern here.
    case normalized

    /// Its place in a `FieldMap`.
    var slot: Int {
        switch self {
        case .name: 0
        case .title: 1
        case .lead: 2
        case .description: 3
        case .params: 4
        case .paramText: 5
        case .server: 6
        case .instructions: 7
        case .normalized: 8
        }
    }
}

/// A value per field kind, looked up by position (a dictionary would hash the kind's name on every look-up).
/// One stored property per kind: a definition's features hold several of these, and an array or an `InlineArray` of
/// optionals is allocated or copied through the runtime's generic metadata (a locked look-up) on every use.
struct FieldMap<Value> {
    private var s0, s1, s2, s3, s4, s5, s6, s7, s8: Value?
    @inline(__always) subscript(_ k: FieldKind) -> Value? {
        get {
            switch k.slot {
            case 0: s0
            case 1: s1
            case 2: s2
            case 3: s3
            case 4: s4
            case 5: s5
            case 6: s6
            case 7: s7
            default: s8
            }
        }
        set {
            switch k.slot {
            case 0: s0 = newValue
            case 1: s1 = newValue
            case 2: s2 = newValue
            case 3: s3 = newValue
            case 4: s4 = newValue
            case 5: s5 = newValue
            case 6: s6 = newValue
            case 7: s7 = newValue
            default: s8 = newValue
            }
        }
    }
    /// Each value with its kind's slot.
    @inline(__always) func forEach(_ body: (_ slot: Int, Value) -> Void) {
        if let v = s0 { body(0, v) }; if let v = s1 { body(1, v) }; if let v = s2 { body(2, v) }
        if let v = s3 { body(3, v) }; if let v = s4 { body(4, v) }; if let v = s5 { body(5, v) }
        if let v = s6 { body(6, v) }; if let v = s7 { body(7, v) }; if let v = s8 { body(8, v) }
    }
}

/// A rule as loaded from one file in rules/.
/// A class: the classifier reads a rule's fields for every tool, and a struct of this size would be copied (with a
/// retain of each field) at every read.
public final class Rule: Sendable {
    public let id: String
    public let file: String
    public let stage: RuleStage
    public let summary: String
    public let category: AtlasModel.Category?
    public let risk: RiskLevel?
    public let severity: Severity?
    public let priority: Int
    let when: [Condition]
    let any: [[Condition]]
    let unless: [[Condition]]
    public let examples: RuleExamples

    init(id: String, file: String, stage: RuleStage, summary: String, category: AtlasModel.Category?, risk: RiskLevel?, severity: Severity?,
         priority: Int, when: [Condition], any: [[Condition]], unless: [[Condition]], examples: RuleExamples) {
        self.id = id; self.file = file; self.stage = stage; self.summary = summary; self.category = category; self.risk = risk
        self.severity = severity; self.priority = priority; self.when = when; self.any = any; self.unless = unless; self.examples = examples
    }
}

/// A tool definition a rule must fire on, must not fire on, or is known to miss.
public struct RuleExample: Sendable {
    public var tool: Tool
    public var server: String
    public var expectCategory: AtlasModel.Category?
    public var expectRisk: RiskLevel?
}

public struct RuleExamples: Sendable {
    public var match: [RuleExample]
    public var noMatch: [RuleExample]
    public var knownMiss: [RuleExample]
}

/// A rule file that is not valid, with the file, the rule and the field.
public struct RuleError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var rule: String?
    public var field: String?
    public var message: String
    public var description: String {
        "\(file)" + (rule.map { ": rule \($0)" } ?? "") + (field.map { ", field \($0)" } ?? "") + ": \(message)"
    }
}
