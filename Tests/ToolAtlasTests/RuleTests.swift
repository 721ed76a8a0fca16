@testable import AtlasModel
@testable import Classifier
import Foundation
import Testing

/// Every rule's own examples, one test case per rule: adding a rule file adds a case, with no Swift edit.
@Suite("Rules")
struct RuleTests {
    static let classifier = try! Classifier(directory: Fixtures.rules)

    /// The category and risk level of a tool with only a name and a description.
    static func verdict(_ name: String, _ description: String) -> (AtlasModel.Category, RiskLevel) {
        let v = classifier.classify(Tool(name: name, description: description)).verdict
        return (v.category, v.risk)
    }
    static let ruleIDs = classifier.rules.map(\.id).sorted()

    @Test("each rule fires on its match examples and not on its no_match examples", arguments: ruleIDs)
    func examples(_ id: String) {
        let rule = Self.classifier.rules.first { $0.id == id }!
        let failures = RuleExamplesRunner.check(rule, Self.classifier)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("the screens only rule out rules that cannot fire: every hand-made (and, where present, corpus) tool gets the same verdict, rules, evidence and findings without them")
    func screensAreSound() throws {
        var unscreened = Self.classifier
        unscreened.screening = false
        var compared = 0
        // The shared corpus sits beside the checkout on the development machines only; the hand-made set is in the repository.
        let paths = [Fixtures.corpus, Fixtures.handmade].filter { FileManager.default.fileExists(atPath: $0) }
        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let o = try JSONValue.parse(Array(line.utf8))
                let tool = try Tool(json: o["tool"]!)
                let server = o["server"]?.stringValue ?? ""
                let a = Self.classifier.classify(tool, server: server), b = unscreened.classify(tool, server: server)
                #expect(a.firedRules == b.firedRules, "\(o["id"]?.stringValue ?? "")")
                #expect(a.verdict == b.verdict && a.findings == b.findings, "\(o["id"]?.stringValue ?? "")")
                compared += 1
            }
        }
        #expect(compared >= 2600)
    }

    @Test("a server's name cut once notes its words where each definition's fields note theirs, as cutting it with the definition did")
    func serverNotes() {
        let v = Self.classifier.vocabulary
        let stride = (v.count + 63) >> 6
        // The tables a definition's fields note their words in, as one list: words present, the fields of each, pairs.
        func notes(_ fill: (WordNotes) -> Void) -> [UInt64] {
            let present = UnsafeMutablePointer<UInt64>.allocate(capacity: stride), fields = UnsafeMutablePointer<UInt16>.allocate(capacity: stride * 64)
            let pairs = UnsafeMutablePointer<UInt64>.allocate(capacity: WordPairs.words), room = TokenRoom.make()
            present.initialize(repeating: 0, count: stride)
            fields.initialize(repeating: 0, count: stride * 64)
            pairs.initialize(repeating: 0, count: WordPairs.words)
            defer { present.deallocate(); fields.deallocate(); pairs.deallocate(); TokenRoom.free(room) }
            fill(WordNotes(present: present, fields: fields, pairs: pairs, bit: 1 << UInt16(FieldKind.server.slot), room: room))
            return (0..<stride).map { present[$0] } + (0..<(stride * 64)).map { UInt64(fields[$0]) } + (0..<WordPairs.words).map { pairs[$0] }
        }
        var noted = 0, paired = 0, joined = 0
        for name in ["", "github", "file-search-server", "mcp-server-postgres", "GraphQL-server", "JavaScript runner", "delete files now",
                     "io.github.user/send-email", "検索サーバー", "ＭＣＰ-files", "a"] {
            if !Self.classifier.server(name).field.joined.isEmpty { joined += 1 }
            let cut = notes { _ = Field(name: "server", text: name, vocabulary: v, notes: $0) }
            let once = notes { Self.classifier.server(name).field.note(into: $0) }
            let differ = zip(cut, once).filter { $0 != $1 }.count
            #expect(differ == 0, "\(name): \(differ) words of the tables differ")
            if cut.prefix(stride).contains(where: { $0 != 0 }) { noted += 1 }
            if cut.suffix(WordPairs.words).contains(where: { $0 != 0 }) { paired += 1 }
        }
        // Names with words the rules know, side by side.
        #expect(noted >= 6 && paired >= 3 && joined >= 1, "\(noted) names noted words, \(paired) pairs, \(joined) words cut by their capitals")
    }

    static func load(_ yaml: String) -> RuleError? {
        do { _ = try RuleLoader.parse(yaml: yaml, file: "bad.yaml"); return nil } catch { return error }
    }

    @Test("a rule file without no_match examples is refused, naming the file, rule and field")
    func needsBothExamples() {
        let e = Self.load("id: x\nstage: category\ncategory: Read\nsummary: s\nwhen: {name_verb: [get]}\nexamples:\n  match: [get_x]\n")
        #expect(e?.description == "bad.yaml: rule x, field examples.no_match: every rule carries at least one example it must not fire on")
    }

    @Test("an unknown category is refused")
    func unknownCategory() {
        let e = Self.load("id: x\nstage: category\ncategory: Other\nsummary: s\nwhen: {name_verb: [get]}\nexamples: {match: [a], no_match: [b]}\n")
        #expect(e?.field == "category")
        #expect(e?.message.contains("Other") == true)
    }

    @Test("a pattern that does not compile is refused")
    func badRegex() {
        let e = Self.load("id: x\nstage: finding\nseverity: high\nsummary: s\nwhen: {description_regex: \"([a-\"}\nexamples: {match: [a], no_match: [b]}\n")
        #expect(e?.field == "when.description_regex")
        // ICU's own name for what is wrong, and where.
        #expect(e?.message.hasPrefix("pattern does not compile: U_REGEX_") == true && e?.message.hasSuffix("at line 1, offset 4") == true, "\(e?.message ?? "")")
    }

    @Test("an unknown condition is refused")
    func unknownCondition() {
        let e = Self.load("id: x\nstage: category\ncategory: Read\nsummary: s\nwhen: {name_verbs: [get]}\nexamples: {match: [a], no_match: [b]}\n")
        #expect(e?.field == "when.name_verbs")
    }

    @Test("a *_needs condition lets a rule pass over a definition without the word, and quotes nothing when it holds")
    func needsWords() throws {
        let rule = try RuleLoader.parse(yaml: "id: x\nstage: category\ncategory: Execute\nsummary: s\nwhen: {description_needs: [packages], lead_regex: '^install (\\w+ )?packages'}\nexamples: {match: [a], no_match: [b]}\n", file: "x.yaml")
        let c = Classifier(rules: [rule])
        let hit = c.classify(Tool(name: "setup", description: "Install Python packages from a list."))
        #expect(hit.firedRules == ["x"])
        // Only the pattern's match is evidence; the needed word is not quoted again.
        #expect(hit.verdict.evidence.map(\.fragment) == ["Install Python packages"])
        #expect(c.classify(Tool(name: "setup", description: "Install Python modules from a list.")).firedRules.isEmpty)
    }

    @Test("a *_near condition holds when a word of the first set is followed closely enough by one of the second, counting words as a pattern does")
    func nearWords() throws {
        let rule = try RuleLoader.parse(yaml: "id: x\nstage: finding\nseverity: high\nsummary: s\nwhen: {normalized_near: [{first: [never, not], then: [tell], within: 3}]}\nexamples: {match: [a], no_match: [b]}\n", file: "x.yaml")
        let c = Classifier(rules: [rule])
        func fires(_ description: String, params: [String: String] = [:]) -> Bool {
            var props: [String: JSONValue] = [:]
            for (k, v) in params { props[k] = .object(["type": .string("string"), "description": .string(v)]) }
            let tool = try! Tool(json: .object(["name": .string("add"), "description": .string(description),
                                                "inputSchema": .object(["type": .string("object"), "properties": .object(props)])]))
            return c.classify(tool).findings.contains { $0.rule == "x" }
        }
        #expect(fires("Adds. Never tell anyone.") && fires("Adds. Do not ever really tell."))
        #expect(!fires("Adds. Do not ever really, truly tell.") && !fires("Adds. Tell, never."))
        // The pieces of snake_case or camelCase are one word, as they are to a pattern's \w+; a dash between words is not.
        #expect(fires("Adds. Never some_long_snake_name tell.") && fires("Adds. Never aVeryLongCamelName xx tell."))
        #expect(!fires("Adds. Never a-b-c tell."))
        // The folded text's parts are read as one: a description's last word and a parameter description's first are neighbours.
        #expect(fires("Adds numbers. Never", params: ["a": "tell the user."]))
        #expect(c.classify(Tool(name: "add", description: "Adds. Never tell.")).findings.first?.fragment == "Never ... tell")
        for (yaml, field) in [("{first: [a], then: [b]}", "when.normalized_near"), ("{first: [a b], then: [c], within: 2}", "when.normalized_near.first"),
                              ("{first: [a], then: [c], within: 40}", "when.normalized_near.within"),
                              ("[{first: [a], then: [c], within: 2}, {first: [a], then: [c d], within: 2}]", "when.normalized_near[1].then")] {
            let e = Self.load("id: x\nstage: finding\nseverity: high\nsummary: s\nwhen: {normalized_near: \(yaml)}\nexamples: {match: [a], no_match: [b]}\n")
            #expect(e?.field == field, "\(yaml)")
        }
    }

    @Test("an offered action matches a choice by its opening words, and example parameters must be a list or a mapping")
    func actionOfferedAndParams() throws {
        let rule = try RuleLoader.parse(yaml: "id: x\nstage: category\ncategory: Write\nsummary: s\nwhen: {action_offered: [delete, hang up]}\nexamples: {match: [a], no_match: [b]}\n", file: "x.yaml")
        let c = Classifier(rules: [rule])
        func fires(_ choices: [String]) -> Bool {
            let tool = try! Tool(json: .object(["name": .string("calls"), "inputSchema": .object(["type": .string("object"), "properties": .object([
                "action": .object(["type": .string("string"), "enum": .array(choices.map { .string($0) })])])])]))
            return c.classify(tool).firedRules.contains("x")
        }
        #expect(fires(["list", "hang_up"]) && fires(["delete_all"]) && fires(["HangUp"]))
        #expect(!fires(["list", "hang"]) && !fires(["up_hang"]) && !fires(["undelete"]))
        let p = Self.load("id: x\nstage: category\ncategory: Write\nsummary: s\nwhen: {action_offered: [delete]}\nexamples: {match: [{name: a, params: 3}], no_match: [b]}\n")
        #expect(p?.field == "examples.match[0].params")
    }

    @Test("a key given twice in one mapping is refused, naming the line")
    func duplicateKey() {
        let e = Self.load("id: x\nstage: category\ncategory: Read\nsummary: s\nwhen: {name_verb: [get], name_verb: [list]}\nexamples: {match: [a], no_match: [b]}\n")
        #expect(e?.message.hasPrefix("not valid YAML") == true && e?.message.contains("line 5") == true, "\(String(describing: e))")
        // One line: the parser's complaint and its place, not the file quoted back.
        #expect(e?.message.contains("\n") == false && e?.message.contains("name_verb") == true, "\(String(describing: e))")
    }

    @Test("YAML a rule file cannot hold is refused with its place: an alias, a second document, a mapping as a key, deep nesting, a broken line")
    func yamlRefusals() {
        let head = "id: x\nstage: category\ncategory: Read\nsummary: s\n"
        let tail = "examples: {match: [a], no_match: [b]}\n"
        let cases: [(String, String)] = [
            (head + "when: &w {name_verb: [get]}\nany: [*w]\n" + tail, "line 6"),
            (head + "when: {name_verb: [get]}\n" + tail + "---\nid: y\n", "line 7"),
            (head + "when: {? {a: b} : c}\n" + tail, "line 5"),
            (head + "when: " + String(repeating: "[", count: 80) + String(repeating: "]", count: 80) + "\n" + tail, "line 5"),
            (head + "when: {name_verb: [get}\n" + tail, "line 5"),
        ]
        for (yaml, place) in cases {
            let e = Self.load(yaml)
            #expect(e?.message.hasPrefix("not valid YAML: ") == true && e?.message.contains(place) == true && e?.message.contains("\n") == false,
                    "\(String(describing: e))")
        }
        // Nothing at all, or a list, is not a rule.
        #expect(Self.load("")?.message == "a rule file is a YAML mapping" && Self.load("- a\n")?.message == "a rule file is a YAML mapping")
    }

    @Test("plain YAML scalars are typed as the default schema types them; quoted ones stay text")
    func scalarTypes() {
        let cases: [(String, JSONValue)] = [
            ("yes", .bool(true)), ("Off", .bool(false)), ("TRUE", .bool(true)), ("null", .null), ("~", .null), ("", .null),
            ("12", .int(12)), ("-3", .int(-3)), ("0x1F", .int(31)), ("1.5", .double(1.5)), ("2026-11-26", .null),
            ("text", .string("text")), ("token", .string("token")), ("yesterday", .string("yesterday")), ("Ñandú", .string("Ñandú")),
            ("-x", .string("-x")), ("1st", .string("1st")),
            // Decimal integers are read without the resolver; a leading zero (octal) or an underscore still goes to it.
            ("0", .int(0)), ("+7", .int(7)), ("-0", .int(0)), ("010", .int(8)), ("1_000", .int(1000)), ("0b11", .int(3)),
        ]
        for (text, expected) in cases { #expect(RuleLoader.typed(text) == expected, "\(text)") }
        let rule = try? RuleLoader.parse(yaml: "id: x\nstage: category\ncategory: Read\nsummary: s\npriority: 70\nwhen: {name_verb: [get, \"on\"]}\nexamples: {match: [get_a], no_match: [set_b]}\n", file: "q.yaml")
        #expect(rule?.priority == 70)
    }

    @Test("duplicate ids across files are refused")
    func duplicateIDs() throws {
        let dir = Fixtures.tempDir("rules")
        let rule = "id: same\nstage: category\ncategory: Read\nsummary: s\nwhen: {name_verb: [get]}\nexamples: {match: [get_a], no_match: [set_b]}\n"
        try rule.write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        try rule.write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        #expect(throws: RuleError.self) { try RuleLoader.load(directory: dir) }
    }

    @Test("names split the same way whatever their style", arguments: ["deleteFile", "delete_file", "delete-file", "file.delete", "DeleteFile", "files_delete"])
    func nameStyles(_ name: String) {
        let r = Self.classifier.classify(Tool(name: name, description: ""))
        #expect(r.verdict.category == .destructive)
    }

    @Test("a stem the last two letters settle is the stemmer's own")
    func plainStems() {
        var settled = 0
        func check(_ word: [UInt8]) -> Bool {
            guard let plain = Stemmer.plainStem(word.count, last: word[word.count - 1], before: word[word.count - 2]) else { return true }
            settled += 1
            let full = Stemmer.stemLength(word.count) { word[$0] }
            if full.length == plain && full.extra == 0 { return true }
            Issue.record("\(String(decoding: word, as: UTF8.self)): \(full) against \(plain)")
            return false
        }
        // Every word of four to six letters from the letters the endings and their exceptions are made of, and others;
        // then longer ones made of a random start and an ending.
        let letters = Array("aeisdgnulzyb".utf8)
        for length in 4...6 {
            var word = [UInt8](repeating: 0, count: length)
            for n in 0..<Int(pow(Double(letters.count), Double(length))) {
                var k = n
                for i in 0..<length { word[i] = letters[k % letters.count]; k /= letters.count }
                if !check(word) { return }
            }
        }
        let endings = ["ies", "sses", "ss", "us", "is", "s", "ing", "ings", "ed", "eds", "eed", "e", "es", "tted", "lling", "ds", "gs", "ns"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<200_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var word = Array(endings[Int(seed >> 33) % endings.count].utf8)
            var r = seed >> 13
            for _ in 0..<(3 + Int(seed >> 40) % 8) { word.insert(letters[Int(r % UInt64(letters.count))], at: 0); r /= UInt64(letters.count) }
            if !check(word) { return }
        }
        #expect(settled > 1_000_000)
    }

    @Test("a word's stem is hashed from the text, eight bytes at a time, as its stem's own bytes hash (the vocabulary's key)")
    func stemHashFromText() {
        // Stems of every length around the eight-byte steps, with capitals, with a letter the stemmer adds (-ies: y; a
        // short stem that lost its e: e), and words at the very end of the text, where eight bytes cannot be read at once.
        var words = ["a", "go", "Get", "list", "QUERIES", "categories", "noted", "coding", "Deleted", "abcdefgh", "abcdefghi",
                     "PostgreSQLs", "deployments", "xyzzyxyzzyxyzzyxyzzyz", "repositories", "Abcdefgies", "abcdefghies"]
        // Every suffix rule, and the letters each one looks at, on stems of every length: a word of up to eight bytes
        // is stemmed in a register, a longer one byte by byte, and both must give the stem the vocabulary was made with.
        let stems = ["b", "ad", "add", "tag", "not", "cod", "hop", "fix", "bow", "say", "see", "bus", "gas", "pas", "all", "fizz", "x9",
                     "pass", "tree", "lie", "tie", "ui", "agree", "quiz", "abcd", "abcde", "ABC", "code", "Noti"]
        let suffixes = ["", "s", "es", "ies", "sses", "ss", "us", "is", "ing", "ings", "ed", "eds", "eed", "e", "ied", "y", "ying", "ged", "lling", "sing"]
        for stem in stems + [""] { for suffix in suffixes { words.append(stem + suffix) } }
        for w in words {
            for text in [w, "\(w) tail of the text", "head \(w)"] {
                var seen: [UInt64] = []
                Tokenizer.scan(text) { h, _, _ in seen.append(h) }
                let expected = Tokenizer.tokens(text).map { Tokenizer.hash($0.stem.utf8) }
                #expect(seen == expected, "\(text)")
            }
        }
    }

    @Test("the description's first sentence runs past e.g. and i.e., and stops at the full stop after them")
    func leadPastAbbreviations() {
        #expect(Tokenizer.firstSentence("Run a module on hosts, e.g. shell or copy, with arguments. Returns output.")
            == "Run a module on hosts, e.g. shell or copy, with arguments.")
        #expect(Tokenizer.firstSentence("Reads the file, i.e. its bytes. Next") == "Reads the file, i.e. its bytes.")
        #expect(Tokenizer.firstSentence("Cut the leg. Next") == "Cut the leg.")
        // Abbreviations are compared as packed bytes: the same answers as their lower-cased strings, in any case.
        for text in ["e.g.", "E.G.", "x e.g.", "xe.g.", "i.e.", "I.e.", "eg.", "vs.", "VS.", "cf.", "ie.", "e.g.g.", "leg.", "a.", ".", "ab.e.", "(vs.", "3vs."] {
            let u = Array(text.utf8), dot = u.count - 1
            var start = dot
            func letter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
            while start > 0, dot - start < 4, letter(u[start - 1]) || u[start - 1] == 0x2E { start -= 1 }
            let expected = start < dot && (start == 0 || !letter(u[start - 1]))
                && Summary.inSentenceAbbreviations.contains(String(decoding: u[start..<dot], as: UTF8.self).lowercased())
            #expect(u.withUnsafeBufferPointer { Summary.closesAbbreviation($0, at: dot) } == expected, "\(text)")
        }
        func closes(_ text: String) -> Bool { Array(text.utf8).withUnsafeBufferPointer { Summary.closesAbbreviation($0, at: $0.count - 1) } }
        #expect(closes("see E.g.") && closes("(vs.") && !closes("a leg.") && !closes("xvs.") && !closes("."))
        // The lead's words decide: "shell" after "e.g." is read as part of what the tool runs.
        let r = Self.classifier.classify(Tool(name: "adhoc", description: "Run an ad-hoc module on hosts, e.g. shell or copy, with arguments."))
        #expect(r.verdict.category == .execute && r.verdict.risk == .critical)
    }

    @Test("a first sentence that only prefaces the description is read with the next; a clause on when comes before the verb")
    func leadPrefaces() {
        // A note to the agent, then the action: the note's "call" is not the tool's verb.
        #expect(Self.verdict("notes_tool", "IMPORTANT: always call list_notebooks first to get a notebook id.\n\nCreates a new note in the given notebook.") == (.write, .medium))
        // A docstring that opens with its parameters says what it does after them.
        #expect(Self.verdict("purge_queue", "Args:\n    queue (str): queue name\n\nPermanently deletes every message in the queue.") == (.destructive, .critical))
        // A heading, when the name has no action word; not one that names several operations.
        #expect(Self.verdict("ledger", "Ledger entries. Deletes the entry with the given id.").0 == .destructive)
        #expect(Self.verdict("email", "Email utilities.\n\nUse mode search to find messages and mode send to send one.").0 != .read)
        // The verb after a clause on when the tool acts.
        #expect(Self.verdict("stock_buyer", "When the user confirms, buys the given number of shares at market price.") == (.financial, .critical))
        // A name whose action word decided nothing leaves the action to the lead's verb for risk rules too.
        let admin = Self.classifier.classify(Tool(name: "user_admin", description: "Used by administrators to change a user's role.",
                                                  inputSchema: ["type": "object", "properties": ["user_id": ["type": "string"], "role": ["type": "string"]]]))
        #expect(admin.verdict.category == .write && admin.verdict.risk == .high, "\(admin.verdict)")
    }

    @Test("a name made from an HTTP route is judged by what the route does, not by its method")
    func routeNames() {
        // The description's verb after the route says what POST does.
        #expect(Self.verdict("post_v1_charges", "Create a charge") == (.financial, .critical))
        #expect(Self.verdict("post_api_v1_users", "POST /api/v1/users - Create user").0 == .write)
        #expect(Self.verdict("invoke_post_query", "POST /query - Run a SQL statement").0 == .execute)
        // A later action word of the name says it.
        #expect(Self.verdict("post_subscriptions_id_cancel", "POST /subscriptions/{id}/cancel") == (.financial, .critical))
        // Without either, the method stands: posting messages reaches people.
        #expect(Self.verdict("invoke_post_messages", "POST /messages") == (.write, .high))
        // A name that is no route keeps its verb.
        #expect(Self.verdict("post_message", "Post a message to a channel.") == (.write, .high))
    }

    @Test("annotations are claims: readOnlyHint on a tool that deletes does not make it Read, and is a finding")
    func annotationsAreClaims() {
        let t = Tool(name: "delete_everything", description: "Delete every record in the workspace.",
                     annotations: ToolAnnotations(readOnlyHint: true))
        let r = Self.classifier.classify(t)
        #expect(r.verdict.category == .destructive)
        #expect(r.findings.contains { $0.rule.hasPrefix("annotation") })
    }

    @Test("a tool nothing decides is marked low confidence and not treated as safe")
    func unclear() {
        let r = Self.classifier.classify(Tool(name: "zx", description: ""))
        #expect(r.verdict.confidence == .low)
        #expect(r.verdict.category != .read)
        #expect(r.verdict.risk >= .medium)
    }

    @Test("a name that is only the server's name is unclear, unless an action selector and a description of some length say what it does")
    func serverNamedTool() throws {
        let schema: JSONValue = ["type": "object", "properties": ["action": ["type": "string", "enum": ["create", "update", "search"]], "text": ["type": "string"]]]
        let described = try Tool(json: ["name": "notes", "description": "Personal notes.\n\n- create: add a note\n- update: edit a note\n- search: find notes by text", "inputSchema": schema])
        let r = Self.classifier.classify(described, server: "notes")
        #expect(r.verdict.category == .write && r.verdict.risk == .medium && !r.verdict.evidence.contains { $0.rule == "unclear" }, "\(r.verdict)")
        let bare = try Tool(json: ["name": "notes", "description": "Personal notes.", "inputSchema": schema])
        #expect(Self.classifier.classify(bare, server: "notes").verdict.risk == .high)
    }
}
