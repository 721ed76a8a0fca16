import AtlasModel
import Foundation
import SiteGen
import Store
import Testing

/// `toolatlas build` on the demo catalogue, run as a real process into a temporary folder.
@Suite("End to end", .serialized)
struct EndToEndTests {
    static let work: String = {
        let dir = Fixtures.tempDir("e2e")
        let r = try! Fixtures.run(Fixtures.toolatlas, ["build", "--catalogue", Fixtures.demoCatalogue, "--rules", Fixtures.rules,
                                                       "--templates", Fixtures.templates, "--quiet"], cwd: dir)
        precondition(r.status == 0, "build failed: \(r.err)\n\(r.out)")
        return dir
    }()

    static func page(_ path: String) -> String {
        (try? String(contentsOfFile: work + "/public/" + path, encoding: .utf8)) ?? ""
    }

    @Test("build stores every demo server, a scan each, and their tools in SQLite")
    func database() throws {
        let store = try Store(path: Self.work + "/atlas.sqlite")
        let servers = try store.servers()
        #expect(servers.count == 11)
        let scans = try store.latestScans()
        #expect(scans.count == 11)
        #expect(scans.allSatisfy { $0.status == .ok })
        let tools = try store.classifiedTools()
        #expect(tools["mcp-luma"]?.count == 8)
        #expect(tools.values.flatMap { $0 }.allSatisfy { $0.verdict != nil })
        let cats = Set(tools.values.flatMap { $0 }.compactMap { $0.verdict?.category })
        let risks = Set(tools.values.flatMap { $0 }.compactMap { $0.verdict?.risk })
        #expect(cats == Set(AtlasModel.Category.allCases), "the demo shows all five categories")
        #expect(risks == Set(RiskLevel.allCases), "the demo shows all four risk levels")
    }

    @Test("luma_get_task's page says Read and Low and carries its starter policy")
    func lumaPage() throws {
        let html = Self.page("servers/mcp-luma/tools/luma-get-task.html")
        #expect(html.contains("<span class=\"badge risk-low\">Low risk</span>"))
        #expect(html.contains("<span class=\"badge cat\">Read</span>"))
        let policy = try JSONValue.parse(#"{"version":"1","default":"deny","tools":{"luma_get_task":{}}}"#)
        // The page shows the policy pretty-printed and HTML-escaped; read it back from the <pre> block.
        let start = html.range(of: "<pre class=\"code\" aria-label=\"policy.json\">")!.upperBound
        let end = html[start...].range(of: "</pre>")!.lowerBound
        let shown = String(html[start..<end]).replacingOccurrences(of: "&quot;", with: "\"")
        #expect(try JSONValue.parse(shown) == policy)
        #expect(html.contains("Query the status and result of a video generation task."))
    }

    @Test("every server has a page and a downloadable policy covering all its tools")
    func serverPages() throws {
        for s in ["mcp-luma", "mcp-server-git", "binance-mcp", "mcp-shell-server"] {
            #expect(!Self.page("servers/\(s)/index.html").isEmpty)
            let policy = try JSONValue.parse(Self.page("servers/\(s)/policy.json"))
            #expect(policy["default"] == "deny")
            let n = try JSONValue.parse(FileManager.default.contents(atPath: Fixtures.demoCatalogue + "/tools/\(s).json")!)["tools"]!.arrayValue!.count
            #expect(policy["tools"]?.objectValue?.count == n)
        }
    }

    @Test("every page is well-formed XHTML and every internal link resolves")
    func pagesParseAndLinksResolve() throws {
        let root = Self.work + "/public"
        let walker = FileManager.default.enumerator(atPath: root)!
        var pages = 0
        while let p = walker.nextObject() as? String {
            guard p.hasSuffix(".html") else { continue }
            pages += 1
            let bytes = Array(FileManager.default.contents(atPath: root + "/" + p)!)
            #expect(XMLCheck.wellFormedError(bytes) == nil, "\(p): \(XMLCheck.wellFormedError(bytes) ?? "")")
            guard p != "404.html" else { continue }
            let html = String(decoding: bytes, as: UTF8.self)
            let dir = URL(fileURLWithPath: root + "/" + p).deletingLastPathComponent()
            for href in Self.links(html) where !href.hasPrefix("http") && !href.hasPrefix("#") && !href.contains("?") {
                let target = URL(fileURLWithPath: String(href.split(separator: "#")[0]), relativeTo: dir).standardizedFileURL.path
                #expect(FileManager.default.fileExists(atPath: target), "\(p) links to missing \(href)")
            }
        }
        #expect(pages > 90)
    }

    static func links(_ html: String) -> [String] {
        var out: [String] = []
        for attr in ["href=\"", "src=\""] {
            var rest = Substring(html)
            while let r = rest.range(of: attr) {
                let after = rest[r.upperBound...]
                guard let end = after.firstIndex(of: "\"") else { break }
                out.append(String(after[..<end]))
                rest = after[end...]
            }
        }
        return out
    }

    @Test("sitemap.xml validates against the sitemap schema")
    func sitemap() throws {
        let xml = Array(FileManager.default.contents(atPath: Self.work + "/public/sitemap.xml")!)
        #expect(XMLCheck.validate(xml, schema: Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/sitemap.xsd") == [])
        #expect(String(decoding: xml, as: UTF8.self).contains("servers/mcp-luma/tools/luma-get-task.html"))
    }

    @Test("a second site build from the same database is byte-identical and rewrites nothing")
    func deterministic() throws {
        let r = try Fixtures.run(Fixtures.toolatlas, ["site", "--templates", Fixtures.templates], cwd: Self.work)
        #expect(r.status == 0)
        #expect(r.out.contains("(0 written"))
        let other = Fixtures.tempDir("det")
        let r2 = try Fixtures.run(Fixtures.toolatlas, ["site", "--db", Self.work + "/atlas.sqlite", "--templates", Fixtures.templates, "--out", other + "/site"], cwd: other)
        #expect(r2.status == 0)
        let a = Self.work + "/public", b = other + "/site"
        let walker = FileManager.default.enumerator(atPath: a)!
        while let p = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: a + "/" + p, isDirectory: &isDir), !isDir.boolValue else { continue }
            #expect(FileManager.default.contents(atPath: a + "/" + p) == FileManager.default.contents(atPath: b + "/" + p), "\(p) differs")
        }
    }

    @Test("policy export writes every format from the stored verdicts")
    func policyExport() throws {
        let json = try Fixtures.run(Fixtures.toolatlas, ["policy", "export", "--server", "mcp-luma"], cwd: Self.work)
        #expect(json.status == 0)
        #expect(try JSONValue.parse(json.out)["tools"]?["luma_get_task"] == .object([:]))
        let yaml = try Fixtures.run(Fixtures.toolatlas, ["policy", "export", "--server", "mcp-shell-server", "--format", "intercept"], cwd: Self.work)
        #expect(yaml.out.contains("default: deny"))
        let bad = try Fixtures.run(Fixtures.toolatlas, ["policy", "export", "--server", "no-such-server"], cwd: Self.work)
        #expect(bad.status != 0)
        #expect(bad.err.contains("no-such-server"))
    }

    @Test("a rescan with --resume skips servers already done")
    func resume() throws {
        let r = try Fixtures.run(Fixtures.toolatlas, ["scan", "--resume", "--quiet"], cwd: Self.work)
        #expect(r.status == 0)
        #expect(r.out.contains("skipped (already ok)"))
        #expect(r.out.contains("mcp-luma"))
    }
}
