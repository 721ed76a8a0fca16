import AtlasModel
import Foundation

/// What made a condition hold, resolved to text only for the rules whose evidence is shown.
enum Hit {
    case tokens(FieldKind, Range<Int>)
    case nameVerb, leadVerb, nameLast
    case param(Int)
    case text(String, String)
}

/// A condition with its words turned into vocabulary numbers. Indirect: each condition's payload is one boxed value, so
/// reading a condition out of a rule costs one retain, not one per array and object it holds.
indirect enum Compiled {
    case nameVerb(Bitset), leadVerb(Bitset), nameLast(Bitset)
    /// Phrases in fields, with the phrases' first words (each once): a field that holds none of them is passed over
    /// without looking for each phrase.
    /// `quiet`: the condition holds without a fragment to quote (a word a pattern needs, tested first).
    case has([FieldKind], [[Int32]], firsts: [Int32], quiet: Bool)
    case paramNamed([[Int32]]), paramIs([[Int32]])
    /// A word of the first set followed, at most `within` words later, by one of the second.
    case near([FieldKind], first: Bitset, then: Bitset, within: Int)
    case noParams(Bool), annotation([String: Bool]), categoryIs([AtlasModel.Category])
    /// Choices opening with one of the one-word phrases (`words`, by the choice's first word) or one of the longer ones.
    case actionOffered(Bitset, phrases: [[Int32]])
    /// A pattern, with the literals a match cannot do without (for each list, one of its literals' numbers).
    /// `anyText` is false when the pattern ignores case and a literal has letters: text outside ASCII may then match
    /// it through case folding (`ſ` for `s`, `ﬁ` for `fi`), so the literals are only trusted on ASCII text.
    /// `runs`: byte classes (a table of 256) of which a match holds a run at least this long.
    /// `starts`: strings one of which every match starts with (ASCII, lower case), when they are telling enough to run
    /// the pattern only where they occur.
    case regex([FieldKind], ICURegex, requires: [[Int32]], runs: [(bytes: [Bool], length: Int)], anyText: Bool, starts: MatchStarts?)
    /// A pattern that is one character class of characters outside ASCII without case (`[\x{200B}-\x{200F}…]`):
    /// looked for scalar by scalar, in the fields that are not plain ASCII (the engine would search every position).
    case scalars([FieldKind], ScalarSet)
    case unusable(Bool)
    /// Literal strings, with their numbers in the classifier's literal matcher. `plain`: none has a letter or white space,
    /// so that each occurs in folded plain ASCII just where it occurs in one of the folded parts.
    case contains([FieldKind], [(id: Int32, bytes: [UInt8])], plain: Bool)
    case longToken(Int)
    case nonASCII(Bool)
}

final class CompiledRule: @unchecked Sendable {
    let rule: Rule
    let when: [Compiled]
    let any: [[Compiled]]
    /// `unless` groups without a pattern, tried before the `any` groups (whose patterns cost more); the rest after them.
    let cheapUnless: [[Compiled]]
    let costlyUnless: [[Compiled]]
    /// Where the patterns among the `when` conditions start (they come last: the loader orders conditions by cost);
    /// they are checked after the cheap exceptions.
    let firstPattern: Int

    init(rule: Rule, when: [Compiled], any: [[Compiled]], unless: [[Compiled]]) {
        self.rule = rule; self.when = when; self.any = any
        func isPattern(_ c: Compiled) -> Bool {
            switch c {
            case .regex, .scalars: true
            default: false
            }
        }
        func costly(_ g: [Compiled]) -> Bool { g.contains(where: isPattern) }
        cheapUnless = unless.filter { !costly($0) }
        costlyUnless = unless.filter(costly)
        firstPattern = when.firstIndex(where: isPattern) ?? when.count
        precondition(when[firstPattern...].allSatisfy(isPattern), "rule \(rule.id): patterns must be its last `when` conditions")
    }
}

/// The parts of one definition the rules look at, cut into words once.
final class Features {
    let fields: FieldMap<Field>
    /// When the definition is plain ASCII its folded text has the same words as its fields: the folded text is
    /// then only built if a pattern must read it.
    private var foldParts: [String]? = nil
    /// The parts to fold are plain ASCII: folding is then lower case and collapsed white space only.
    private var foldASCII = false
    /// Each parameter's name and the numbers of its words (slices of one list of them all).
    let paramNames: [(name: String, ids: ArraySlice<Int32>)]
    /// The choices of the parameters that select an action, with the numbers of each choice's words.
    let offered: [(param: String, choice: String, ids: [Int32])]
    let annotations: ToolAnnotations
    let nameVerb: Token?
    /// Positions in the name of further action words joined to the first by `and` or `or`.
    let joinedVerbs: [Int]
    /// The last word of the name that is not the server's own name (`list_chats_perplexity` on `mcp-perplexity`: chats).
    let nameLast: Token?
    let leadVerb: Token?
    /// The numbers of the name's action words (its verb and those joined to it; without one, the lead's verb): what a
    /// `name_verb` condition can hold through.
    let nameActionIDs: [Int32]
    /// The number of the lead's verb, -1 without one: what a `lead_verb` condition can hold through.
    let leadVerbID: Int32
    /// What a `name_verb` condition can hold through once the lead's verb decided for the name (`leadDecides`).
    var actionIDs: [Int32] { leadDecides && leadVerbID >= 0 ? nameActionIDs + [leadVerbID] : nameActionIDs }
    /// Facts the screens test (`Features.Flag`, by bit).
    let flags: UInt32
    /// The longest run of letters and digits in the title, description, parameter descriptions and instructions.
    let longestRun: Int
    /// What the screens know of each field's bytes, by its slot: its punctuation and its runs of white space. The folded
    /// text, until it is built, holds its parts' punctuation and what folding makes of their other characters (every byte
    /// counts as held when folding changes their words); its runs are unknown.
    let fieldBytes: [Screens.FieldBytes]

    /// The facts a `Features.flags` bit holds.
    enum Flag: Int32 {
        /// The title, description, parameter descriptions or instructions hold a character outside ASCII.
        case nonASCII
        case unusable
        case noParams
    }
    /// The name's action word decided nothing: the lead's verb is read as if the name had none.
    var leadDecides = false
    /// The name is an HTTP route whose action the description's verb says (`post_v1_charges`: "Create a charge"): that
    /// verb is read as the name's own.
    let routeAction: Bool
    /// The category is decided and risk rules are being evaluated.
    var afterCategory = false
    let usable: Bool
    /// Every vocabulary word anywhere in the definition (name, title, description, parameters), a bit per word.
    let present: UnsafeBufferPointer<UInt64>
    /// The fields each vocabulary word is in, a bit per field slot. Both are noted by the fields as they are cut, in
    /// memory the definition owns.
    let fieldsOfWord: UnsafeBufferPointer<UInt16>

    /// The pairs of words that stand side by side anywhere in the definition (`WordPairs`), also across the folded
    /// text's parts, which folding joins.
    let pairs: UnsafeBufferPointer<UInt64>

    deinit {
        present.baseAddress!.deallocate()
        fieldsOfWord.baseAddress!.deallocate()
        pairs.baseAddress!.deallocate()
    }

    /// Whether field `kind` holds the word `id` (a vocabulary number, -1 for none).
    @inline(__always) func holds(_ kind: FieldKind, _ id: Int32) -> Bool {
        id >= 0 && fieldsOfWord[Int(id)] & (1 << UInt16(kind.slot)) != 0
    }

    /// The first place `phrase` occurs in `field` (the field `kind`): looked for only when the field holds every word.
    func find(_ phrase: [Int32], in field: Field, _ kind: FieldKind) -> Range<Int>? {
        for id in phrase where !holds(kind, id) { return nil }
        return field.find(phrase)
    }

    /// Imperatives that are rarely nouns, so that one at the end of a name is taken as its action word.
    static let trailingVerbs = ["get", "set", "create", "delete", "update", "add", "remove", "put", "enable", "disable",
                                "clear", "reset", "start", "stop", "restart", "toggle", "trigger", "fetch", "read", "write", "send", "resume", "pause",
                                "lookup", "search"]

    /// The stems of `and` and `or`, as the tokenizer hashes them.
    static let conjunctions: Set<UInt64> = stems(["and", "or"])

    /// Third-person verbs a name may use as its action (`file_exists`, `text_contains`).
    static let thirdPerson: Set<String> = ["exists", "contains", "matches", "equals", "includes", "does"]

    /// HTTP methods that are also action words (`post` publishes, `patch` mends), as the tokenizer hashes them in a name.
    static let methodWords: Set<UInt64> = stems(["post", "put", "patch"])
    /// Words that only say a route is called (`invoke_post_messages`, `call_get_logs`).
    static let callWords: Set<UInt64> = stems(["invoke", "call", "api", "request", "http", "rest"])
    /// Words that make a name a route: a path's version, its `api` prefix or an identifier placeholder.
    static let routeWords: Set<UInt64> = stems(["api", "id", "ids", "uuid"] + (1...9).map { "v\($0)" })
    /// Words as the tokenizer hashes them in a name: their stems.
    static func stems(_ words: [String]) -> Set<UInt64> { Set(words.map { Tokenizer.hash(Stemmer.stem($0).utf8) }) }

    /// Where the route ends when a description opens with an HTTP method in capitals and a path (`POST /v1/charges`): the
    /// byte after the path.
    static func routeEnd(_ description: String) -> Int? {
        var text = description
        return text.withUTF8 { u -> Int? in
            var i = 0
            while i < u.count, u[i] == 0x20 || u[i] == 0x0A || u[i] == 0x0D || u[i] == 0x09 { i += 1 }
            let start = i
            while i < u.count, u[i] >= 0x41, u[i] <= 0x5A { i += 1 }
            let method = String(decoding: UnsafeBufferPointer(rebasing: u[start..<i]), as: UTF8.self)
            guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method), i + 1 < u.count, u[i] == 0x20, u[i + 1] == 0x2F else { return nil }
            i += 1
            while i < u.count, u[i] != 0x20, u[i] != 0x0A, u[i] != 0x0D, u[i] != 0x09 { i += 1 }
            return i
        }
    }

    /// Names of parameters whose choices are the tool's actions (`action: [list, create, delete]`).
    static let selectors = ["action", "actions", "operation", "op", "command", "cmd", "subcommand", "method", "http method", "verb"]

    /// Lexicon words that open a name as nouns (`status_led_set`), letting a trailing imperative decide.
    static let nounish = ["status", "info", "health", "history", "stats", "metrics", "usage", "version", "schema",
                          "record", "recording", "label", "tag", "note", "log", "lighting", "schedule", "rollout",
                          "zip", "post", "share", "link", "comment"]

    init(tool: borrowing Tool, server: Classifier.Server, instructions: String?, c: borrowing Classifier) {
        let v = c.vocabulary
        // The tables the closures below read, taken out of the classifier: a closure that named `c` would copy all of it.
        let lexicon = c.lexicon, leadLexicon = c.leadLexicon, nounish = c.nounish
        let stride = max(1, (v.count + 63) >> 6)
        let present = UnsafeMutablePointer<UInt64>.allocate(capacity: stride)
        present.initialize(repeating: 0, count: stride)
        let inFields = UnsafeMutablePointer<UInt16>.allocate(capacity: stride * 64)
        inFields.initialize(repeating: 0, count: stride * 64)
        self.present = UnsafeBufferPointer(start: present, count: stride)
        fieldsOfWord = UnsafeBufferPointer(start: inFields, count: stride * 64)
        let pairs = UnsafeMutablePointer<UInt64>.allocate(capacity: WordPairs.words)
        pairs.initialize(repeating: 0, count: WordPairs.words)
        self.pairs = UnsafeBufferPointer(start: pairs, count: WordPairs.words)
        let room = TokenRoom.make()
        defer { TokenRoom.free(room) }
        func notes(_ kind: FieldKind) -> WordNotes { WordNotes(present: present, fields: inFields, pairs: pairs, bit: 1 << UInt16(kind.slot), room: room) }
        // The name's and the server's words are compared by their stem hashes (the vocabulary need not know them); a
        // server's name has a few words, so a list is looked through faster than a set is built.
        var nameHashes: [UInt64] = []
        let serverWords = server.hashes
        let name = Field(name: "name", text: tool.name, vocabulary: v, notes: notes(.name), hashes: &nameHashes)
        let description = Field(name: "description", text: tool.description, vocabulary: v, notes: notes(.description))
        // A first sentence that only prefaces the description (a heading, or a note to the agent) is read with the next
        // one, whose verb is the tool's.
        let preamble = Features.preamble(description, Tokenizer.leadEnd(tool.description), leadLexicon,
                                         headings: !name.tokens.contains { lexicon.contains($0.id) })
        let leadEnd = preamble.leadEnd
        let params = tool.parameterTexts
        // Each parameter's description and choices, spaced; parameters apart by a line.
        let paramText = params.withUnsafeBufferPointer { ps in
            var bytes = 0
            for n in ps.indices {
                bytes += 3 + ps[n].description.utf8.count
                for k in ps[n].choices.indices { bytes += 1 + ps[n].choices[k].utf8.count }
            }
            return concatenated(bytes: bytes) { w in
                for n in ps.indices {
                    if n > 0 { w.put(byte: 0x20); w.put(byte: 0x0A); w.put(byte: 0x20) }
                    w.put(ps[n].description)
                    for k in ps[n].choices.indices { w.put(byte: 0x20); w.put(ps[n].choices[k]) }
                }
            }
        }
        var f = FieldMap<Field>()
        f[.name] = name
        f[.title] = tool.title.map { Field(name: "title", text: $0, vocabulary: v, notes: notes(.title)) } ?? c.emptyTitle
        f[.lead] = Field(name: "description", prefixOf: description, bytes: leadEnd, notes: notes(.lead))
        f[.description] = description
        // The names spaced.
        let paramNameText = params.withUnsafeBufferPointer { ps in
            var bytes = 0
            for n in ps.indices { bytes += 1 + ps[n].name.utf8.count }
            return concatenated(bytes: bytes) { w in
                for n in ps.indices {
                    if n > 0 { w.put(byte: 0x20) }
                    w.put(ps[n].name)
                }
            }
        }
        f[.params] = Field(name: "parameters", text: paramNameText, vocabulary: v, notes: notes(.params))
        f[.paramText] = Field(name: "parameter descriptions", text: paramText, vocabulary: v, notes: notes(.paramText))
        f[.server] = server.field
        server.field.note(into: notes(.server))
        if let instructions { f[.instructions] = Field(name: "instructions", text: instructions, vocabulary: v, notes: notes(.instructions)) }
        // The parts of the folded text (`foldedKinds`, in order).
        let parts = [tool.title ?? "", tool.description, paramText, instructions ?? ""]
        // Known from the fields' cutting, where the parts are fields (the instructions may not be).
        let partsASCII = f[.title]!.isASCII! && description.isASCII! && f[.paramText]!.isASCII! && (f[.instructions]?.isASCII ?? isPlainASCII(instructions ?? ""))
        // The punctuation that folding makes of characters outside ASCII, while it leaves the words as they are.
        var made: ByteSet? = partsASCII ? ByteSet() : nil
        if c.usesNormalized {
            // Plain ASCII, or text whose only other characters fold to no letter or digit (dashes, quotes, emoji),
            // has the same words folded as in its fields: the folded text is then only built if a pattern reads it.
            foldASCII = partsASCII
            if !partsASCII {
                made = ByteSet()
                for p in parts {
                    guard let m = Normalizer.punctuationMade(p) else { made = nil; break }
                    made = made!.union(m)
                }
            }
            if made != nil {
                foldParts = parts
                // The last word of a part and the first of the next stand side by side in the folded text.
                Features.neighbouringParts(f) { a, b in
                    let last = a.tokens[a.tokens.count - 1].id, first = b.tokens[0].id
                    if last >= 0, first >= 0 { notes(.normalized).pair(last, first) }
                    return true
                }
            } else {
                f[.normalized] = Field(name: Features.normalizedName, text: Features.folded(parts), vocabulary: v, notes: notes(.normalized))
            }
        }
        // Each parameter's words, from the parameters' field (the names spaced apart, so that no word crosses from one
        // name to the next and each is cut as it would be alone).
        var names: [(name: String, ids: ArraySlice<Int32>)] = []
        names.reserveCapacity(params.count)
        let nameTokens = f[.params]!.tokens
        let allIDs = nameTokens.map(\.id)
        var t = 0, end = 0
        // By place: a parameter taken out of the list whole would be copied (its three texts retained) for one of them.
        for k in params.indices {
            end += params[k].name.utf8.count
            let first = t
            while t < nameTokens.count && Int(nameTokens[t].start) < end { t += 1 }
            names.append((params[k].name, allIDs[first..<t]))
            end += 1
        }
        paramNames = names
        var offered: [(param: String, choice: String, ids: [Int32])] = []
        for k in params.indices where !params[k].choices.isEmpty && c.selectors.contains(where: { $0.elementsEqual(names[k].ids) }) {
            let p = params[k]
            for choice in p.choices {
                // The first word, when it reads as a command: `submitted` or `pending` names a state to filter by.
                var first: (start: Int, end: Int)? = nil
                var ids: [Int32] = []
                Tokenizer.scan(choice) { h, a, b in
                    if first == nil { first = (a, b) }
                    ids.append(v.id(hash: h))
                }
                guard let first else { continue }
                let word = String(decoding: choice.utf8.dropFirst(first.start).prefix(first.end - first.start), as: UTF8.self).lowercased()
                if word.count > 4, word.hasSuffix("ed") || word.hasSuffix("ing") { continue }
                offered.append((p.name, choice, ids))
            }
        }
        self.offered = offered
        annotations = tool.annotations
        // The action word: the first known verb of the name, skipping words that only repeat the server's name.
        // Words of the server's name (`luma` in luma_get_task) are skipped unless they are action words themselves.
        var words: [Token] = []
        words.reserveCapacity(name.tokens.count)
        for (k, t) in name.tokens.enumerated() where lexicon.contains(t.id) || !serverWords.contains(nameHashes[k]) { words.append(t) }
        let leadField = f[.lead]!
        // A description that opens with an HTTP route (`POST /v1/charges - Create a charge`): its verb follows the route.
        let routeEnd = Features.routeEnd(tool.description)
        let afterRoute = routeEnd.map { end in leadField.tokens.firstIndex { Int($0.start) >= end } ?? leadField.tokens.count } ?? 0
        let leadVerb = Features.leadVerb(leadField, from: max(preamble.verbFrom, afterRoute), leadLexicon)
        // A word in the plural names things, not an action (`browser_network_requests`, `user_posts`): imperatives
        // take no -s, save the few third-person checks a name may use (`file_exists`).
        let nameBytes = Array(tool.name.utf8)
        func plural(_ t: Token) -> Bool {
            let n = Int(t.end - t.start)
            guard n > 3 else { return false }
            let last = nameBytes[Int(t.end) - 1] | 0x20, before = nameBytes[Int(t.end) - 2] | 0x20
            guard last == 0x73, before != 0x73, before != 0x75, before != 0x69 else { return false }
            let word = String(decoding: nameBytes[Int(t.start)..<Int(t.end)], as: UTF8.self).lowercased()
            return !Features.thirdPerson.contains(word)
        }
        var verb = words.first(where: { lexicon.contains($0.id) && !plural($0) })
        // A name made from an HTTP route (`post_v1_charges`, `invoke_post_messages`, or any name whose description opens
        // with its route): `post`, `put` or `patch` only says how the route is called. A later action word of the name
        // (`post_invoices_id_send`) or the description's verb after the route (`Create a charge`) says what it does;
        // without either, the method stands.
        var route = false
        if let first = verb, let m = name.tokens.indices.first(where: { !Features.callWords.contains(nameHashes[$0]) && !serverWords.contains(nameHashes[$0]) }),
           name.tokens[m].start >= first.start, Features.methodWords.contains(nameHashes[m]),
           routeEnd != nil || nameHashes.contains(where: Features.routeWords.contains) {
            let method = name.tokens[m]
            if let later = words.first(where: { $0.start > method.start && lexicon.contains($0.id) && !plural($0) }) {
                verb = later
            } else if let lead = leadVerb, routeEnd == nil || Int(lead.start) >= routeEnd! {
                verb = nil
                route = true
            } else {
                verb = method
            }
        }
        routeAction = route
        // A server named for an action (`render`, `translate`) puts it in every tool's name: when the rest of the name
        // has another action word, the description's first verb says which one acts (`render_restart_service`:
        // "Restart a service"; `translate_text`: "Translate text").
        if let first = verb, let k = name.tokens.firstIndex(where: { $0.start == first.start }), serverWords.contains(nameHashes[k]),
           let lead = leadVerb, lead.id != first.id,
           let other = words.first(where: { $0.start > first.start && $0.id == lead.id }) {
            verb = other
        }
        // `camera_led_brightness_get` style: a plain imperative at the end is the action, unless one opens the name.
        if let last = words.last, words.count > 1, c.trailing.contains(last.id), lexicon.contains(last.id),
           words.dropLast().allSatisfy({ !lexicon.contains($0.id) || nounish.contains($0.id) }) {
            verb = last
        }
        nameVerb = verb
        // Further action words joined by `and` or `or` (`lookup_and_block`, `get_or_reset_password`): the tool does
        // those too, and the most severe of what it does decides.
        var joined: [Int] = []
        if verb != nil {
            for k in name.tokens.indices.dropFirst() where Features.conjunctions.contains(nameHashes[k - 1]) {
                let t = name.tokens[k]
                if t.start != verb!.start, lexicon.contains(t.id), !plural(t) { joined.append(k) }
            }
        }
        joinedVerbs = joined
        nameLast = words.last
        self.leadVerb = leadVerb
        // Built in one list: a literal, a map, a concatenation and a filter each made a list of their own.
        var ids: [Int32] = []
        ids.reserveCapacity(1 + joined.count)
        if let verb {
            if verb.id >= 0 { ids.append(verb.id) }
            for k in joined where name.tokens[k].id >= 0 { ids.append(name.tokens[k].id) }
        } else if let lead = leadVerb, lead.id >= 0 {
            ids.append(lead.id)
        }
        nameActionIDs = ids
        leadVerbID = leadVerb?.id ?? -1
        // A name that is only the server's name, or has no action word and a short lead, says too little; an action selector
        // whose choices a description of some length explains says enough.
        usable = (!words.isEmpty && (nameVerb != nil || leadField.tokens.count >= 3)) || (description.tokens.count >= 8 && !offered.isEmpty)
        flags = (partsASCII ? 0 : 1 << Flag.nonASCII.rawValue) | (usable ? 0 : 1 << Flag.unusable.rawValue) | (params.isEmpty ? 1 << Flag.noParams.rawValue : 0)
        longestRun = Features.foldedKinds.reduce(0) { max($0, f[$1]?.longestRun ?? 0) }
        var marks = [Screens.FieldBytes](repeating: Screens.FieldBytes(), count: FieldKind.allCases.count)
        f.forEach { slot, field in marks[slot] = Screens.FieldBytes(punctuation: field.punctuation, blanks: field.blanks) }
        // The folded text, when it is not built, holds its parts' punctuation and what folding makes; built, it has its own.
        if f[.normalized] == nil {
            marks[FieldKind.normalized.slot] = Screens.FieldBytes(
                punctuation: made.map { made in Features.foldedKinds.reduce(made) { $0.union(f[$1]?.punctuation ?? ByteSet()) } } ?? .all, blanks: .unknown)
        }
        fieldBytes = marks
        // Moved in last, not copied: a copy would hold every field once more, for the moment.
        fields = consume f
    }

    /// Labels that open a note to the agent (`IMPORTANT: always call list_notebooks first.`), and the words that, after
    /// one, make the sentence an instruction rather than the tool's action.
    static let noteLabels: Set<String> = ["important", "note", "notes", "nb", "warning", "caution", "tip", "attention", "prerequisite", "prerequisites", "requirement", "requirements", "usage"]
    static let parameterLabels: Set<String> = ["args", "arguments", "parameters", "params", "inputs"]
    static let instructionWords: Set<String> = ["always", "never", "call", "use", "first", "make", "ensure", "you", "must", "requires", "require", "required", "only", "do", "don", "before", "this", "run"]
    /// Words of a heading that names a set of operations rather than one.
    static let bundleWords: Set<String> = ["utilities", "utility", "tools", "toolkit", "toolbox", "operations", "management", "manager", "helpers",
                                           "actions", "commands", "functions", "api", "apis", "endpoints", "suite", "admin", "administration"]
    /// Words that open a clause on when the tool acts (`When the user confirms, buys ...`): its verb comes after the comma.
    static let conditionWords: Set<String> = ["when", "whenever", "if", "once", "after", "unless"]

    /// Where the lead ends, and the token from which its verb is looked for. A first sentence that is a heading (four
    /// words or fewer, not opening with a verb: `Billing.`, taken as one only when the name has no action word to say
    /// what the tool does), a note to the agent (a label and an instruction: `NOTE: requires admin scope.`) or a docstring's
    /// parameters (`Args:`) is read with the sentence after it, whose verb is looked for first.
    static func preamble(_ description: Field, _ leadEnd: Int, _ leadLexicon: Bitset, headings: Bool) -> (leadEnd: Int, verbFrom: Int) {
        let tokens = description.tokens
        let first = tokens.prefix { Int($0.end) <= leadEnd }
        guard let opening = first.first, first.count < tokens.count else { return (leadEnd, 0) }
        var text = description.text
        let (heading, note, next): (Bool, Bool, Range<Int>?) = text.withUTF8 { u in
            func word(_ t: Token) -> String { String(decoding: UnsafeBufferPointer(rebasing: u[Int(t.start)..<Int(t.end)]), as: UTF8.self).lowercased() }
            // A heading that names a set of operations (`Email utilities.`) heads a tool of several actions: the next
            // sentence's verb is only one of them.
            let heading = headings && first.count <= 4 && !leadLexicon.contains(opening.id) && !first.contains { Features.bundleWords.contains(word($0)) }
            var note = false
            // The colon is looked for first: most descriptions have none after their first word, and need no strings.
            if first.count >= 2, u[Int(opening.end)..<Int(first[first.startIndex + 1].start)].contains(0x3A) {
                let label = word(opening)
                // A docstring that opens with its parameters (`Args:`) says what the tool does after them.
                note = Features.parameterLabels.contains(label)
                    || (Features.noteLabels.contains(label) && Features.instructionWords.contains(word(first[first.startIndex + 1])))
            }
            guard heading || note else { return (false, false, nil) }
            let r = Tokenizer.firstSentence(UnsafeBufferPointer(rebasing: u[leadEnd...]))
            return (heading, note, r.isEmpty ? nil : (leadEnd + r.lowerBound)..<(leadEnd + r.upperBound))
        }
        guard heading || note, let next else { return (leadEnd, 0) }
        return (next.upperBound, first.count)
    }

    /// The lead's verb: the first action word among its first twelve words from `from` (or from its start, if none),
    /// after a clause on when the tool acts.
    static func leadVerb(_ lead: Field, from: Int, _ leadLexicon: Bitset) -> Token? {
        let tokens = lead.tokens
        func search(_ start: Int) -> Token? {
            guard start < tokens.count else { return nil }
            var begin = start
            var text = lead.text
            text.withUTF8 { u in
                // Only a short word opening with the letter of one of them needs a string to compare.
                let t = tokens[start]
                guard t.end - t.start <= 8, [0x77, 0x69, 0x6F, 0x61, 0x75].contains(u[Int(t.start)] | 0x20) else { return }
                let w = String(decoding: UnsafeBufferPointer(rebasing: u[Int(t.start)..<Int(t.end)]), as: UTF8.self).lowercased()
                guard Features.conditionWords.contains(w) else { return }
                for k in (start + 1)..<min(tokens.count, start + 12) where u[Int(tokens[k - 1].end)..<Int(tokens[k].start)].contains(0x2C) {
                    begin = k
                    return
                }
            }
            return tokens[begin...].prefix(12).first(where: { leadLexicon.contains($0.id) })
        }
        if from > 0, let v = search(from) { return v }
        return search(0)
    }

    /// The fields the folded text is made of, in order.
    static let foldedKinds: [FieldKind] = [.title, .description, .paramText, .instructions]

    /// Whether a condition on the folded text reads, instead, the fields it would be folded from (their words are the same).
    var readsFoldedParts: Bool { fields[.normalized] == nil && foldParts != nil }

    /// A value about a field's text, made on first use and kept in `slots`.
    @inline(__always) private static func memo<T>(_ slots: inout FieldMap<T>, _ kind: FieldKind, _ make: () -> T) -> T {
        if let v = slots[kind] { return v }
        let v = make()
        slots[kind] = v
        return v
    }

    /// Each field's text as the regular-expression engine wants it (UTF-16), converted once per definition.
    private var utf16Texts = FieldMap<[UInt16]>()
    func utf16(_ kind: FieldKind, _ field: Field) -> [UInt16] {
        Features.memo(&utf16Texts, kind) { Features.utf16(field.text) }
    }

    /// A string's UTF-16, transcoded from its UTF-8 in one pass (the string's own UTF-16 view goes through an index per
    /// character): ASCII widens byte for byte. Never more units than bytes.
    static func utf16(_ text: String) -> [UInt16] {
        var text = text
        return text.withUTF8 { u in
            [UInt16](unsafeUninitializedCapacity: u.count) { out, n in
                var i = 0, k = 0
                while i < u.count {
                    if u[i] < 0x80 { out[k] = UInt16(u[i]); k += 1; i += 1; continue }
                    var (v, length) = decodeUTF8(u, i)
                    i += length
                    if v >= 0x10000 {
                        v -= 0x10000
                        out[k] = UInt16(0xD800 + (v >> 10)); out[k + 1] = UInt16(0xDC00 + (v & 0x3FF)); k += 2
                    } else {
                        out[k] = UInt16(v); k += 1
                    }
                }
                n = k
            }
        }
    }

    /// Whether each field's text is plain ASCII, found on first use.
    private var asciiFields = FieldMap<Bool>()
    func isASCII(_ kind: FieldKind, _ field: Field) -> Bool {
        Features.memo(&asciiFields, kind) { field.isASCII ?? isPlainASCII(field.text) }
    }

    /// Whether each field's text holds a character that case folding takes for ASCII letters, found on first use (every
    /// case-insensitive pattern with known starts asks it of the same text).
    private var foldingFields = FieldMap<Bool>()
    func foldsOntoASCII(_ kind: FieldKind, _ field: Field) -> Bool {
        Features.memo(&foldingFields, kind) { !isASCII(kind, field) && MatchStarts.foldsOntoASCII(field.text) }
    }

    /// The literals a field holds, if the matcher has read it already.
    func scannedLiterals(_ kind: FieldKind) -> Bitset? { literalHits[kind] }

    /// The literals (of the classifier's matcher) that each field holds, found on first use by one pass over it.
    private var literalHits = FieldMap<Bitset>()
    func literals(_ kind: FieldKind, _ field: Field, _ m: LiteralMatcher) -> Bitset {
        Features.memo(&literalHits, kind) { m.scan(field.text) }
    }

    static let normalizedName = "definition (normalized)"

    /// Title, description, parameter descriptions and instructions as one folded text.
    static func folded(_ parts: [String]) -> String { Normalizer.fold(parts, separator: foldSeparator) }

    /// The literals the folded text holds, without making a string of it when its parts are plain ASCII (the matcher reads
    /// the folded bytes in place); nil when the text must be built to know.
    func foldedLiterals(_ m: LiteralMatcher) -> Bitset? {
        if let b = literalHits[.normalized] { return b }
        guard foldASCII, foldedText == nil, let parts = foldParts else { return nil }
        let b = m.scanFolded(parts, separator: Features.foldSeparator)
        literalHits[.normalized] = b
        return b
    }

    static let foldSeparator = " \n "

    /// The parts of the folded text while it is plain ASCII that neither the matcher nor a pattern has read yet.
    var unreadPlainParts: [String]? {
        guard foldASCII, foldedText == nil, literalHits[.normalized] == nil else { return nil }
        return foldParts
    }

    /// A phrase that the folded text holds across two of its parts, the end of one and the start of the next (folding
    /// joins them with a space; a part without words between them leaves them side by side): the words as the parts
    /// write them. Each part's own phrases are looked for in it (`find`).
    func phraseAcrossParts(_ phrases: [[Int32]]) -> String? {
        var found: String? = nil
        Features.neighbouringParts(fields) { a, field in
            let end = a.tokens[a.tokens.count - 1].id, start = field.tokens[0].id
            guard end >= 0, start >= 0 else { return true }
            for p in phrases where p.count > 1 {
                // `p[..<s]` ends the one part and `p[s...]` starts the next.
                for s in 1..<p.count where p[s - 1] == end && p[s] == start && s <= a.tokens.count && p.count - s <= field.tokens.count
                    && a.tokens[(a.tokens.count - s)...].elementsEqual(p[..<s], by: { $0.id == $1 })
                    && field.tokens[..<(p.count - s)].elementsEqual(p[s...], by: { $0.id == $1 }) {
                    found = a.quote((a.tokens.count - s)..<a.tokens.count) + " " + field.quote(0..<(p.count - s))
                    return false
                }
            }
            return true
        }
        return found
    }

    /// Each two parts of the folded text that stand next to each other in it, in order, until `body` returns false:
    /// a part without words is passed over (folding joins its neighbours). What the screens note as words side by side
    /// across parts and what a phrase is looked for across are the same pairs.
    static func neighbouringParts(_ fields: FieldMap<Field>, _ body: (Field, Field) -> Bool) {
        var previous: Field? = nil
        for kind in foldedKinds {
            guard let field = fields[kind], !field.tokens.isEmpty else { continue }
            if let previous, !body(previous, field) { return }
            previous = field
        }
    }

    /// Where a word of `first` is followed, at most `within` words later, by a word of `then` in `fields` read one after
    /// the other (as folding joins them): the two words. Words are counted as a pattern's `\w+` counts them, or fewer
    /// (never more, so that a pattern's match is never missed): a word starts after white space or ASCII punctuation other
    /// than `_`; the pieces of `snake_case` or `camelCase`, and tokens between which stand only characters outside ASCII
    /// (a mark or a dash), count as one.
    static func near(_ first: Bitset, _ then: Bitset, _ within: Int, in fields: [Field]) -> String? {
        var word = 0, lastFirst = Int.min / 2
        var at: (field: Field, token: Int)? = nil
        for field in fields where !field.tokens.isEmpty {
            var text = field.text
            let found: Int? = text.withUTF8 { u in
                for (i, t) in field.tokens.enumerated() {
                    if i == 0 || u[Int(field.tokens[i - 1].end)..<Int(t.start)].contains(where: { $0 < 0x80 && $0 != 0x5F }) { word += 1 }
                    // An earlier token of `first` (this one is not yet noted as one).
                    if word - lastFirst <= within && then.contains(t.id) { return i }
                    if first.contains(t.id) { lastFirst = word; at = (field, i) }
                }
                return nil
            }
            if let found, let at { return at.field.quote(at.token..<(at.token + 1)) + " ... " + field.quote(found..<(found + 1)) }
        }
        return nil
    }

    /// The folded field with its text, built on first use (kept apart: it has no words, only text for patterns).
    private var foldedText: Field? = nil
    func normalizedField(_ v: Vocabulary) -> Field? {
        if let field = fields[.normalized] { return field }
        if let foldedText { return foldedText }
        guard let parts = foldParts else { return nil }
        let field = Field(name: Features.normalizedName, rawText: Features.folded(parts))
        foldedText = field
        return field
    }

    private func quote(_ t: Token, in field: Field) -> String {
        let i = field.tokens.firstIndex(where: { $0.start == t.start })!
        return field.quote(i..<(i + 1))
    }

    /// What made a rule's conditions hold, as text, each fragment once (a word two conditions name is quoted once).
    func resolve(_ hits: [Hit]) -> [(field: String, fragment: String)] {
        var out: [(field: String, fragment: String)] = []
        for h in hits {
            let r = resolve(h)
            if !out.contains(where: { $0.field == r.field && $0.fragment == r.fragment }) { out.append(r) }
        }
        return out
    }

    func resolve(_ h: Hit) -> (field: String, fragment: String) {
        switch h {
        case .tokens(let k, let r): let field = fields[k]!; return (field.name, field.quote(r))
        case .nameVerb: return ("name", quote(nameVerb!, in: fields[.name]!))
        case .nameLast: return ("name", quote(nameLast!, in: fields[.name]!))
        case .leadVerb: return ("description", quote(leadVerb!, in: fields[.lead]!))
        case .param(let i): return ("parameters", paramNames[i].name)
        case .text(let field, let fragment): return (field, fragment)
        }
    }
}

/// Decides category, risk, evidence and findings from the rules in rules/. Pure: no I/O after loading.
public struct Classifier: @unchecked Sendable {
    /// Everything the rules compile to, in one object: a closure that names the classifier (as `classify`'s do) then
    /// copies one reference, not every table.
    final class Tables: @unchecked Sendable {
        let rules: [Rule]
        let categoryRules: [CompiledRule]
        let riskRules: [CompiledRule]
        let findingRules: [CompiledRule]
        /// The tests that rule out most rules of each list before they are evaluated.
        let categoryScreens: Screens
        let riskScreens: Screens
        let findingScreens: Screens
        let vocabulary: Vocabulary
        let lexicon: Bitset
        let leadLexicon: Bitset
        let trailing: Bitset
        let nounish: Bitset
        /// The names of parameters that select what a tool does, as word numbers.
        let selectors: [[Int32]]
        let usesNormalized: Bool
        let literals: LiteralMatcher
        /// The title field of a tool without one (most tools), shared: a field is read-only once made.
        let emptyTitle: Field

        init(rules: [Rule]) {
            self.rules = rules
            var vocab = Vocabulary()
            // Number every word first, so that every bitset has its final size.
            var lengths: [Int] = []
            func number(_ w: String) {
                let id = Int(vocab.add(w))
                if id == lengths.count { lengths.append(w.utf8.count) }
            }
            for r in rules {
                for c in r.when + r.any.flatMap({ $0 }) + r.unless.flatMap({ $0 }) {
                    switch c {
                    case .nameVerb(let v), .leadVerb(let v), .nameLast(let v): for w in v { number(w) }
                    case .actionOffered(let p): for ph in p { for w in ph { number(w) } }
                    case .has(_, let p, _), .paramNamed(let p), .paramIs(let p): for ph in p { for w in ph { number(w) } }
                    case .near(_, let a, let b, _): for w in a + b { number(w) }
                    default: break
                    }
                }
            }
            let trailingIDs = Features.trailingVerbs.map { vocab.add(Stemmer.stem($0)) }
            let nounishIDs = Features.nounish.map { vocab.add(Stemmer.stem($0)) }
            let selectorIDs = Features.selectors.map { s in Tokenizer.tokens(s).map { vocab.add($0.stem) } }
            let size = vocab.count
            let v = vocab
            var lits = LiteralMatcher()
            func words(_ phrases: [[String]]) -> [[Int32]] { phrases.map { $0.map { v.id($0) } } }
            func compile(_ c: Condition) -> Compiled {
                switch c {
                case .nameVerb(let w): return .nameVerb(Bitset(size: size, w.map { v.id($0) }))
                case .nameLast(let w): return .nameLast(Bitset(size: size, w.map { v.id($0) }))
                case .leadVerb(let w): return .leadVerb(Bitset(size: size, w.map { v.id($0) }))
                case .has(let k, let p, let quiet):
                    let ids = words(p)
                    var firsts: [Int32] = []
                    for id in ids.compactMap(\.first) where !firsts.contains(id) { firsts.append(id) }
                    return .has(k, ids, firsts: firsts, quiet: quiet)
                case .near(let k, let a, let b, let within): return .near(k, first: Bitset(size: size, a.map { v.id($0) }), then: Bitset(size: size, b.map { v.id($0) }), within: within)
                case .paramNamed(let p): return .paramNamed(words(p))
                case .paramIs(let p): return .paramIs(words(p))
                case .noParams(let b): return .noParams(b)
                case .annotation(let a): return .annotation(a)
                case .categoryIs(let cs): return .categoryIs(cs)
                case .actionOffered(let p):
                    let ids = words(p)
                    return .actionOffered(Bitset(size: size, ids.filter { $0.count == 1 }.map { $0[0] }), phrases: ids.filter { $0.count > 1 })
                case .regex(let k, let icu):
                    let ci = icu.caseInsensitive
                    if let set = RegexRequirement.scalarSet(icu.pattern, caseInsensitive: ci) { return .scalars(k, set) }
                    let analysis = RegexRequirement.analyze(icu.pattern, caseInsensitive: ci)
                    let requires = analysis.requires, runs = analysis.runs
                    func letter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
                    let letters = requires.joined().contains { $0.contains(where: letter) } || runs.contains { $0.bytes.contains(where: letter) }
                    let classes = runs.map { (bytes: $0.table, length: $0.length) }
                    let starts = analysis.starts.flatMap { MatchStarts($0, of: icu.pattern) }
                    return .regex(k, icu, requires: requires.map { $0.map { lits.add($0) } }, runs: classes, anyText: !(ci && letters), starts: starts)
                case .unusable(let b): return .unusable(b)
                case .contains(let k, let strings):
                    let literals = strings.map { (id: lits.add(Array($0.utf8)), bytes: Array($0.utf8)) }
                    return .contains(k, literals, plain: literals.allSatisfy { $0.bytes.allSatisfy(Classifier.keptByFolding) })
                case .longToken(let n): return .longToken(n)
                case .nonASCII(let b): return .nonASCII(b)
                }
            }
            func build(_ r: Rule) -> CompiledRule {
                CompiledRule(rule: r, when: r.when.map(compile), any: r.any.map { $0.map(compile) }, unless: r.unless.map { $0.map(compile) })
            }
            // How rare a word is likely to be (its length): a phrase is needed through its rarest word.
            let rarity = { (id: Int32) in Int(id) < lengths.count ? lengths[Int(id)] : 0 }
            let literal = { (id: Int32) in lits.literals[Int(id)] }
            categoryRules = rules.filter { $0.stage == .category }.sorted { ($0.priority, $0.id) > ($1.priority, $1.id) }.map(build)
            riskRules = rules.filter { $0.stage == .risk }.sorted { $0.id < $1.id }.map(build)
            findingRules = rules.filter { $0.stage == .finding }.sorted { $0.id < $1.id }.map(build)
            categoryScreens = Screens(categoryRules, vocabularySize: size, rarity: rarity, literal: literal)
            riskScreens = Screens(riskRules, vocabularySize: size, rarity: rarity, literal: literal)
            findingScreens = Screens(findingRules, vocabularySize: size, rarity: rarity, literal: literal)
            // Only category rules' own conditions define action words: a word named in an `unless` or by a risk
            // or finding rule (`email`) must not turn a noun into a verb.
            var lex = Bitset(size: size), lead = Bitset(size: size)
            for r in categoryRules {
                for c in r.when + r.any.flatMap({ $0 }) {
                    if case .nameVerb(let b) = c { for i in 0..<Int32(size) where b.contains(i) { lex.insert(i) } }
                    if case .leadVerb(let b) = c { for i in 0..<Int32(size) where b.contains(i) { lead.insert(i) } }
                }
            }
            lits.build()
            literals = lits
            vocabulary = vocab
            emptyTitle = Field(name: "title", text: "", vocabulary: vocab)
            lexicon = lex
            leadLexicon = lead
            trailing = Bitset(size: size, trailingIDs)
            nounish = Bitset(size: size, nounishIDs)
            selectors = selectorIDs
            // Any condition that reads the folded text (a rule with only words or literals to look for there too).
            usesNormalized = rules.contains { r in
                (r.when + r.any.flatMap { $0 } + r.unless.flatMap { $0 }).contains { c in
                    switch c {
                    case .regex(let kinds, _), .contains(let kinds, _), .has(let kinds, _, _), .near(let kinds, _, _, _): kinds.contains(.normalized)
                    default: false
                    }
                }
            }
        }
    }

    let t: Tables
    public var rules: [Rule] { t.rules }
    /// Off, every rule is evaluated: the tests compare both ways to show the screens only rule out rules that cannot fire.
    var screening = true
    var vocabulary: Vocabulary { t.vocabulary }
    var lexicon: Bitset { t.lexicon }
    var leadLexicon: Bitset { t.leadLexicon }
    var trailing: Bitset { t.trailing }
    var nounish: Bitset { t.nounish }
    var selectors: [[Int32]] { t.selectors }
    var usesNormalized: Bool { t.usesNormalized }
    var emptyTitle: Field { t.emptyTitle }

    public init(rules: [Rule]) { t = Tables(rules: rules) }

    public init(directory: String) throws(RuleError) { self.init(rules: try RuleLoader.load(directory: directory)) }

    /// What a decided category or risk level says in the evidence, made once (not a string per definition).
    static let categoryEffect = Dictionary(uniqueKeysWithValues: AtlasModel.Category.allCases.map { ($0, "category \($0.rawValue)") })
    static let riskEffect = Dictionary(uniqueKeysWithValues: RiskLevel.allCases.map { ($0, "risk \($0.rawValue)") })

    public struct Result: Sendable {
        public var verdict: Verdict
        public var findings: [Finding]
        public var firedRules: [String]
    }

    /// A server's name cut into words once, for all of its tools (`classify(_:server:instructions:)`).
    public struct Server: Sendable {
        public let name: String
        let field: Field
        /// The stem hashes of its words, in order: the name's words are compared with them.
        let hashes: [UInt64]
    }

    /// The server named `name`, its name cut once: pass it to `classify(_:server:instructions:)` with each of its tools.
    public func server(_ name: String) -> Server {
        var hashes: [UInt64] = []
        let field = Field(name: "server", text: name, vocabulary: vocabulary, notes: nil, hashes: &hashes)
        return Server(name: name, field: field, hashes: hashes)
    }

    public func classify(_ tool: Tool, server: String = "", instructions: String? = nil) -> Result {
        classify(tool, server: self.server(server), instructions: instructions)
    }

    /// The verdict on `tool` of `server` (made by `server(_:)`, once for the server's tools).
    public func classify(_ tool: Tool, server: Server, instructions: String? = nil) -> Result {
        let f = Features(tool: tool, server: server, instructions: instructions, c: self)
        // The name alone is taken for the closures below: one that named `tool` would copy the whole definition.
        let name = tool.name
        var fired: [String] = []
        // Room for the rules a definition usually fires, so that the list is made once.
        fired.reserveCapacity(8)
        // Category: the strongest evidence wins; among equally strong evidence, the most severe category.
        var winner: (rule: CompiledRule, evidence: [Hit])? = nil
        // Every rule is evaluated so that the explanation lists all that fired; the first (strongest) decides.
        func decide() {
            eachRule(t.categoryRules, t.categoryScreens, f, categoryBit: 0) { cr, screen, k in
                guard let ev = evaluate(cr, f, category: nil, screen, k) else { return }
                fired.append(cr.rule.id)
                if let w = winner {
                    if cr.rule.priority == w.rule.rule.priority && cr.rule.category! > w.rule.rule.category! { winner = (cr, ev) }
                } else {
                    winner = (cr, ev)
                }
            }
        }
        decide()
        // A name whose action word decided nothing (`spotify_play`: play is only an action word of playbooks) leaves
        // the decision to the description's first verb, as a name without one would.
        if winner == nil, f.nameVerb != nil, f.leadVerb != nil {
            f.leadDecides = true
            decide()
        }
        var evidence: [Evidence] = []
        var category: AtlasModel.Category
        var start: RiskLevel
        var confidence: Confidence
        if let w = winner {
            category = w.rule.rule.category!
            start = w.rule.rule.risk ?? category.baseline
            confidence = w.rule.rule.priority >= 60 ? .high : .medium
            evidence = f.resolve(w.evidence).map { Evidence(rule: w.rule.rule.id, field: $0.field, fragment: $0.fragment, effect: Classifier.categoryEffect[category]!) }
        } else {
            category = .write
            start = RiskLevel.medium
            confidence = .low
            evidence = [Evidence(rule: "unclear", field: "definition", fragment: "", effect: "no rule decided: treated as Write")]
        }
        if !f.usable {
            start = start.raised()
            confidence = .low
            evidence.append(Evidence(rule: "unclear", field: "name and description", fragment: name, effect: "risk raised one level for uncertainty"))
        }
        // Risk: modifiers that plainly hold; a raise and a lower together cancel.
        var raises: [(Rule, [Hit])] = []
        var lowers: [(Rule, [Hit])] = []
        f.afterCategory = true
        eachRule(t.riskRules, t.riskScreens, f, categoryBit: Screens.mask(category)) { cr, screen, k in
            let rule = cr.rule
            guard let ev = evaluate(cr, f, category: category, screen, k) else { return }
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
            for (r, ev) in raises + lowers { evidence += f.resolve(ev).map { Evidence(rule: r.id, field: $0.field, fragment: $0.fragment, effect: "cancelled: a raise and a lower both hold") } }
        } else if let top = raises.max(by: { $0.0.risk! < $1.0.risk! }) {
            risk = top.0.risk!
            evidence += f.resolve(top.1).map { Evidence(rule: top.0.id, field: $0.field, fragment: $0.fragment, effect: Classifier.riskEffect[risk]!) }
        } else if let bottom = lowers.min(by: { $0.0.risk! < $1.0.risk! }) {
            risk = bottom.0.risk!
            evidence += f.resolve(bottom.1).map { Evidence(rule: bottom.0.id, field: $0.field, fragment: $0.fragment, effect: Classifier.riskEffect[risk]!) }
        }
        let verdict = Verdict(category: category, risk: risk, confidence: confidence, evidence: evidence)
        // Findings see the verdict, so that annotations can be checked against it; a category no rule decided (the
        // treatment of unclear tools) is no evidence that a claim is false.
        var findings: [Finding] = []
        // Findings read only the name's own action word: a description can be written to exempt itself.
        f.afterCategory = false
        let decided = winner == nil ? nil : category
        eachRule(t.findingRules, t.findingScreens, f, categoryBit: Screens.mask(decided)) { cr, screen, k in
            let rule = cr.rule
            guard let hits = evaluate(cr, f, category: decided, screen, k) else { return }
            fired.append(rule.id)
            let ev = f.resolve(hits)
            let first = ev.first(where: { !$0.fragment.isEmpty }) ?? ev.first
            findings.append(Finding(rule: rule.id, severity: rule.severity!, title: rule.summary, tool: name,
                                    field: first?.field ?? "definition", fragment: first?.fragment ?? ""))
        }
        return Result(verdict: verdict, findings: findings, firedRules: fired)
    }

    /// Calls `body` with each rule of a list, in order, that its screens let through (every rule when screening is off),
    /// with the screens' reader to pass to `evaluate` and the rule's place in the list.
    @inline(__always) func eachRule(_ rules: [CompiledRule], _ screens: Screens, _ f: Features, categoryBit: Int32,
                                    _ body: (CompiledRule, Screens.Reader?, Int) -> Void) {
        if !screening {
            for (k, cr) in rules.enumerated() { body(cr, nil, k) }
            return
        }
        rules.withUnsafeBufferPointer { rules in
            screens.read(f, categoryBit: categoryBit) { screen in screen.forEachPassing { k, screen in body(rules[k], screen, k) } }
        }
    }

    /// Whether a rule fires, with what made each condition hold (a rule its screen ruled out need not be asked). With the
    /// screen of its list (`k`: the rule's place there), groups of conditions whose tests fail are passed over unread.
    func evaluate(_ rule: CompiledRule, _ f: Features, category: AtlasModel.Category?, _ screen: Screens.Reader?, _ k: Int) -> [Hit]? {
        var ev: [Hit] = []
        // Cheap conditions first, then cheap exceptions, then patterns (the last `when` conditions): a rule that a word
        // rules out runs no pattern. The evidence keeps the conditions' own order.
        for i in 0..<rule.firstPattern {
            guard let e = check(rule.when[i], f, category) else { return nil }
            if let e { ev.append(e) }
        }
        // A rule that an exception rules out needs no further look: cheap exceptions are tried first.
        for (j, group) in rule.cheapUnless.enumerated() where screen?.cheapUnlessMayHold(k, j) != false && group.allSatisfy({ check($0, f, category) != nil }) {
            return nil
        }
        for i in rule.firstPattern..<rule.when.count {
            guard let e = check(rule.when[i], f, category) else { return nil }
            if let e { ev.append(e) }
        }
        if !rule.any.isEmpty {
            var matched = false
            for (j, group) in rule.any.enumerated() where screen?.anyMayHold(k, j) != false {
                var gev: [Hit] = []
                var ok = true
                for c in group {
                    guard let e = check(c, f, category) else { ok = false; break }
                    if let e { gev.append(e) }
                }
                if ok { ev += gev; matched = true; break }
            }
            if !matched { return nil }
        }
        for (j, group) in rule.costlyUnless.enumerated() where screen?.costlyUnlessMayHold(k, j) != false && group.allSatisfy({ check($0, f, category) != nil }) {
            return nil
        }
        return ev
    }

    /// nil: the condition does not hold. .some(nil): it holds with nothing to quote. .some(h): it holds because of h.
    func check(_ c: Compiled, _ f: Features, _ category: AtlasModel.Category?) -> Hit?? {
        switch c {
        case .nameVerb(let verbs):
            if let v = f.nameVerb {
                if verbs.contains(v.id) { return .some(.nameVerb) }
                for k in f.joinedVerbs where verbs.contains(f.fields[.name]!.tokens[k].id) { return .some(.tokens(.name, k..<(k + 1))) }
                // A name whose action word decided nothing (`user_admin`) left the action to the lead's verb: risk
                // modifiers read that verb too.
                if f.afterCategory, f.leadDecides, let l = f.leadVerb, verbs.contains(l.id) { return .some(.leadVerb) }
                return nil
            }
            // A name with no action word (`slack_notifier`, `uploader`) leaves the action to the description's first
            // verb: once the category is decided, risk modifiers read that verb as the tool's action (a route's name
            // reads it from the start).
            guard f.afterCategory || f.routeAction, let v = f.leadVerb, verbs.contains(v.id) else { return nil }
            return .some(.leadVerb)
        case .nameLast(let words):
            guard let last = f.nameLast, words.contains(last.id) else { return nil }
            return .some(.nameLast)
        case .leadVerb(let verbs):
            guard f.nameVerb == nil || f.leadDecides, let v = f.leadVerb, verbs.contains(v.id) else { return nil }
            return .some(.leadVerb)
        case .has(let kinds, let phrases, let firsts, let quiet):
            for k in kinds {
                if let field = f.fields[k] {
                    guard firsts.contains(where: { f.holds(k, $0) }) else { continue }
                    for p in phrases { if let r = f.find(p, in: field, k) { return quiet ? .some(nil) : .some(.tokens(k, r)) } }
                } else if k == .normalized, f.readsFoldedParts {
                    for part in Features.foldedKinds {
                        guard let field = f.fields[part], firsts.contains(where: { f.holds(part, $0) }) else { continue }
                        for p in phrases { if let r = f.find(p, in: field, part) { return quiet ? .some(nil) : .some(.text(field.name, field.quote(r))) } }
                    }
                    if let q = f.phraseAcrossParts(phrases) { return quiet ? .some(nil) : .some(.text(Features.normalizedName, q)) }
                }
            }
            return nil
        case .near(let kinds, let first, let then, let within):
            for k in kinds {
                if let field = f.fields[k] {
                    if let q = Features.near(first, then, within, in: [field]) { return .some(.text(field.name, q)) }
                } else if k == .normalized, f.readsFoldedParts,
                          let q = Features.near(first, then, within, in: Features.foldedKinds.compactMap { f.fields[$0] }) {
                    return .some(.text(Features.normalizedName, q))
                }
            }
            return nil
        case .paramNamed(let phrases):
            for (i, p) in f.paramNames.enumerated() {
                for ph in phrases {
                    // A one-word phrase names the parameter itself or its last word (`shell_command`, not `max_command_length`).
                    if p.ids.elementsEqual(ph) || (ph.count == 1 && p.ids.last == ph[0]) || (ph.count > 1 && contains(p.ids, ph)) {
                        return .some(.param(i))
                    }
                }
            }
            return nil
        case .paramIs(let names):
            for (i, p) in f.paramNames.enumerated() where names.contains(where: { $0.elementsEqual(p.ids) }) { return .some(.param(i)) }
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
            return .some(.text("annotations", want.keys.sorted().map { "\($0): \(want[$0]!)" }.joined(separator: ", ")))
        case .actionOffered(let words, let phrases):
            for o in f.offered where words.contains(o.ids[0]) || phrases.contains(where: { o.ids.starts(with: $0) }) {
                return .some(.text("parameters", "\(o.param): \(o.choice)"))
            }
            return nil
        case .categoryIs(let cats):
            guard let category, cats.contains(category) else { return nil }
            return .some(nil)
        case .regex(let kinds, let re, let requires, let runs, let anyText, let starts):
            for k in kinds {
                // The folded text's literals can be known before the text is built.
                if k == .normalized, !requires.isEmpty, let hits = f.foldedLiterals(t.literals),
                   !hits.holdsOneOfEach(requires) { continue }
                guard let field = k == .normalized ? f.normalizedField(t.vocabulary) : f.fields[k], !field.text.isEmpty else { continue }
                // The literals and runs a match needs are looked for first.
                if anyText || f.isASCII(k, field) {
                    if !requires.isEmpty {
                        let hits = f.literals(k, field, t.literals)
                        if !hits.holdsOneOfEach(requires) { continue }
                    }
                    if !runs.allSatisfy({ Classifier.firstRun(in: field.text, of: $0.bytes, length: $0.length) != nil }) { continue }
                }
                let units = f.utf16(k, field)
                let found = units.withUnsafeBufferPointer { text in
                    starts.map { $0.firstMatch(re, in: text, of: field.text, foldsOntoASCII: f.foldsOntoASCII(k, field)) } ?? re.firstMatch(in: text, from: 0, anchored: false)
                }
                if let m = found {
                    return .some(.text(field.name, String(String(decoding: units[m], as: UTF16.self).prefix(160))))
                }
            }
            return nil
        case .scalars(let kinds, let set):
            for k in kinds {
                guard let field = k == .normalized ? f.normalizedField(t.vocabulary) : f.fields[k], !field.text.isEmpty,
                      !f.isASCII(k, field), let u = set.first(in: field.text) else { continue }
                return .some(.text(field.name, String(u)))
            }
            return nil
        case .unusable(let want):
            return (!f.usable == want) ? .some(nil) : nil
        case .contains(let kinds, let wanted, let plain):
            for k in kinds {
                // Literals of neither letters nor white space occur in folded plain ASCII just where they occur in one of
                // its parts: looked for there, before the matcher has read the folded text, they spare it the reading.
                if k == .normalized, plain, let parts = f.unreadPlainParts {
                    for lit in wanted where parts.contains(where: { Classifier.find(lit.bytes, in: $0) }) {
                        return .some(.text(Features.normalizedName, String(decoding: lit.bytes, as: UTF8.self)))
                    }
                    continue
                }
                if k == .normalized, let hits = f.foldedLiterals(t.literals), !wanted.contains(where: { hits.contains($0.id) }) { continue }
                guard let field = k == .normalized ? f.normalizedField(t.vocabulary) : f.fields[k], !field.text.isEmpty else { continue }
                // A field the matcher has read says which literals it may hold (ignoring ASCII case; confirmed byte for
                // byte); otherwise a few literals are looked for directly (a few exact searches cost less than a pass of
                // the matcher), and many by a pass of the matcher, which later conditions reuse.
                let hits = f.scannedLiterals(k) ?? (wanted.count >= Classifier.matcherFrom ? f.literals(k, field, t.literals) : nil)
                for lit in wanted where hits?.contains(lit.id) != false && Classifier.find(lit.bytes, in: field.text) {
                    return .some(.text(field.name, String(decoding: lit.bytes, as: UTF8.self)))
                }
            }
            return nil
        case .nonASCII(let want):
            return (f.flags >> UInt32(Features.Flag.nonASCII.rawValue)) & 1 == (want ? 1 : 0) ? .some(nil) : nil
        case .longToken(let n):
            // A run of letters and digits, measured on bytes (camelCase does not cut it).
            for k in Features.foldedKinds {
                guard let field = f.fields[k], field.longestRun >= n,
                      let start = Classifier.firstRun(in: field.text, of: Classifier.letterOrDigit, length: n) else { continue }
                return .some(.text(field.name, String(decoding: field.text.utf8.dropFirst(start).prefix(60), as: UTF8.self)))
            }
            return nil
        }
    }

    /// From how many literals to look for in a field the matcher reads it, rather than each literal being searched for.
    static let matcherFrom = 6

    /// A byte that folding plain ASCII leaves as it is: neither a letter nor white space.
    static func keptByFolding(_ b: UInt8) -> Bool {
        b < 0x80 && (b | 0x20) &- 0x61 >= 26 && !isFoldedSpace(b)
    }

    /// Where the first run of `length` bytes in a row from the class `table` (indexed by byte) starts in `text`'s UTF-8.
    static func firstRun(in text: String, of table: [Bool], length: Int) -> Int? {
        var text = text
        return text.withUTF8 { bytes in
            table.withUnsafeBufferPointer { table in
                var n = 0
                for i in 0..<bytes.count {
                    if table[Int(bytes[i])] { n += 1; if n >= length { return i + 1 - n } } else { n = 0 }
                }
                return nil
            }
        }
    }

    static let letterOrDigit: [Bool] = (0..<256).map { b in (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Bool { hay.withUnsafeBufferPointer { find(needle, in: $0) } }

    /// Whether `needle` occurs in `text`'s UTF-8, read in place.
    static func find(_ needle: [UInt8], in text: String) -> Bool {
        var text = text
        return text.withUTF8 { find(needle, in: $0) }
    }

    /// Candidates by the C library's `memchr` on the first byte (vectorised), each confirmed in place (most fail at
    /// their second byte). A needle of sixteen bytes or more skips instead (Horspool): a run of thirty spaces would
    /// otherwise stop `memchr` at every space of the text.
    static func find(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = needle.first, needle.count <= hay.count, let base = hay.baseAddress else { return false }
        if needle.count >= 16 { return skipSearch(needle, in: hay) }
        let last = hay.count - needle.count
        return needle.withUnsafeBufferPointer { n in
            var i = 0
            while i <= last {
                guard let p = memchr(base + i, Int32(first), last - i + 1) else { return false }
                let at = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                var k = 1
                while k < n.count && base[at + k] == n[k] { k += 1 }
                if k == n.count { return true }
                i = at + 1
            }
            return false
        }
    }

    /// Horspool's search: the text's byte under the needle's last byte says how far the needle can move.
    static func skipSearch(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.count
        // Shifts of a byte each (a shorter shift than the needle allows is always safe): the table is set up per call.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { shift in
            shift.initialize(repeating: UInt8(min(n, 255)))
            for k in 0..<(n - 1) { shift[Int(needle[k])] = UInt8(min(n - 1 - k, 255)) }
            return needle.withUnsafeBufferPointer { p in
                var i = 0
                while i + n <= hay.count {
                    let last = hay[i + n - 1]
                    if last == p[n - 1] {
                        var k = 0
                        while k < n - 1 && hay[i + k] == p[k] { k += 1 }
                        if k == n - 1 { return true }
                    }
                    i += Int(shift[Int(last)])
                }
                return false
            }
        }
    }

    private func contains(_ hay: ArraySlice<Int32>, _ needle: [Int32]) -> Bool {
        guard needle.count <= hay.count else { return false }
        for i in hay.startIndex...(hay.endIndex - needle.count) where hay[i..<(i + needle.count)].elementsEqual(needle) { return true }
        return false
    }
}

/// The strings one of which every match of a pattern starts with: the pattern is tried only where one occurs, anchored
/// there (the engine otherwise tries every position of the text, which is most of its cost).
struct MatchStarts: Sendable {
    let strings: [[UInt8]]
    /// The pairs of bytes that begin a string, either case, as a set of 65,536 bits (first byte high): most bytes of a
    /// text are ruled out by one look-up, where a table of first bytes alone lets every `n` and `d` through.
    let pairs: [UInt64]
    /// Every match starts at a word boundary (`\b`) with a word character: a place right after an ASCII letter, digit or
    /// `_` (a word character, never a mark that the boundary would pass over) is no place for one.
    let afterBoundary: Bool

    /// The starts of `pattern` (`RegexRequirement.starts`). Only strings of two bytes or more, all ASCII: shorter ones
    /// occur nearly everywhere.
    init?(_ strings: [[UInt8]], of pattern: String) {
        guard !strings.isEmpty, strings.allSatisfy({ $0.count >= 2 && $0.allSatisfy { $0 < 0x80 } }) else { return nil }
        self.strings = strings
        afterBoundary = RegexRequirement.opensWithBoundary(pattern) && strings.allSatisfy { MatchStarts.isWordByte($0[0]) }
        func cases(_ b: UInt8) -> [UInt8] { b >= 0x61 && b <= 0x7A ? [b, b - 32] : [b] }
        var pairs = [UInt64](repeating: 0, count: 1024)
        for s in strings {
            for a in cases(s[0]) {
                for b in cases(s[1]) {
                    let key = Int(a) << 8 | Int(b)
                    pairs[key >> 6] |= 1 << UInt64(key & 63)
                }
            }
        }
        self.pairs = pairs
    }

    /// An ASCII letter, digit or `_`: a word character to `\b`.
    static func isWordByte(_ b: UInt8) -> Bool { ByteSet.isWordByte(b) || b == 0x5F }

    /// Whether `text` holds a character that a case-insensitive match could take for ASCII letters (`ſ`, `K`, `ﬁ`, `ß`:
    /// those that change when case-folded): the strings' bytes would then not show every place a match can start.
    static func foldsOntoASCII(_ text: String) -> Bool {
        text.unicodeScalars.contains { !$0.isASCII && $0.properties.changesWhenCaseFolded }
    }

    /// Hands each place where one of the strings occurs in `text` (ignoring ASCII case), in order, as a UTF-16 offset,
    /// to `visit`, until it returns false.
    func forEachPlace(in text: String, _ visit: (Int) -> Bool) {
        var text = text
        text.withUTF8 { bytes in pairs.withUnsafeBufferPointer { pairs in
            var utf16 = 0
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if b >= 0x80 {
                    // A scalar of 2 to 4 bytes: one UTF-16 unit, two from four bytes.
                    let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                    utf16 += length == 4 ? 2 : 1
                    i += length
                    continue
                }
                let key = i + 1 < n ? Int(b) << 8 | Int(bytes[i + 1]) : 0
                if pairs[key >> 6] & (1 << UInt64(key & 63)) != 0, !afterBoundary || i == 0 || !MatchStarts.isWordByte(bytes[i - 1]) {
                    for s in strings where s.count <= n - i {
                        var k = 0
                        while k < s.count && lowerASCII(bytes[i + k]) == s[k] { k += 1 }
                        if k == s.count {
                            if !visit(utf16) { return }
                            break
                        }
                    }
                }
                utf16 += 1
                i += 1
            }
        } }
    }

    /// The first match of `re` in `text` (the UTF-16 form of `string`): tried anchored at each place a start occurs, in
    /// order, seeing the text around it (`\b`, look-behind) and with `^` only at the text's real start. No match can start
    /// anywhere else, so the first found is the first there is. (A search of the whole text costs far more: the engine
    /// then tries every position, and a pattern such as `(send|post)\s+(\S+\s+){0,6}?to` costs milliseconds on a
    /// long description.) `foldsOntoASCII`: whether `string` holds a character that case folding takes for ASCII letters
    /// (asked only of a case-insensitive pattern); a whole-text search is then the only safe one.
    func firstMatch(_ re: ICURegex, in text: UnsafeBufferPointer<UInt16>, of string: String, foldsOntoASCII: @autoclosure () -> Bool) -> Range<Int>? {
        if re.caseInsensitive, foldsOntoASCII() { return re.firstMatch(in: text, from: 0, anchored: false) }
        var found: Range<Int>? = nil
        forEachPlace(in: string) { p in
            if let pre = re.necessary, pre.firstMatch(in: text, from: p, anchored: true) == nil { return true }
            found = re.firstMatch(in: text, from: p, anchored: true)
            return found == nil
        }
        return found
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
