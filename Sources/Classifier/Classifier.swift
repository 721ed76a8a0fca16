import AtlasModel
import Foundation

typealias Hit = (field: String, fragment: String)

/// The parts of one definition the rules look at, cut into words once.
struct Features {
    let fields: [FieldKind: Field]
    let paramNames: [(name: String, stems: [String])]
    let annotations: ToolAnnotations
    let nameVerb: (stem: String, text: String)?
    let leadVerb: (stem: String, text: String)?
    let usable: Bool

    /// Imperatives that are rarely nouns, so that one at the end of a name is taken as its action word.
    static let trailingVerbs: Set<String> = Set(["get", "set", "create", "delete", "update", "add", "remove", "put", "enable", "disable",
                                                 "clear", "reset", "start", "stop", "toggle", "trigger", "fetch", "read", "write", "send", "resume", "pause"].map(Stemmer.stem))

    /// Lexicon words that open a name as nouns (`status_led_set`), letting a trailing imperative decide.
    static let nounish: Set<String> = Set(["status", "info", "health", "history", "stats", "metrics", "usage", "version", "schema",
                                           "record", "recording", "label", "tag", "note", "log", "lighting", "schedule"].map(Stemmer.stem))

    init(tool: Tool, server: String, instructions: String?, lexicon: Set<String>, leadLexicon: Set<String>, needsNormalized: Bool) {
        let name = Field(name: "name", text: tool.name)
        let lead = Tokenizer.firstSentence(tool.description)
        let params = tool.parameters
        var f: [FieldKind: Field] = [
            .name: name,
            .title: Field(name: "title", text: tool.title ?? ""),
            .lead: Field(name: "description", text: lead),
            .description: Field(name: "description", text: tool.description),
            .params: Field(name: "parameters", text: params.map(\.name).joined(separator: " ")),
            .paramText: Field(name: "parameter descriptions", text: params.map { ([$0.description] + $0.enumValues).joined(separator: " ") }.joined(separator: " \n ")),
            .server: Field(name: "server", text: server),
        ]
        if let instructions { f[.instructions] = Field(name: "instructions", text: instructions) }
        if needsNormalized {
            let folded = Normalizer.fold([tool.title ?? "", tool.description, f[.paramText]!.text, instructions ?? ""].joined(separator: " \n "))
            f[.normalized] = Field(name: "definition (normalized)", text: folded, tokens: [])
        }
        fields = f
        paramNames = params.map { ($0.name, Tokenizer.tokens($0.name).map(\.stem)) }
        annotations = tool.annotations
        // The action word: the first known verb of the name, skipping words that only repeat the server's name.
        let serverStems = Set(Tokenizer.tokens(server).map(\.stem)).subtracting(lexicon)
        let words = name.tokens.filter { !serverStems.contains($0.stem) }
        var verb = words.first(where: { lexicon.contains($0.stem) })
        // `camera_led_brightness_get` style: a plain imperative at the end is the action, unless one opens the name.
        if let last = words.last, words.count > 1, Features.trailingVerbs.contains(last.stem), lexicon.contains(last.stem),
           words.dropLast().allSatisfy({ !lexicon.contains($0.stem) || Features.nounish.contains($0.stem) }) {
            verb = last
        }
        nameVerb = verb.map { ($0.stem, String(name.text[$0.start..<$0.end])) }
        let leadField = f[.lead]!
        leadVerb = leadField.tokens.prefix(12).first(where: { leadLexicon.contains($0.stem) })
            .map { ($0.stem, String(leadField.text[$0.start..<$0.end])) }
        let nameWords = name.tokens.filter { !serverStems.contains($0.stem) }.count
        usable = nameWords > 0 && (nameVerb != nil || leadField.tokens.count >= 3)
    }
}

/// Decides category, risk, evidence and findings from the rules in rules/. Pure: no I/O after loading.
public struct Classifier: Sendable {
    public let rules: [Rule]
    let categoryRules: [Rule]
    let riskRules: [Rule]
    let findingRules: [Rule]
    let lexicon: Set<String>
    let leadLexicon: Set<String>
    let usesNormalized: Bool

    public init(rules: [Rule]) {
        self.rules = rules
        categoryRules = rules.filter { $0.stage == .category }.sorted { ($0.priority, $0.id) > ($1.priority, $1.id) }
        riskRules = rules.filter { $0.stage == .risk }.sorted { $0.id < $1.id }
        findingRules = rules.filter { $0.stage == .finding }.sorted { $0.id < $1.id }
        // The verbs the rules name are the vocabulary for finding a tool's action word.
        var lex = Set<String>(), lead = Set<String>()
        // Only category rules' own conditions define action words: a word named in an `unless` or by a risk
        // or finding rule (`email`) must not turn a noun into a verb.
        for r in rules where r.stage == .category {
            for c in r.when + r.any.flatMap({ $0 }) {
                if case .nameVerb(let v) = c { lex.formUnion(v) }
                if case .leadVerb(let v) = c { lead.formUnion(v) }
            }
        }
        lexicon = lex
        leadLexicon = lead
        usesNormalized = rules.contains { r in
            (r.when + r.any.flatMap { $0 } + r.unless.flatMap { $0 }).contains { c in
                if case .regex(let kinds, _) = c { return kinds.contains(.normalized) }
                if case .has(let kinds, _) = c { return kinds.contains(.normalized) }
                return false
            }
        }
    }

    public init(directory: String) throws(RuleError) { self.init(rules: try RuleLoader.load(directory: directory)) }

    public struct Result: Sendable {
        public var verdict: Verdict
        public var findings: [Finding]
        public var firedRules: [String]
    }

    public func classify(_ tool: Tool, server: String = "", instructions: String? = nil) -> Result {
        let f = Features(tool: tool, server: server, instructions: instructions, lexicon: lexicon, leadLexicon: leadLexicon, needsNormalized: usesNormalized)
        var fired: [String] = []
        // Category: the strongest evidence wins; among equally strong evidence, the most severe category.
        var winner: (rule: Rule, evidence: [Hit])? = nil
        // Every rule is evaluated so that the explanation lists all that fired; the first (strongest) decides.
        for rule in categoryRules {
            guard let ev = evaluate(rule, f, category: nil) else { continue }
            fired.append(rule.id)
            if let w = winner {
                if rule.priority == w.rule.priority && rule.category! > w.rule.category! { winner = (rule, ev) }
            } else {
                winner = (rule, ev)
            }
        }
        var evidence: [Evidence] = []
        var category: AtlasModel.Category
        var start: RiskLevel
        var confidence: Confidence
        if let w = winner {
            category = w.rule.category!
            start = w.rule.risk ?? category.baseline
            confidence = w.rule.priority >= 60 ? .high : .medium
            evidence = w.evidence.map { Evidence(rule: w.rule.id, field: $0.field, fragment: $0.fragment, effect: "category \(category.rawValue)") }
        } else {
            category = .write
            start = RiskLevel.medium
            confidence = .low
            evidence = [Evidence(rule: "unclear", field: "definition", fragment: "", effect: "no rule decided: treated as Write")]
        }
        if !f.usable || winner == nil {
            start = start.raised()
            confidence = .low
            evidence.append(Evidence(rule: "unclear", field: "name and description", fragment: tool.name, effect: "risk raised one level for uncertainty"))
        }
        // Risk: modifiers that plainly hold; a raise and a lower together cancel.
        var raises: [(Rule, [Hit])] = []
        var lowers: [(Rule, [Hit])] = []
        for rule in riskRules {
            guard let ev = evaluate(rule, f, category: category) else { continue }
            fired.append(rule.id)
            // A rule above the category's baseline raises (never lowers); one at or below it lowers (never raises).
            if rule.risk! > category.baseline {
                if rule.risk! > start { raises.append((rule, ev)) }
            } else if rule.risk! < start {
                lowers.append((rule, ev))
            }
        }
        var risk = start
        if !raises.isEmpty && !lowers.isEmpty {
            for (r, ev) in raises + lowers { evidence += ev.map { Evidence(rule: r.id, field: $0.field, fragment: $0.fragment, effect: "cancelled: a raise and a lower both hold") } }
        } else if let top = raises.max(by: { $0.0.risk! < $1.0.risk! }) {
            risk = top.0.risk!
            evidence += top.1.map { Evidence(rule: top.0.id, field: $0.field, fragment: $0.fragment, effect: "risk \(risk.rawValue)") }
        } else if let bottom = lowers.min(by: { $0.0.risk! < $1.0.risk! }) {
            risk = bottom.0.risk!
            evidence += bottom.1.map { Evidence(rule: bottom.0.id, field: $0.field, fragment: $0.fragment, effect: "risk \(risk.rawValue)") }
        }
        let verdict = Verdict(category: category, risk: risk, confidence: confidence, evidence: evidence)
        // Findings see the verdict, so that annotations can be checked against it.
        var findings: [Finding] = []
        for rule in findingRules {
            guard let ev = evaluate(rule, f, category: category) else { continue }
            fired.append(rule.id)
            let first = ev.first(where: { !$0.fragment.isEmpty }) ?? ev.first
            findings.append(Finding(rule: rule.id, severity: rule.severity!, title: rule.summary, tool: tool.name,
                                    field: first?.field ?? "definition", fragment: first?.fragment ?? ""))
        }
        return Result(verdict: verdict, findings: findings, firedRules: fired)
    }

    /// Whether a rule fires, with the evidence of each condition that held.
    func evaluate(_ rule: Rule, _ f: Features, category: AtlasModel.Category?) -> [(field: String, fragment: String)]? {
        var ev: [(field: String, fragment: String)] = []
        for c in rule.when {
            guard let e = check(c, f, category) else { return nil }
            if let e { ev.append(e) }
        }
        if !rule.any.isEmpty {
            var matched = false
            for group in rule.any {
                var gev: [(field: String, fragment: String)] = []
                var ok = true
                for c in group {
                    guard let e = check(c, f, category) else { ok = false; break }
                    if let e { gev.append(e) }
                }
                if ok { ev += gev; matched = true; break }
            }
            if !matched { return nil }
        }
        for group in rule.unless where group.allSatisfy({ check($0, f, category) != nil }) { return nil }
        return ev
    }

    /// nil: the condition does not hold. .some(nil): it holds with nothing to quote. .some(e): it holds, quoting e.
    func check(_ c: Condition, _ f: Features, _ category: AtlasModel.Category?) -> (field: String, fragment: String)?? {
        switch c {
        case .nameVerb(let verbs):
            guard let v = f.nameVerb, verbs.contains(v.stem) else { return nil }
            return .some(("name", v.text))
        case .leadVerb(let verbs):
            guard f.nameVerb == nil, let v = f.leadVerb, verbs.contains(v.stem) else { return nil }
            return .some(("description", v.text))
        case .has(let kinds, let phrases):
            for k in kinds {
                guard let field = f.fields[k] else { continue }
                for p in phrases { if let r = field.find(p) { return .some((field.name, field.quote(r))) } }
            }
            return nil
        case .paramNamed(let phrases):
            for p in f.paramNames {
                for ph in phrases {
                    // A one-word phrase names the parameter itself or its last word (`shell_command`, not `max_command_length`).
                    if p.stems == ph || (ph.count == 1 && p.stems.last == ph[0]) || (ph.count > 1 && contains(p.stems, ph)) {
                        return .some(("parameters", p.name))
                    }
                }
            }
            return nil
        case .paramIs(let names):
            for p in f.paramNames where names.contains(p.stems) { return .some(("parameters", p.name)) }
            return nil
        case .noParams(let want):
            return (f.paramNames.isEmpty == want) ? .some(nil) : nil
        case .annotation(let want):
            for (k, v) in want {
                let have: Bool?
                switch k {
                case "readOnlyHint": have = f.annotations.readOnlyHint
                case "destructiveHint": have = f.annotations.destructiveHint
                case "idempotentHint": have = f.annotations.idempotentHint
                default: have = f.annotations.openWorldHint
                }
                if have != v { return nil }
            }
            return .some(("annotations", want.keys.sorted().map { "\($0): \(want[$0]!)" }.joined(separator: ", ")))
        case .categoryIs(let cats):
            guard let category, cats.contains(category) else { return nil }
            return .some(nil)
        case .regex(let kinds, let re):
            for k in kinds {
                guard let field = f.fields[k], !field.text.isEmpty else { continue }
                let ns = field.text as NSString
                if let m = re.firstMatch(in: field.text, range: NSRange(location: 0, length: ns.length)) {
                    return .some((field.name, String(ns.substring(with: m.range).prefix(160))))
                }
            }
            return nil
        case .unusable(let want):
            return (!f.usable == want) ? .some(nil) : nil
        }
    }

    private func contains(_ hay: [String], _ needle: [String]) -> Bool {
        guard needle.count <= hay.count else { return false }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<(i + needle.count)]) == needle { return true }
        return false
    }
}

extension Classifier {
    /// Finding rules run over a server's `instructions` text, as if it were a tool description.
    public func instructionFindings(_ instructions: String, server: String) -> [Finding] {
        let pseudo = Tool(name: "server-instructions", description: instructions)
        return classify(pseudo, server: server).findings
            .filter { !$0.rule.hasPrefix("annotation") && !$0.rule.contains("exfil") }
            .map { Finding(rule: $0.rule, severity: $0.severity, title: $0.title, tool: nil, field: "instructions", fragment: $0.fragment) }
    }
}
