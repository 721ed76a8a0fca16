import AtlasModel
internal import CYaml

/// A YAML document read straight from libyaml's events into the JSON-like data rules are made from. Yams would first
/// build its own tree of nodes (with tags, marks and styles the rules never read) and that tree was then walked again;
/// the library's parser is the same, only the two copies are gone (they were about a third of loading the rules).
enum YAMLReader {
    /// What the parser refused, in one line with its place (`line 5, column 12`).
    struct Problem: Error { let message: String }

    /// The one document in `text`, or nil when the text holds none. Plain scalars are typed as YAML's default schema
    /// types them (`RuleLoader.typed`), quoted ones stay text; a key given twice in one mapping, an alias, or a second
    /// document is refused.
    static func read(_ text: String) throws(Problem) -> JSONValue? {
        var text = text
        // `withUTF8` does not carry a typed error through; the result does.
        let result = text.withUTF8 { bytes -> Result<JSONValue?, Problem> in
            let parser = Parser()
            defer { parser.free() }
            guard yaml_parser_initialize(parser.state) == 1 else { return .failure(Problem(message: "the YAML parser could not start")) }
            yaml_parser_set_encoding(parser.state, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser.state, bytes.baseAddress, bytes.count)
            do throws(Problem) { return .success(try parser.document()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private struct Parser {
        // Kept in place on the heap: libyaml points into its parser from the parser.
        let state = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let eventPointer = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        var event: yaml_event_t { eventPointer.pointee }

        init() {
            state.initialize(to: yaml_parser_t())
            eventPointer.initialize(to: yaml_event_t())
        }

        func free() {
            yaml_event_delete(eventPointer)
            yaml_parser_delete(state)
            state.deallocate()
            eventPointer.deallocate()
        }

        /// Deeper than any rule needs; a bound so a hostile file cannot exhaust the stack.
        static let maxDepth = 64

        /// The next event, left in `event` (the previous one freed).
        func next() throws(Problem) -> yaml_event_type_t {
            yaml_event_delete(eventPointer)
            guard yaml_parser_parse(state, eventPointer) == 1 else { throw parserProblem() }
            return event.type
        }

        func parserProblem() -> Problem {
            let state = state.pointee
            let problem = state.problem.map { String(cString: $0) } ?? "unknown problem"
            var text = problem + Parser.place(state.problem_mark)
            if let context = state.context { text = String(cString: context) + ": " + text }
            return Problem(message: text)
        }

        func problem(_ message: String) -> Problem { Problem(message: message + Parser.place(event.start_mark)) }

        /// Where a mark stands, as the messages say it (libyaml counts from 0).
        static func place(_ mark: yaml_mark_t) -> String { " (line \(mark.line + 1), column \(mark.column + 1))" }

        func document() throws(Problem) -> JSONValue? {
            guard try next() == YAML_STREAM_START_EVENT else { throw problem("expected the start of the text") }
            if try next() == YAML_STREAM_END_EVENT { return nil }
            let type = try next()
            let root = try value(type, depth: 0)
            guard try next() == YAML_DOCUMENT_END_EVENT else { throw problem("expected the end of the document") }
            guard try next() == YAML_STREAM_END_EVENT else { throw problem("a rule file holds one YAML document, found another") }
            return root
        }

        /// The value whose first event (of kind `type`) is in `event`.
        func value(_ type: yaml_event_type_t, depth: Int) throws(Problem) -> JSONValue {
            if depth > Self.maxDepth { throw problem("nested deeper than \(Self.maxDepth) levels") }
            switch type {
            case YAML_SCALAR_EVENT:
                let s = scalar()
                return event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? RuleLoader.typed(s) : .string(s)
            case YAML_SEQUENCE_START_EVENT:
                var items: [JSONValue] = []
                while case let t = try next(), t != YAML_SEQUENCE_END_EVENT { items.append(try value(t, depth: depth + 1)) }
                return .array(items)
            case YAML_MAPPING_START_EVENT:
                var pairs: [String: JSONValue] = [:]
                while case let t = try next(), t != YAML_MAPPING_END_EVENT {
                    guard t == YAML_SCALAR_EVENT else { throw problem("a mapping's key must be a plain word or text") }
                    let key = scalar()
                    if pairs[key] != nil { throw problem("the key \(key) is given twice in one mapping") }
                    pairs[key] = try value(try next(), depth: depth + 1)
                }
                return .object(pairs)
            case YAML_ALIAS_EVENT:
                throw problem("YAML anchors and aliases are not used in rule files")
            default:
                throw problem("unexpected YAML event")
            }
        }

        /// The text of the scalar event in `event`.
        func scalar() -> String {
            let s = event.data.scalar
            return String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
        }
    }
}
