import AtlasModel
import Foundation
@testable import SiteGen
import Testing

/// The site generator on hostile data, and the generated pages in a real headless browser.
@Suite("Site")
struct SiteTests {
    static func tool(_ name: String, _ description: String = "Get a thing.", category: AtlasModel.Category = .read, risk: RiskLevel = .low) -> SiteTool {
        SiteTool(tool: Tool(name: name, description: description), verdict: Verdict(category: category, risk: risk, confidence: .high,
                 evidence: [Evidence(rule: "read-verb-in-name", field: "name", fragment: name, effect: "category Read")]), findings: [])
    }

    static let hostileNames = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "javascript:alert(1)", "../../etc/passwd", "/absolute/name",
        String(repeating: "very_long_name_", count: 40), "раypal_get_balance", "get-item", "get_item", "get.item", "GET_ITEM", "nul\u{0}l\u{1}ctl",
    ]

    static func hostileSite() throws -> [String: [UInt8]] {
        let server = SiteServer(name: "evil-server", title: nil, description: "<b>bold</b> & \"quoted\"", package: "pypi:evil<script>",
                                launch: "evil --flag '<x>'", transport: "stdio",
                                scan: SiteScan(status: "ok", reason: nil, era: "legacy", protocolVersion: "2025-11-25", serverName: "evil</title>",
                                               serverVersion: "1", date: Date(timeIntervalSince1970: 1_700_000_000), durationMs: 5),
                                tools: hostileNames.map { tool($0, "Does <script>alert('x')</script> & \"more\" with ]]> and --> inside.") },
                                changes: [], findings: [])
        let generator = try SiteGenerator(templates: Fixtures.templates)
        return try generator.render([server])
    }

    static func server(_ name: String, _ tools: [SiteTool]) -> SiteServer {
        SiteServer(name: name, title: nil, description: nil, package: nil, launch: name, transport: "stdio", scan: nil, tools: tools, changes: [], findings: [])
    }

    @Test("a rebuild renders and writes only what changed, removes what went away, and recovers without its manifest")
    func incrementalRebuild() throws {
        let out = Fixtures.tempDir("rebuild") + "/site"
        let generator = try SiteGenerator(templates: Fixtures.templates)
        var servers = (0..<6).map { s in Self.server("srv-\(s)", (0..<8).map { Self.tool("get_item_\($0)", "Get item \($0) of server \(s).") }) }
        let first = try generator.generate(servers, into: out)
        #expect(first.unchanged == 0 && first.removed == 0)
        let all = first.written
        let page = out + "/servers/srv-3/tools/get-item-5.html"
        let before = try String(contentsOfFile: page, encoding: .utf8)

        let again = try generator.generate(servers, into: out)
        #expect(again.written == 0 && again.unchanged == all)

        // One description changes and one tool goes away: its page and the server's pages change, no other tool page does.
        servers[3].tools[5] = Self.tool("get_item_5", "Get item 5, now with its history.")
        servers[3].tools.remove(at: 7)
        let third = try generator.generate(servers, into: out)
        #expect(third.removed == 1)
        #expect(!FileManager.default.fileExists(atPath: out + "/servers/srv-3/tools/get-item-7.html"))
        #expect(try String(contentsOfFile: page, encoding: .utf8) != before)
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("now with its history"))
        #expect(third.written < 30, "\(third.written) files written")
        // The catalogue-wide files follow: the new description is searchable and listed, the removed tool is gone.
        #expect(try String(contentsOfFile: out + "/assets/search-index.js", encoding: .utf8).contains("now with its history"))
        #expect(try String(contentsOfFile: out + "/llms-full.txt", encoding: .utf8).contains("now with its history"))
        #expect(try String(contentsOfFile: out + "/llms.txt", encoding: .utf8).contains("srv-3/index.html): 7 tools"))
        #expect(try String(contentsOfFile: out + "/api/tools.json", encoding: .utf8).components(separatedBy: "\"name\"").count - 1 == 47)

        // A page deleted by hand comes back; so does everything when the manifest is lost.
        try FileManager.default.removeItem(atPath: page)
        #expect(try generator.generate(servers, into: out).written == 1)
        try Data("ToolAtlas writes and prunes this folder.\n".utf8).write(to: URL(fileURLWithPath: out + "/.toolatlas-site"))
        try Data("stale".utf8).write(to: URL(fileURLWithPath: out + "/leftover.html"))
        let fresh = try generator.generate(servers, into: out)
        #expect(fresh.removed == 1)
        #expect(try generator.render(servers).keys.allSatisfy { FileManager.default.fileExists(atPath: out + "/" + $0) })
    }

    @Test("the manifest is read in place: every listed path is found by its bytes, the last line wins, bad lines are skipped")
    func manifestInPlace() throws {
        let root = Fixtures.tempDir("manifest")
        let lines = ["header",
                     "00000000000000aa\t00000000000000bb\tservers/a/tools/x.html",
                     "00000000000000ac\t00000000000000bd\tservers/a/tools/x.html",
                     "not a line",
                     "0000000000000001\t0000000000000002\tindex.html",
                     "000000000000000g\t0000000000000002\tbad-digit.html",
                     "0000000000000003\t0000000000000004\tservers/b/tools/é and ü.html"]
        let parsed = SiteFolder.parseManifest(Data(lines.joined(separator: "\n").utf8), root: root, finished: timespec())
        let m = parsed.files
        #expect(m.count == 3)
        #expect(m["servers/a/tools/x.html"]?.content == 0xac && m["servers/a/tools/x.html"]?.inputs == 0xbd)
        #expect(m["index.html"]?.inputs == 2)
        #expect(m["servers/b/tools/é and ü.html"]?.content == 3)
        #expect(m["bad-digit.html"] == nil && m["servers/a/tools/x.htm"] == nil && m["ndex.html"] == nil && m[""] == nil)
        #expect(Set((0..<m.count).map { m.path($0) }) == ["servers/a/tools/x.html", "index.html", "servers/b/tools/é and ü.html"])
    }

    @Test("definitions and evidence are read only for the servers whose pages are rendered, and a missing one is an error that names it")
    func detailsOnDemand() throws {
        let out = Fixtures.tempDir("details") + "/site"
        let generator = try SiteGenerator(templates: Fixtures.templates)
        func stored(_ name: String, _ description: String) -> SiteTool {
            SiteTool(name: name, summary: description, verdict: Verdict(category: .read, risk: .low, confidence: .high, evidence: []),
                     findings: [], storedDigest: Hashing.fnv1a64(description))
        }
        var servers = (0..<3).map { s in Self.server("srv-\(s)", [stored("get_item", "Get item of server \(s).")]) }
        func details(_ s: String) -> ToolDetails {
            ToolDetails(definition: Tool(name: "get_item", description: "Get item of server \(s.dropFirst(4)).").raw.canonical(),
                        evidenceJSON: #"[{"effect":"category Read","field":"name","fragment":"get","rule":"read-verb-in-name"}]"#)
        }
        var asked: [[String]] = []
        let loader: ([String]) throws -> [String: [String: ToolDetails]] = { names in
            asked.append(names)
            return Dictionary(uniqueKeysWithValues: names.map { ($0, ["get_item": details($0)]) })
        }
        _ = try generator.generate(servers, into: out, details: loader)
        #expect(asked.joined().sorted() == ["srv-0", "srv-1", "srv-2"])
        let page = try String(contentsOfFile: out + "/servers/srv-1/tools/get-item.html", encoding: .utf8)
        #expect(page.contains("Get item of server 1.") && page.contains("read-verb-in-name"))
        #expect(try String(contentsOfFile: out + "/api/servers/srv-1.json", encoding: .utf8).contains(#""fragment":"get""#))

        // Nothing changed: nothing is read. One server changed: only its details are read.
        asked = []
        _ = try generator.generate(servers, into: out, details: loader)
        #expect(asked.joined().isEmpty)
        servers[2].tools[0] = stored("get_item", "Get item of server 2, changed.")
        _ = try generator.generate(servers, into: out, details: loader)
        #expect(asked.joined().sorted() == ["srv-2"])

        // A tool whose definition the database no longer holds stops the build with its name.
        servers[0].tools[0] = stored("get_item", "Get item of server 0, changed.")
        #expect {
            _ = try generator.generate(servers, into: out) { _ in [:] }
        } throws: { error in
            "\(error)".contains("srv-0 / get_item") && "\(error)".contains("not in the database")
        }
    }

    @Test("long browse lists come in linked pages that hold every tool once, and a change on one server renders only its page")
    func paginatedBrowse() throws {
        let out = Fixtures.tempDir("pages") + "/site"
        let generator = try SiteGenerator(templates: Fixtures.templates)
        var servers = (0..<300).map { s in Self.server(String(format: "srv-%03d", s), (0..<6).map { Self.tool("get_item_\($0)") }) }
        _ = try generator.generate(servers, into: out)
        let fm = FileManager.default
        let pages = try fm.contentsOfDirectory(atPath: out + "/categories").filter { $0.hasPrefix("read") }.sorted()
        #expect(pages.count > 1, "\(pages)")
        var rows: [String] = []
        var next: String? = "read.html"
        var visited: [String] = []
        while let page = next {
            visited.append(page)
            let html = try String(contentsOfFile: out + "/categories/" + page, encoding: .utf8)
            #expect(html.contains("Page \(visited.count) of \(pages.count)"))
            #expect(html.contains("1800 tools whose purpose") == (visited.count == 1))
            rows += html.components(separatedBy: "<tr><td><a href=\"").dropFirst().map { String($0.prefix(while: { $0 != "\"" })) }
            next = html.range(of: "rel=\"next\" href=\"").map { r in String(html[r.upperBound...].prefix(while: { $0 != "\"" })) }
        }
        #expect(visited.sorted() == pages)
        #expect(rows.count == 1800 && Set(rows).count == 1800)

        // A server gains a tool: the page that lists it and the first page (with the total) change, no other page;
        // page boundaries follow server names, not positions.
        let before = try pages.map { try Data(contentsOf: URL(fileURLWithPath: out + "/categories/" + $0)) }
        servers[150].tools.append(Self.tool("get_item_new"))
        _ = try generator.generate(servers, into: out)
        let after = try pages.map { try Data(contentsOf: URL(fileURLWithPath: out + "/categories/" + $0)) }
        let changed = zip(pages, zip(before, after)).filter { $0.1.0 != $0.1.1 }.map(\.0)
        #expect(changed.count <= 2 && changed.contains("read.html"), "\(changed)")
    }

    @Test("the JSON API lists every tool with its label and a schema version; a server's file holds each definition as scanned")
    func jsonAPI() throws {
        let raw: JSONValue = ["name": "get_weird", "description": "Quotes \" and \u{2028} and <tags>", "inputSchema": ["type": "object", "properties": ["q": ["type": "string"]]]]
        let weird = SiteTool(tool: try Tool(json: raw), verdict: Verdict(category: .read, risk: .low, confidence: .high, evidence: []), findings: [])
        let files = try SiteGenerator(templates: Fixtures.templates).render([Self.server("api-srv", [Self.tool("get_item"), weird])])
        let all = try JSONValue.parse(files["api/tools.json"]!)
        #expect(all["schema_version"] == .int(Int64(SiteGenerator.apiSchemaVersion)))
        #expect(all["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue }.sorted() == ["get_item", "get_weird"])
        #expect(all["tools"]?.arrayValue?.first?["url"]?.stringValue == "servers/api-srv/tools/get-item.html")
        let one = try JSONValue.parse(files["api/servers/api-srv.json"]!)
        #expect(one["schema_version"] == .int(Int64(SiteGenerator.apiSchemaVersion)) && one["name"] == "api-srv")
        let tools = one["tools"]?.arrayValue ?? []
        #expect(tools.count == 2)
        #expect(tools.last?["definition"] == raw)
        #expect(tools.last?["category"] == "Read" && tools.last?["risk"] == "Low" && tools.last?["policy"] == .object([:]))
    }

    @Test("an API entry written member by member is the canonical object of the same members", arguments: [
        (AtlasModel.Category.read, RiskLevel.low), (.write, .high), (.execute, .critical), (.destructive, .high), (.financial, .critical),
    ])
    func apiEntryIsCanonical(_ label: (AtlasModel.Category, RiskLevel)) throws {
        let hostile = "</script><b x=\"1\">'&\u{2028}\u{0}é\\"
        let tool = SiteTool(tool: Tool(name: hostile, description: "d"), verdict: Verdict(category: label.0, risk: label.1, confidence: .medium,
                            evidence: []), findings: label.0 == .read ? [] : [Finding(rule: "r", severity: .high, title: "t", tool: hostile, field: "f", fragment: hostile)])
        let evidence = label.1 == .low ? [] : [Evidence(rule: hostile, field: "name", fragment: hostile, effect: "e"), Evidence(rule: "b", field: "", fragment: "", effect: hostile)]
        let definition = Tool(name: hostile, description: hostile).raw.canonical()
        let v = tool.verdict
        let expected = JSONValue.canonicalObject([
            "name": .string(tool.name), "category": .string(v.category.rawValue), "risk": .string(v.risk.rawValue), "confidence": .string(v.confidence.rawValue),
            "evidence": .array(evidence.map { ["rule": .string($0.rule), "field": .string($0.field), "fragment": .string($0.fragment), "effect": .string($0.effect)] }),
            "findings": .array(tool.findings.map { ["rule": .string($0.rule), "severity": .string($0.severity.rawValue), "fragment": .string($0.fragment)] }),
            "policy": PolicyRule.starter(category: v.category, risk: v.risk).jsonRule,
        ], raw: ["definition": definition])
        #expect(SiteGenerator.apiEntry(tool, (definition, evidence)) == expected)
        #expect(try JSONValue.parse(SiteGenerator.apiEntry(tool, (definition, evidence)))["name"]?.stringValue == hostile)
    }

    @Test("dates and client names made by hand are those Foundation's formatter and character map make")
    func handMadeFormats() throws {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        // Scan dates: Foundation switches to the Julian calendar before 1582, the C library does not.
        for t in [0, 59.999, 1_700_000_000, 1_700_000_059.5, 951_782_400, 4_102_444_799, -1, -86_400 * 365.25 * 300] {
            let d = Date(timeIntervalSince1970: t)
            #expect(Text.utcMinute(d) == f.string(from: d), "\(t)")
        }
        for name in ["mcp-server_1", "a b/c", "x\r\ny", "\r\n\r", "tab\there", "", "Zz09-_`@[{~", "é-ü", "a\u{301}b", "👍🏽"] {
            #expect(PolicyExport.clientName(name) == String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" }), "\(name)")
        }
    }

    @Test("hostile names and descriptions render inert, escaped exactly, in well-formed pages")
    func hostileIsInert() throws {
        let files = try Self.hostileSite()
        for (path, bytes) in files where path.hasSuffix(".html") {
            #expect(XMLCheck.wellFormedError(bytes) == nil, "\(path): \(XMLCheck.wellFormedError(bytes) ?? "")")
            let html = String(decoding: bytes, as: UTF8.self)
            #expect(!html.contains("<script>alert"), "\(path) carries a live script tag")
            #expect(!html.contains("<img src=x"), "\(path) carries a live img tag")
            #expect(!html.contains("href=\"javascript:"), "\(path) links to javascript:")
        }
        let serverPage = String(decoding: files["servers/evil-server/index.html"]!, as: UTF8.self)
        #expect(serverPage.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(serverPage.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(serverPage.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"))
        #expect(!serverPage.contains("\u{0}"))
        // JSON embedded for the search script cannot close its script element.
        let index = String(decoding: files["assets/search-index.js"]!, as: UTF8.self)
        #expect(!index.contains("</script>"))
        #expect(index.contains("\\u003cscript\\u003e"))
    }

    @Test("file names are safe, bounded and unique, even when names collide after slugging")
    func safeUniquePaths() throws {
        let files = try Self.hostileSite()
        let toolPages = files.keys.filter { $0.hasPrefix("servers/evil-server/tools/") }
        #expect(toolPages.count == Self.hostileNames.count)
        for p in files.keys {
            #expect(!p.contains(".."), "\(p)")
            #expect(!p.hasPrefix("/"), "\(p)")
            #expect(p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./".contains($0)) }, "\(p)")
            #expect(p.split(separator: "/").allSatisfy { $0.count <= 100 }, "\(p)")
        }
        // get-item, get_item, get.item and GET_ITEM all slug to get-item: each gets its own page.
        #expect(toolPages.filter { $0.contains("/get-item-") }.count == 4)
    }

    @Test("templates escape every special character wherever it falls, and find names by hash and text")
    func templateEscaping() throws {
        var set = TemplateSet()
        try set.register("[{{v}}]{{#list}}({{w}}|{{v}}){{/list}}{{^none}}!{{/none}}", named: "t")
        func reference(_ s: String) -> String {
            s.map { c -> String in
                switch c { case "&": "&amp;"; case "<": "&lt;"; case ">": "&gt;"; case "\"": "&quot;"; case "'": "&#39;"; default: String(c) }
            }.joined()
        }
        // Every special at every offset around the eight-byte steps, beside plain and multi-byte text.
        let pieces = ["a", "é", "&", "<", ">", "\"", "'", "plain text", "€", "😀"]
        var texts = [""]
        for n in 0..<20 { for p in pieces { texts.append(String(repeating: "x", count: n) + p + String(repeating: "y", count: 20 - n)) } }
        texts.append(pieces.joined())
        for t in texts {
            let ctx: TContext = ["v": .text(t), "list": [["w": .text(t + "&")]]]
            let out = String(decoding: set.render("t", ctx), as: UTF8.self)
            #expect(out == "[\(reference(t))](\(reference(t + "&"))|\(reference(t)))!")
        }
    }

    @Test("the starter policy shown on a page and its FAQ agree", arguments: [
        (AtlasModel.Category.read, RiskLevel.low), (.read, .medium), (.write, .high), (.execute, .critical), (.destructive, .critical), (.financial, .high),
    ])
    func faqAgreesWithPolicy(_ label: (AtlasModel.Category, RiskLevel)) throws {
        let server = SiteServer(name: "s", title: nil, description: nil, package: nil, launch: "s", transport: "stdio", scan: nil,
                                tools: [Self.tool("the_tool", category: label.0, risk: label.1)], changes: [], findings: [])
        let html = String(decoding: try SiteGenerator(templates: Fixtures.templates).render([server])["servers/s/tools/the-tool.html"]!, as: UTF8.self)
        let rule = PolicyRule.starter(category: label.0, risk: label.1)
        #expect(html.contains(rule.summary))
        // The FAQ names the category with its article: "an Execute tool", "a Read tool".
        #expect(html.contains((label.0 == .execute ? "for an " : "for a ") + label.0.rawValue + " tool."))
        if rule.action == .deny {
            #expect(html.contains("It is denied by the starter policy"))
            #expect(html.contains("&quot;action&quot;: &quot;deny&quot;"))
        } else if let n = rule.ratePerMinute {
            #expect(html.contains("already limits it to \(n) calls per minute"))
            #expect(html.contains("&quot;max&quot;: \(n)"))
            // The limit's JSON is the starter snippet itself, shown once; the YAML gives the same limit.
            #expect(html.components(separatedBy: "&quot;max&quot;: \(n)").count == 2)
            #expect(html.contains("rate_limit: \(n)/minute"))
        } else {
            #expect(html.contains("allows it without a limit"))
            #expect(html.contains("&quot;the_tool&quot;: {}"))
        }
    }

    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test("index, a tool page and a search work in headless Chromium")
    func browser() throws {
        let chrome = try #require(Self.chromium, "chromium is not installed (.ci/run installs it)")
        let site = EndToEndTests.work + "/public"
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(Fixtures.tempDir("chrome"))"]
        let index = try Fixtures.run(chrome, flags + ["--dump-dom", "file://\(site)/index.html"])
        #expect(index.out.contains("<h1>ToolAtlas</h1>"))
        #expect(index.out.contains("<svg class=\"chart\""))
        let search = try Fixtures.run(chrome, flags + ["--dump-dom", "file://\(site)/search.html?q=luma_get_task"])
        #expect(search.out.contains("href=\"servers/mcp-luma/tools/luma-get-task.html\""), "search results: \(search.out.suffix(600))")
        #expect(search.out.contains("result"))
        let shot = Fixtures.tempDir("shot") + "/tool.png"
        let r = try Fixtures.run(chrome, flags + ["--screenshot=\(shot)", "--window-size=1280,900", "file://\(site)/servers/mcp-luma/tools/luma-get-task.html"])
        #expect(r.status == 0)
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // A blank 1280x900 page compresses to a few kilobytes; the tool page with its text is far larger.
        #expect(png.count > 30_000, "screenshot looks blank (\(png.count) bytes)")
    }
}

/// The summary line lists and search show for each tool.
@Suite("Summaries")
struct SummaryTests {
    @Test("the first sentence: trimmed, cut at a newline or at a full stop followed by a space, at most 240 characters",
          arguments: [
            ("  Get a thing. Then more.", "Get a thing."), ("\n\t Lists items\nwith details", "Lists items"), ("No stop at all  ", "No stop at all"),
            ("Version 1.2 is here. Yes", "Version 1.2 is here."), ("Ends with a stop.", "Ends with a stop."), ("", ""), (" \n ", ""),
            ("\u{3000}Ideographic space first. Second", "Ideographic space first."), ("Trailing spaces kept   \nnext", "Trailing spaces kept   "),
            ("获取元素文本内容。 Args: x", "获取元素文本内容。 Args: x"), ("e.g. this", "e.g. this"), ("Run a module, e.g. shell or copy. Then more", "Run a module, e.g. shell or copy."),
            ("Один, i.e. два. Три", "Один, i.e. два."), ("Pick one: a vs. b. More", "Pick one: a vs. b."), ("A leg. Next", "A leg."),
            ("Café time. Next", "Café time."), ("No break, wide space after\u{3000}", "No break, wide space after"),
          ])
    func firstSentence(_ text: String, _ expected: String) {
        #expect(Summary.firstSentence(text) == expected)
        // The store cuts it from a column's bytes: the same sentence.
        var bytes = text
        #expect(bytes.withUTF8 { Summary.firstSentence(utf8: $0) } == expected)
    }

    @Test("a long first sentence is cut at 237 characters and an ellipsis, counted in characters, not bytes")
    func longSentence() {
        let long = String(repeating: "é", count: 300)
        #expect(Summary.firstSentence(long) == String(repeating: "é", count: 237) + "…")
        let short = String(repeating: "é", count: 200)
        #expect(Summary.firstSentence(short) == short)
    }

    @Test("a tool page's one-tool policy is byte for byte the policy document, whatever the name")
    func oneToolPolicies() {
        let rules = AtlasModel.Category.allCases.flatMap { c in RiskLevel.allCases.map { PolicyRule.starter(category: c, risk: $0) } }
        let snippets = OneToolPolicies(rules)
        let unlisted = PolicyRule(action: .allow, ratePerMinute: 7, reason: nil, hidden: false)
        for name in ["get_item", "</script><b>\"x\" & 'y'", "a\u{1}b\nc\\", "工具\u{2028}", ""] {
            for rule in rules + [unlisted] {
                #expect(snippets.pretty(name, rule) == PolicyDocument.json(tools: [(name, rule)]).pretty())
            }
        }
    }

    @Test("slugs in order are the slugs by name: a shared slug gets each name's hash, a repeated name keeps one slug")
    func slugsInOrder() {
        let names = ["Get Item", "get-item", "list", "list", "über"]
        let byName = Slug.assign(names)
        #expect(Slug.slugs(names) == names.map { byName[$0]! })
        #expect(byName["list"] == "list" && byName["über"] == "ber")
        #expect(byName["Get Item"] != byName["get-item"] && byName["Get Item"]!.hasPrefix("get-item-"))
    }
}
