import AtlasModel
import Foundation
import Yams

/// Loads and validates every rule file below a folder: one rule per `.yaml` file.
public enum RuleLoader {
    public static func defaultRulesPath() -> String { BundledPath.find("rules") }

    public static func load(directory: String) throws(RuleError) -> [Rule] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw RuleError(file: directory, message: "no rules folder here")
        }
        var files: [String] = []
        while let f = walker.nextObject() as? String {
            if f.hasSuffix(".yaml") || f.hasSuffix(".yml") { files.append(f) }
        }
        var rules: [Rule] = []
        var ids: [String: String] = [:]
        for f in files.sorted() {
            let path = directory + "/" + f
            let rule = try load(file: path, displayName: f)
            if let other = ids[rule.id] { throw RuleError(file: f, rule: rule.id, field: "id", message: "duplicate id (also in \(other))") }
            ids[rule.id] = f
            rules.append(rule)
        }
        if rules.isEmpty { throw RuleError(file: directory, message: "no rule files (*.yaml) found") }
        return rules
    }

    public static func load(file path: String, displayName: String? = nil) throws(RuleError) -> Rule {
        let name = displayName ?? path
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw RuleError(file: name, message: "cannot read the file as UTF-8")
        }
        return try parse(yaml: text, file: name)
    }

    public static func parse(yaml text: String, file: String) throws(RuleError) -> Rule {
        let root: JSONValue?
        do { root = try YAMLReader.read(text) } catch { throw RuleError(file: file, message: "not valid YAML: \(error.message)") }
        guard case .object(let o)? = root else { throw RuleError(file: file, message: "a rule file is a YAML mapping") }
        let known: Set<String> = ["id", "stage", "summary", "category", "risk", "severity", "priority", "when", "any", "unless", "examples"]
        guard let id = o["id"]?.stringValue, !id.isEmpty else { throw RuleError(file: file, field: "id", message: "missing") }
        func err(_ field: String, _ m: String) -> RuleError { RuleError(file: file, rule: id, field: field, message: m) }
        if let extra = o.keys.sorted().first(where: { !known.contains($0) }) { throw err(extra, "unknown field") }
        guard let stageText = o["stage"]?.stringValue, let stage = RuleStage(rawValue: stageText) else {
            throw err("stage", "must be one of category, risk, finding")
        }
        guard let summary = o["summary"]?.stringValue, !summary.isEmpty else { throw err("summary", "missing") }
        var category: AtlasModel.Category? = nil
        if let c = o["category"]?.stringValue {
            guard let cc = AtlasModel.Category(label: c) else { throw err("category", "unknown category \(c)") }
            category = cc
        }
        var risk: RiskLevel? = nil
        if let r = o["risk"]?.stringValue {
            guard let rr = RiskLevel(label: r) else { throw err("risk", "unknown risk level \(r)") }
            risk = rr
        }
        var severity: Severity? = nil
        if let s = o["severity"]?.stringValue {
            guard let ss = Severity(rawValue: s.lowercased()) else { throw err("severity", "unknown severity \(s)") }
            severity = ss
        }
        switch stage {
        case .category: if category == nil { throw err("category", "a category rule names its category") }
        case .risk: if risk == nil { throw err("risk", "a risk rule names the level it moves to") }
        case .finding: if severity == nil { throw err("severity", "a finding rule names its severity") }
        }
        let priority = o["priority"]?.intValue ?? 50
        let when = try conditions(o["when"], field: "when", err)
        let any = try (o["any"]?.arrayValue ?? []).enumerated().map { (i, v) throws(RuleError) in try conditions(v, field: "any[\(i)]", err) }
        var unless: [[Condition]] = []
        if let u = o["unless"] {
            if let list = u.arrayValue {
                for (i, v) in list.enumerated() { unless.append(try conditions(v, field: "unless[\(i)]", err)) }
            } else { unless = [try conditions(u, field: "unless", err)] }
        }
        if when.isEmpty && any.isEmpty { throw err("when", "a rule needs at least one condition in when or any") }
        let ex = o["examples"]
        let match = try examples(ex?["match"], field: "examples.match", err)
        let noMatch = try examples(ex?["no_match"], field: "examples.no_match", err)
        let miss = try examples(ex?["known_miss"], field: "examples.known_miss", err)
        if match.isEmpty { throw err("examples.match", "every rule carries at least one example it must fire on") }
        if noMatch.isEmpty { throw err("examples.no_match", "every rule carries at least one example it must not fire on") }
        return Rule(id: id, file: file, stage: stage, summary: summary, category: category, risk: risk, severity: severity, priority: priority,
                    when: when, any: any, unless: unless, examples: RuleExamples(match: match, noMatch: noMatch, knownMiss: miss))
    }

    static func phrases(_ v: JSONValue, field: String, _ err: (String, String) -> RuleError) throws(RuleError) -> [[String]] {
        let list: [JSONValue] = v.arrayValue ?? [v]
        var out: [[String]] = []
        for item in list {
            guard let s = item.stringValue ?? (item.intValue.map(String.init)) else { throw err(field, "expected a list of words or phrases") }
            let stems = Tokenizer.tokens(s).map(\.stem)
            if stems.isEmpty { throw err(field, "\"\(s)\" has no words") }
            out.append(stems)
        }
        return out
    }

    static func conditions(_ v: JSONValue?, field: String, _ err: (String, String) -> RuleError) throws(RuleError) -> [Condition] {
        guard let v else { return [] }
        guard let o = v.objectValue else { throw err(field, "expected a mapping of conditions") }
        var out: [Condition] = []
        for key in o.keys.sorted() {
            let value = o[key]!
            let f = "\(field).\(key)"
            switch key {
            case "name_verb": out.append(.nameVerb(try phrases(value, field: f, err).map { $0.joined(separator: " ") }))
            case "name_last": out.append(.nameLast(try phrases(value, field: f, err).map { $0.joined(separator: " ") }))
            case "lead_verb": out.append(.leadVerb(try phrases(value, field: f, err).map { $0.joined(separator: " ") }))
            case "param_named": out.append(.paramNamed(try phrases(value, field: f, err)))
            case "param_is": out.append(.paramIs(try phrases(value, field: f, err)))
            case "action_offered":
                // A choice is matched by its opening words: `delete` matches `delete_all`, `create refund` matches `create_refund`.
                out.append(.actionOffered(try phrases(value, field: f, err)))
            case "no_params":
                guard let b = value.boolValue else { throw err(f, "expected true or false") }
                out.append(.noParams(b))
            case "unusable":
                guard let b = value.boolValue else { throw err(f, "expected true or false") }
                out.append(.unusable(b))
            case "annotation":
                guard let a = value.objectValue else { throw err(f, "expected a mapping such as {readOnlyHint: true}") }
                var m: [String: Bool] = [:]
                for (k, b) in a {
                    guard ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"].contains(k), let bb = b.boolValue else {
                        throw err(f + "." + k, "unknown annotation or not a boolean")
                    }
                    m[k] = bb
                }
                out.append(.annotation(m))
            case "non_ascii":
                guard let b = value.boolValue else { throw err(f, "expected true or false") }
                out.append(.nonASCII(b))
            case "long_token":
                guard let n = value.intValue, n > 0 else { throw err(f, "expected a positive number of bytes") }
                out.append(.longToken(n))
            case "category_is":
                var cats: [AtlasModel.Category] = []
                for c in value.arrayValue ?? [value] {
                    guard let s = c.stringValue, let cc = AtlasModel.Category(label: s) else { throw err(f, "unknown category \(c.canonical())") }
                    cats.append(cc)
                }
                out.append(.categoryIs(cats))
            default:
                if key.hasSuffix("_regex") {
                    let fields = try fieldKinds(String(key.dropLast(6)), f, err)
                    guard let pattern = value.stringValue else { throw err(f, "expected a pattern string") }
                    // Folded text is lower case already; case-insensitive matching would only slow it down. Compiled once,
                    // here, by the ICU the classifier runs it with.
                    do { out.append(.regex(fields: fields, try ICURegex(pattern: pattern, caseInsensitive: fields != [.normalized]))) } catch {
                        throw err(f, "pattern does not compile: \(error)")
                    }
                } else if key.hasSuffix("_contains") {
                    let literals = (value.arrayValue ?? [value]).compactMap(\.stringValue)
                    if literals.isEmpty || literals.contains(where: \.isEmpty) { throw err(f, "expected a list of non-empty strings") }
                    out.append(.contains(fields: try fieldKinds(String(key.dropLast(9)), f, err), literals))
                } else if key.hasSuffix("_has") {
                    let kinds = try fieldKinds(String(key.dropLast(4)), f, err)
                    // A list of lists is several conditions on the same field, all of which must hold.
                    if let lists = value.arrayValue, !lists.isEmpty, lists.allSatisfy({ $0.arrayValue != nil }) {
                        for (i, list) in lists.enumerated() { out.append(.has(fields: kinds, phrases: try phrases(list, field: "\(f)[\(i)]", err), quiet: false)) }
                    } else {
                        out.append(.has(fields: kinds, phrases: try phrases(value, field: f, err), quiet: false))
                    }
                } else if key.hasSuffix("_near") {
                    // One mapping, or a list of them (several conditions, all of which must hold).
                    let kinds = try fieldKinds(String(key.dropLast(5)), f, err)
                    let items = value.arrayValue ?? [value]
                    for (i, item) in items.enumerated() {
                        let g = value.arrayValue == nil ? f : "\(f)[\(i)]"
                        guard let m = item.objectValue, Set(m.keys) == ["first", "then", "within"] else {
                            throw err(g, "expected {first: [words], then: [words], within: number of words}")
                        }
                        func words(_ k: String) throws(RuleError) -> [String] {
                            let p = try phrases(m[k]!, field: "\(g).\(k)", err)
                            if let bad = p.first(where: { $0.count != 1 }) { throw err("\(g).\(k)", "\"\(bad.joined(separator: " "))\" is not one word") }
                            return p.map { $0[0] }
                        }
                        guard let within = m["within"]!.intValue, (1...20).contains(within) else { throw err("\(g).within", "expected a number of words from 1 to 20") }
                        out.append(.near(fields: kinds, first: try words("first"), then: try words("then"), within: within))
                    }
                } else if key.hasSuffix("_needs") {
                    // Words a group's pattern cannot match without: a cheap test first, quoted as no evidence.
                    out.append(.has(fields: try fieldKinds(String(key.dropLast(6)), f, err), phrases: try phrases(value, field: f, err), quiet: true))
                } else {
                    throw err(f, "unknown condition")
                }
            }
        }
        // Cheap look-ups first, regular expressions last: a rule stops at its first condition that fails.
        return out.sorted { cost($0) < cost($1) }
    }

    static func cost(_ c: Condition) -> Int {
        switch c {
        case .regex: 3
        case .contains, .longToken, .nonASCII: 2
        case .has, .near, .paramNamed, .paramIs: 1
        default: 0
        }
    }

    /// `name`, `lead`, `text` (name, title and description), `any` (text plus parameters) and the other field names.
    static func fieldKinds(_ s: String, _ f: String, _ err: (String, String) -> RuleError) throws(RuleError) -> [FieldKind] {
        switch s {
        case "text": return [.name, .title, .description]
        case "any": return [.name, .title, .description, .params, .paramText]
        case "head": return [.name, .title, .lead]
        case "all": return [.title, .description, .paramText, .instructions]
        default:
            guard let k = FieldKind(rawValue: s) else { throw err(f, "unknown field \(s)") }
            return [k]
        }
    }

    static func examples(_ v: JSONValue?, field: String, _ err: (String, String) -> RuleError) throws(RuleError) -> [RuleExample] {
        guard let v else { return [] }
        guard let list = v.arrayValue else { throw err(field, "expected a list of tool definitions") }
        var out: [RuleExample] = []
        for (i, item) in list.enumerated() {
            var def = item
            if let s = item.stringValue { def = ["name": .string(s)] }
            guard case .object(var o) = def else { throw err("\(field)[\(i)]", "expected a tool definition") }
            let server = o.removeValue(forKey: "server")?.stringValue ?? ""
            let cat = o.removeValue(forKey: "expect_category")?.stringValue.flatMap { AtlasModel.Category(label: $0) }
            let risk = o.removeValue(forKey: "expect_risk")?.stringValue.flatMap { RiskLevel(label: $0) }
            // Short form: `params: [a, b]` stands for an object schema with those string properties; a mapping gives
            // each parameter's own schema (`params: {action: {type: string, enum: [list, delete]}}`).
            if let params = o.removeValue(forKey: "params") {
                var props: [String: JSONValue] = [:]
                if let list = params.arrayValue {
                    for p in list { if let n = p.stringValue { props[n] = ["type": "string"] } }
                } else if let map = params.objectValue {
                    props = map
                } else {
                    throw err("\(field)[\(i)].params", "expected a list of parameter names or a mapping of parameter schemas")
                }
                o["inputSchema"] = ["type": "object", "properties": .object(props)]
            }
            do { out.append(RuleExample(tool: try Tool(json: .object(o)), server: server, expectCategory: cat, expectRisk: risk)) } catch {
                throw err("\(field)[\(i)]", "\(error)")
            }
        }
        return out
    }

    /// `s` as a decimal integer with an optional sign, when it is written as one: `0`, or digits not opening with 0.
    static func decimal(_ s: String) -> Int64? {
        var digits = Substring(s)
        if let sign = digits.first, sign == "-" || sign == "+" { digits = digits.dropFirst() }
        guard let first = digits.utf8.first, first != 0x30 || digits.utf8.count == 1,
              digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(s)
    }

    /// A plain scalar typed as YAML's default schema types it (booleans such as `yes` and `off`, integers, floats, null,
    /// timestamps). A scalar that starts with a letter and is none of those few words is text, and a decimal integer is
    /// read as one: only the others (signs, dots, `~`, octal or binary digits) go through the library's resolver, which
    /// tries a regular expression per type (and compiles them all the first time it is asked).
    static func typed(_ s: String) -> JSONValue {
        // Most scalars are words: one that opens with an ASCII letter is text unless it is one of the few words below
        // (none longer than five bytes, each opening with one of these letters).
        if let b = s.utf8.first, (b | 0x20) >= 0x61, (b | 0x20) <= 0x7A,
           s.utf8.count > 5 || !(b | 0x20 == 0x79 || b | 0x20 == 0x74 || b | 0x20 == 0x6F || b | 0x20 == 0x6E || b | 0x20 == 0x66) {
            return .string(s)
        }
        switch s {
        case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return .bool(true)
        case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return .bool(false)
        case "null", "Null", "NULL": return .null
        default: break
        }
        if let first = s.unicodeScalars.first, first.properties.isAlphabetic { return .string(s) }
        // A plain decimal integer (`priority: 70`), as the resolver's int type reads it: no leading zero (octal there),
        // no underscore, in range.
        if let n = decimal(s) { return .int(n) }
        let scalar = Node.Scalar(s)
        switch Resolver.default.resolveTag(of: .scalar(scalar)) {
        case .bool: return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(s)
        case .int: return Int.construct(from: scalar).map { .int(Int64($0)) } ?? .string(s)
        case .float: return Double.construct(from: scalar).map(JSONValue.double) ?? .string(s)
        case .null, .timestamp: return .null
        default: return .string(s)
        }
    }
}
