import AtlasModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why the site could not be written, with the step and the path.
public struct SiteError: Error, CustomStringConvertible, Sendable {
    public var step: String
    public var path: String
    public var message: String
    public var description: String { "\(step) \(path): \(message)" }
}

/// What a build wrote.
public struct SiteReport: Sendable {
    public var written = 0
    public var unchanged = 0
    public var removed = 0
    public var pages = 0
    public init() {}
}

/// Renders the whole static site from the site model with the templates in site-gen/.
public struct SiteGenerator: Sendable {
    public static let apiSchemaVersion = 1
    let library: TemplateSet
    /// Changes whenever a template (or the page format) changes, so that no page is kept from an older look.
    let templatesDigest: UInt64
    let staticDir: String
    public var baseURL: String
    /// The policy snippets of tool pages: every starter rule, the limits pages suggest, and the block.
    let snippets = OneToolPolicies(AtlasModel.Category.allCases.flatMap { c in RiskLevel.allCases.flatMap { r in
        let rule = PolicyRule.starter(category: c, risk: r)
        return [rule, SiteGenerator.rateRule(rule), SiteGenerator.denyRule]
    } })

    public static func defaultTemplatesPath() -> String { BundledPath.find("site-gen", marker: "/layouts") }

    public init(templates: String, baseURL: String = "https://toolatlas.example.org/") throws(SiteError) {
        var lib = TemplateSet()
        var digest = Fingerprint(seed: 0)
        digest.add(SiteGenerator.pageFormat)
        for sub in ["partials", "layouts"] {
            let dir = templates + "/" + sub
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw SiteError(step: "loading templates", path: dir, message: "folder missing")
            }
            for f in files.sorted() where f.hasSuffix(".mustache") {
                guard let text = try? String(contentsOfFile: dir + "/" + f, encoding: .utf8) else {
                    throw SiteError(step: "loading templates", path: dir + "/" + f, message: "cannot read")
                }
                digest.add(sub + "/" + f); digest.add(text)
                do { try lib.register(text, named: String(f.dropLast(9))) } catch {
                    throw SiteError(step: "parsing template", path: dir + "/" + f, message: "\(error)")
                }
            }
        }
        library = lib
        templatesDigest = digest.value
        staticDir = templates + "/static"
        self.baseURL = baseURL.hasSuffix("/") ? baseURL : baseURL + "/"
    }

    /// Writes the site into `out`: only files whose bytes changed are written, pages whose inputs did not change
    /// since the last build are not even rendered (nor their tools parsed), and files this build no longer produces
    /// are removed. Servers are rendered and written on every core, a chunk at a time, so memory stays flat however
    /// large the catalogue.
    ///
    /// `details` reads the definitions and evidence (server, then tool name) of tools given without theirs, for the
    /// servers whose pages must be rendered.
    public func generate(_ input: [SiteServer], into out: String,
                         details: ([String]) throws -> [String: [String: ToolDetails]] = { _ in [:] }) throws(SiteError) -> SiteReport {
        do { return try generate(model: { input }, into: out, details: details) } catch let e as SiteError { throw e } catch {
            throw SiteError(step: "writing the site", path: out, message: "\(error)")
        }
    }

    /// `generate` with the site model made by `model`, while what the last build left in `out` is read beside it.
    public func generate(model: () throws -> [SiteServer], into out: String,
                         details: ([String]) throws -> [String: [String: ToolDetails]] = { _ in [:] }) throws -> SiteReport {
        let folder = Background { () throws(SiteError) in try SiteFolder(out) }
        let input = try model()
        Timings.mark("model")
        var site = try folder.result.get()
        Timings.mark("folder manifest read (beside the model)")
        try site.begin()
        let writer = site.writer
        Memory.returnFreed()
        try produce(input, reuse: { writer.canKeep($0, inputs: $1) }, details: details,
                    sink: { (p, b, i) throws(SiteError) in try writer.store(p, b, inputs: i) }) { (o: Output) in site.take(o) }
        Timings.mark("pages")
        defer { Timings.mark("manifest") }
        let report = try site.finish()
        Memory.keep((input, site, writer))
        return report
    }

    // MARK: rendering

    /// A server's data, shared by reference between all its tools' pages instead of copied into each.
    @dynamicMemberLookup
    final class Shared<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
        subscript<U>(dynamicMember path: KeyPath<T, U>) -> U { value[keyPath: path] }
    }

    /// A tool with where it lives; a class, so that the many lists that hold it share one copy.
    final class ToolRef: @unchecked Sendable {
        let server: Shared<SiteServer>
        let serverSlug: String
        let item: SiteTool
        let slug: String
        /// A digest of what other pages show of this tool when they list it as related: where it is, its name, its risk.
        let listed: UInt64
        /// The tool page's path, made once: every list, fingerprint and sitemap entry names it.
        let path: String
        init(server: Shared<SiteServer>, serverSlug: String, item: SiteTool, slug: String) {
            self.server = server; self.serverSlug = serverSlug; self.item = item; self.slug = slug
            path = "servers/\(serverSlug)/tools/\(slug).html"
            var h = Fingerprint(seed: 0)
            h.add(serverSlug); h.add(slug); h.add(item.name); h.add(server.name); h.add(item.verdict.risk.rawValue)
            listed = h.value
        }
    }

    /// One thing the site holds: a file's bytes (built in memory), a file already handed to the folder (with its
    /// content digest and whether it had to be written), or a page kept from the last build because its inputs are the same.
    enum Output {
        case file(String, [UInt8], inputs: UInt64)
        case stored(String, content: UInt64, inputs: UInt64, written: Bool)
        case kept(String, inputs: UInt64)

        var path: String {
            switch self {
            case .file(let p, _, _), .stored(let p, _, _, _), .kept(let p, _): p
            }
        }
    }

    /// Every file of the site, in memory (for tests and small catalogues).
    public func render(_ input: [SiteServer]) throws(SiteError) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        try produce(input, reuse: { _, _ in false }, details: { _ in [:] }, sink: { p, b, i in .file(p, b, inputs: i) }) { (o: Output) in
            if case .file(let path, let bytes, _) = o { files[path] = bytes }
        }
        return files
    }

    /// Builds the site. `reuse` says whether a page with this fingerprint of its inputs can stay as it is; `sink` takes
    /// each new file (on any thread) and says what became of it; `record` sees every outcome, in order, on the caller's thread.
    func produce(_ input: [SiteServer], reuse: (String, UInt64) -> Bool, details: ([String]) throws -> [String: [String: ToolDetails]],
                 sink: (String, [UInt8], UInt64) throws(SiteError) -> Output, record: (Output) -> Void) throws(SiteError) {
        let servers = input.sorted { $0.name < $1.name }
        let serverSlugs = Slug.assign(servers.map(\.name))
        // Each server's tools with their slugs, on every core; then one list of every tool, a server after another.
        let perServer: [[ToolRef]] = servers.concurrentMap(chunk: 64) { s in
            let shared = Shared(s), serverSlug = serverSlugs[s.name]!
            let tools = s.tools.sorted { $0.name < $1.name }
            return zip(tools, Slug.slugs(tools.map(\.name))).map { ToolRef(server: shared, serverSlug: serverSlug, item: $0, slug: $1) }
        }
        var refs: [ToolRef] = []
        refs.reserveCapacity(perServer.reduce(0) { $0 + $1.count })
        var firstRef: [Int] = []
        for list in perServer { firstRef.append(refs.count); refs += list }
        firstRef.append(refs.count)
        let related = SiteGenerator.relatedTools(refs)
        Timings.mark("refs and related")
        var htmlPaths: [String] = []
        /// Every outcome goes through here: the pages people browse to are listed in the sitemap.
        func take(_ o: Output) {
            let path = o.path
            if path.hasSuffix(".html") && path != "404.html" { htmlPaths.append(path) }
            record(o)
        }
        // Every server with its tool pages is one piece of work: fingerprints decide what must be rendered, the
        // definitions and evidence of only those servers are read, and the files go to the sink from the worker itself.
        // A chunk's definitions are read while the chunk before it renders.
        typealias Prepared = (plans: [ServerPlan], wanted: [String])
        let chunks = stride(from: 0, to: servers.count, by: 256).map { $0..<min(servers.count, $0 + 256) }
        func prepare(_ range: Range<Int>) -> Prepared {
            let plans = Array(range).concurrentMap(chunk: 8) { k in self.plan(k, servers, serverSlugs, refs, firstRef, related, reuse) }
            let wanted = plans.filter { $0.rendersAnything && refs[firstRef[$0.server]..<firstRef[$0.server + 1]].contains { $0.item.details == nil } }
            return (plans, wanted.map { servers[$0.server].name })
        }
        func load(_ names: [String]) -> Result<[String: [String: ToolDetails]], SiteError> {
            do { return .success(try details(names)) } catch {
                return .failure(SiteError(step: "reading tool definitions", path: "", message: "\(error)"))
            }
        }
        enum Job: Sendable { case render(ServerPlan), load([String]) }
        enum Done { case outputs(Result<[Output], SiteError>), loaded(Result<[String: [String: ToolDetails]], SiteError>) }
        var current: Prepared = chunks.isEmpty ? ([], []) : prepare(chunks[0])
        var loaded = try load(current.wanted).get()
        for n in chunks.indices {
            let next: Prepared = n + 1 < chunks.count ? prepare(chunks[n + 1]) : ([], [])
            let jobs: [Job] = (next.wanted.isEmpty ? [] : [.load(next.wanted)]) + current.plans.map(Job.render)
            let have = loaded
            let done = jobs.concurrentMap(chunk: 1) { job -> Done in
                switch job {
                case .load(let names): return .loaded(load(names))
                case .render(let p):
                    return .outputs(Result { () throws(SiteError) in
                        try self.serverOutputs(p, servers, serverSlugs, refs, firstRef, related, have[servers[p.server].name] ?? [:], sink)
                    })
                }
            }
            loaded = [:]
            for d in done {
                switch d {
                case .loaded(let r): loaded = try r.get()
                case .outputs(let r): try r.get().forEach(take)
                }
            }
            current = next
        }
        func put(_ path: String, _ bytes: [UInt8]) throws(SiteError) { take(try sink(path, bytes, 0)) }
        Timings.mark("servers and tool pages")
        Memory.returnFreed()
        // The pages about the whole catalogue do not depend on each other: built side by side, each only when what
        // it shows changed (a digest of the servers' listing, of the tools' listing, of the tools' texts).
        let inputs = catalogueInputs(servers, serverSlugs, refs)
        let wide: [(path: String, inputs: UInt64)] = [
            ("404.html", inputs.fixed), ("api/tools.json", inputs.tools), ("assets/search-index.js", inputs.texts), ("index.html", inputs.servers),
            ("llms-full.txt", inputs.texts), ("llms.txt", inputs.servers), ("robots.txt", inputs.fixed), ("search.html", inputs.fixed),
            ("servers/index.html", inputs.servers),
        ]
        let outputs = wide.concurrentMap(chunk: 1) { w in
            Result { () throws(SiteError) -> Output in
                try SiteGenerator.output(w.path, inputs: w.inputs, reuse, sink) { self.cataloguePage(w.path, servers, serverSlugs, refs) }
            }
        }
        for o in outputs { take(try o.get()) }
        Timings.mark("catalogue-wide pages")
        // Browse pages come in pages of a few hundred tools, each with a fingerprint: a change on one server
        // renders only the pages that list its tools.
        try browsePages(refs, reuse: reuse, sink: sink).forEach(take)
        Timings.mark("browse pages")
        for f in ["style.css", "search.js"] {
            guard let data = FileManager.default.contents(atPath: staticDir + "/" + f) else {
                throw SiteError(step: "copying static files", path: staticDir + "/" + f, message: "missing")
            }
            try put("assets/" + f, Array(data))
        }
        var sitemapInputs = Fingerprint(seed: inputs.fixed)
        for p in htmlPaths { sitemapInputs.add(p) }
        take(try SiteGenerator.output("sitemap.xml", inputs: sitemapInputs.value, reuse, sink) { Array(sitemap(htmlPaths).utf8) })
        Memory.keep((servers, serverSlugs, perServer, refs, related, htmlPaths))
    }

    /// A file with a fingerprint of its inputs: kept from the last build when they are the same, otherwise built and sunk.
    static func output(_ path: String, inputs: UInt64, _ reuse: (String, UInt64) -> Bool, _ sink: (String, [UInt8], UInt64) throws(SiteError) -> Output,
                       build: () -> [UInt8]) throws(SiteError) -> Output {
        reuse(path, inputs) ? .kept(path, inputs: inputs) : try sink(path, build(), inputs)
    }

    /// A page about the whole catalogue.
    func cataloguePage(_ path: String, _ servers: [SiteServer], _ serverSlugs: [String: String], _ refs: [ToolRef]) -> [UInt8] {
        switch path {
        case "servers/index.html": return serversPage(servers, serverSlugs: serverSlugs)
        case "assets/search-index.js": return searchIndex(servers, serverSlugs: serverSlugs, refs: refs)
        case "api/tools.json": return toolsAPI(refs) + [0x0A]
        case "llms-full.txt": return llmsFull(refs)
        case "index.html": return indexPage(servers, serverSlugs: serverSlugs, refs: refs)
        case "search.html": return renderPage("search", ["pageTitle": "Search", "pageDescription": "Search tools and servers", "root": ""])
        case "404.html": return renderPage("notfound", ["pageTitle": "Not found", "pageDescription": "Page not found", "root": "/"])
        case "llms.txt": return Array(llms(servers, serverSlugs: serverSlugs, refs: refs).utf8)
        default: return Array("User-agent: *\nAllow: /\nSitemap: \(baseURL)sitemap.xml\n".utf8)
        }
    }

    /// Fingerprints of what the catalogue-wide pages show: `servers` (each server's listing and the labels it counts),
    /// `tools` (each tool's listing and label), `texts` (those and every tool's first sentence), `fixed` (the templates
    /// and the base URL only).
    func catalogueInputs(_ servers: [SiteServer], _ serverSlugs: [String: String], _ refs: [ToolRef]) -> (servers: UInt64, tools: UInt64, texts: UInt64, fixed: UInt64) {
        var fixed = Fingerprint(seed: templatesDigest)
        fixed.add(baseURL)
        var sv = Fingerprint(seed: fixed.value), tl = Fingerprint(seed: fixed.value)
        for s in servers {
            sv.add(s.name); sv.add(serverSlugs[s.name]!); sv.add(s.description ?? ""); sv.add(s.scan?.status ?? "not scanned")
            sv.add(UInt64(s.tools.count)); sv.add(UInt64(s.findings.count))
        }
        for r in refs {
            let v = r.item.verdict
            sv.add(v.category.rawValue); sv.add(v.risk.rawValue); sv.add(UInt64(r.item.findings.count))
            tl.add(r.listed); tl.add(v.category.rawValue); tl.add(v.confidence.rawValue); tl.add(UInt64(r.item.findings.count))
        }
        var tx = Fingerprint(seed: tl.value)
        tx.add(sv.value)
        // The pages that show texts show each tool's first sentence: a change further on leaves them as they are.
        for r in refs { tx.add(r.item.summary) }
        return (sv.value, tl.value, tx.value, fixed.value)
    }

    /// What one server's pages need: each tool page's fingerprint and whether it can stay, and the same for the
    /// server's own files.
    struct ServerPlan: Sendable {
        let server: Int
        let toolInputs: [UInt64]
        let keepTool: [Bool]
        let serverInputs: UInt64
        let keepServer: Bool
        var rendersAnything: Bool { !keepServer || keepTool.contains(false) }
    }

    static func serverPaths(_ slug: String) -> [String] {
        ["servers/\(slug)/index.html", "servers/\(slug)/policy.json", "servers/\(slug)/intercept.yaml",
         "servers/\(slug)/claude-permissions.json", "servers/\(slug)/codex.toml", "api/servers/\(slug).json"]
    }

    func plan(_ k: Int, _ servers: [SiteServer], _ serverSlugs: [String: String], _ refs: [ToolRef], _ firstRef: [Int],
              _ related: [[Int]], _ reuse: (String, UInt64) -> Bool) -> ServerPlan {
        let s = servers[k]
        let slug = serverSlugs[s.name]!
        let mine = firstRef[k]..<firstRef[k + 1]
        var head = Fingerprint(seed: templatesDigest)
        head.add(s.name); head.add(s.package ?? ""); head.add(String(s.tools.count)); head.add(slug)
        let toolInputs = mine.map { toolPageInputs(refs, $0, server: head, related: related[$0]) }
        let keepTool = zip(mine, toolInputs).map { reuse(refs[$0].path, $1) }
        // A server's own pages show only its own data: when none of it changed, they stay as they are.
        let fp = serverInputs(s, slug: slug, refs: refs[mine])
        return ServerPlan(server: k, toolInputs: toolInputs, keepTool: keepTool, serverInputs: fp,
                          keepServer: SiteGenerator.serverPaths(slug).allSatisfy { reuse($0, fp) })
    }

    /// One server's tool pages, page, starter policies and API file: what can stay is kept, the rest rendered and sunk.
    func serverOutputs(_ p: ServerPlan, _ servers: [SiteServer], _ serverSlugs: [String: String], _ refs: [ToolRef], _ firstRef: [Int],
                       _ related: [[Int]], _ loaded: [String: ToolDetails],
                       _ sink: (String, [UInt8], UInt64) throws(SiteError) -> Output) throws(SiteError) -> [Output] {
        let s = servers[p.server]
        let slug = serverSlugs[s.name]!
        let mine = firstRef[p.server]..<firstRef[p.server + 1]
        let rs = Array(refs[mine])
        // Each tool's stored definition and evidence, read once for its page and for the server's API file.
        var stored = [Stored?](repeating: nil, count: rs.count)
        func storedOf(_ n: Int) throws(SiteError) -> Stored {
            if let known = stored[n] { return known }
            let d = try SiteGenerator.stored(rs[n].item, of: s, loaded)
            stored[n] = d
            return d
        }
        var outs: [Output] = []
        for (n, i) in mine.enumerated() {
            let fp = p.toolInputs[n]
            if p.keepTool[n] { outs.append(.kept(refs[i].path, inputs: fp)); continue }
            // The one place a definition is parsed: for the page that shows it.
            let d = try storedOf(n)
            outs.append(try sink(refs[i].path, toolPage(refs[i], rs[n].item.tool(d.definition), evidence: d.evidence, related: related[i].map { refs[$0] }), fp))
        }
        let paths = SiteGenerator.serverPaths(slug)
        if p.keepServer { return outs + paths.map { .kept($0, inputs: p.serverInputs) } }
        var all: [Stored] = []
        for n in rs.indices { all.append(try storedOf(n)) }
        let items = rs.map { PolicyItem(server: s.name, tool: $0.item.name, category: $0.item.verdict.category, risk: $0.item.verdict.risk) }
        let bytes: [[UInt8]] = [
            serverPage(s, refs: rs, items: items),
            Array(PolicyExport.render(items, format: .json, description: "").utf8),
            Array(PolicyExport.render(items, format: .intercept, description: "Starter policy for \(s.name) by ToolAtlas").utf8),
            Array(PolicyExport.render(items, format: .claude, description: "").utf8),
            Array(PolicyExport.render(items, format: .codex, description: "").utf8),
            serverAPI(s, refs: rs, all),
        ]
        for (path, b) in zip(paths, bytes) { outs.append(try sink(path, b, p.serverInputs)) }
        return outs
    }

    /// A tool's definition text and evidence.
    typealias Stored = (definition: String, evidence: [Evidence])

    /// A tool's definition text and evidence: given with the tool, or read for this build; a missing one is an error
    /// that names the server and the tool.
    static func stored(_ item: SiteTool, of s: SiteServer, _ loaded: [String: ToolDetails]) throws(SiteError) -> Stored {
        let read = loaded[item.name]
        guard let text = item.definition(read) else {
            throw SiteError(step: "reading tool definitions", path: "\(s.name) / \(item.name)", message: "the tool's definition is not in the database")
        }
        return (text, item.evidence(read))
    }

    /// Up to five tools of the same category on other servers for each tool: its neighbours in a fixed order of
    /// (server, name) hashes, so adding or removing one tool changes the lists of only a few others.
    static func relatedTools(_ refs: [ToolRef]) -> [[Int]] {
        var out = Array(repeating: [Int](), count: refs.count)
        var byCategory: [AtlasModel.Category: [(UInt64, Int)]] = [:]
        // Each tool's server as a number (the list holds a server's tools together), compared instead of the servers.
        var owner = [Int32](repeating: 0, count: refs.count)
        for i in refs.indices.dropFirst() { owner[i] = owner[i - 1] + (refs[i].server === refs[i - 1].server ? 0 : 1) }
        for (i, r) in refs.enumerated() {
            // The hash of "server/name", without making that string.
            let h = Hashing.fnv1a64(r.item.name, from: Hashing.fnv1a64(byte: UInt8(ascii: "/"), from: Hashing.fnv1a64(r.server.name)))
            byCategory[r.item.verdict.category, default: []].append((h, i))
        }
        // Each category's ring on its own core.
        let rings = Array(byCategory.values).concurrentMap(chunk: 1) { members -> [(Int, [Int])] in
            let ring = members.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
            return ring.enumerated().map { (pos, i) in
                var mine: [Int] = []
                mine.reserveCapacity(5)
                var k = 1
                while mine.count < 5 && k < ring.count {
                    let o = ring[(pos + k) % ring.count]
                    k += 1
                    if owner[o] != owner[i] { mine.append(o) }
                }
                return (i, mine)
            }
        }
        for ring in rings { for (i, mine) in ring { out[i] = mine } }
        return out
    }

    /// Part of every page fingerprint: bump it when the Swift code that builds pages changes what they show.
    static let pageFormat = "pages/6"

    /// A fingerprint of everything a server's own pages and files show.
    func serverInputs(_ s: SiteServer, slug: String, refs: ArraySlice<ToolRef>) -> UInt64 {
        var h = Fingerprint(seed: templatesDigest)
        h.add("server"); h.add(s.name); h.add(slug); h.add(s.title ?? ""); h.add(s.description ?? ""); h.add(s.package ?? "")
        h.add(s.launch); h.add(s.transport)
        if let sc = s.scan {
            for v in [sc.status, sc.reason ?? "", sc.era ?? "", sc.protocolVersion ?? "", sc.serverName ?? "", sc.serverVersion ?? "",
                      String(sc.date.timeIntervalSince1970), String(sc.durationMs)] { h.add(v) }
        } else { h.add("not scanned") }
        for c in s.changes { h.add(String(c.date.timeIntervalSince1970)); h.add(c.tool); h.add(c.kind); h.add(c.detail) }
        for f in s.findings { h.add(f.rule); h.add(f.severity.rawValue); h.add(f.title); h.add(f.field); h.add(f.fragment) }
        for r in refs { h.add(r.slug); h.add(r.item.digest) }
        return h.value
    }

    /// A fingerprint of everything a tool page shows.
    /// `server` is the fingerprint of what every tool page of the server shows about it.
    func toolPageInputs(_ refs: [ToolRef], _ index: Int, server: Fingerprint, related: [Int]) -> UInt64 {
        var h = server
        let r = refs[index]
        h.add(r.slug); h.add(r.item.digest)
        for k in related { h.add(refs[k].listed) }
        return h.value
    }

    func renderPage(_ template: String, _ context: TContext) -> [UInt8] {
        library.render(template, context)
    }

    static func riskClass(_ r: RiskLevel) -> String { r.rawValue.lowercased() }

    func toolPage(_ r: ToolRef, _ t: Tool, evidence: [Evidence], related relatedRefs: [ToolRef]) -> [UInt8] {
        let v = r.item.verdict
        let rule = PolicyRule.starter(category: v.category, risk: v.risk)
        let name = Text.clean(t.name)
        let rateRule = SiteGenerator.rateRule(rule)
        let limit = rateRule.ratePerMinute!
        let params: [TContext] = t.parameters.map { p in
            ["name": .text(Text.clean(p.name)), "type": .text(Text.clean(p.type.isEmpty ? "any" : p.type)), "required": p.required ? "yes" : "no",
             "description": .text(Text.clean(p.description)), "enumText": .text(Text.clean(p.enumValues.prefix(20).joined(separator: ", "))),
             "defaultValue": .text(p.defaultValue.map(Text.clean) ?? "")]
        }
        let a = t.annotations
        func show(_ b: Bool?, _ def: String) -> String { b.map { "\($0)" } ?? "not declared (\(def) by default)" }
        let writes = v.category != .read
        let annotations: [TContext] = [
            ["hint": "readOnlyHint", "declared": .text(show(a.readOnlyHint, "false")), "ours": .text(writes ? "false: \(v.category.rawValue) changes state" : "true: it only reads")],
            ["hint": "destructiveHint", "declared": .text(show(a.destructiveHint, "true")), "ours": v.category == .destructive ? "true" : "false"],
            ["hint": "idempotentHint", "declared": .text(show(a.idempotentHint, "false")), "ours": "not judged"],
            ["hint": "openWorldHint", "declared": .text(show(a.openWorldHint, "true")), "ours": "not judged"],
        ]
        let related: [TContext] = relatedRefs.map { o in
            ["url": .text("../../\(o.serverSlug)/tools/\(o.slug).html"), "name": .text(Text.clean(o.item.name)),
             "server": .text(Text.clean(o.server.name)), "risk": .text(o.item.verdict.risk.rawValue)]
        }
        let lead = Text.clean(r.item.summary)
        let what = lead.isEmpty ? "The server does not describe it." : lead
        var faq: [TContext] = [
            ["q": .text("What does \(name) do?"), "a": .text("\(what) ToolAtlas files it under \(v.category.rawValue): \(categoryMeaning(v.category))")],
            ["q": .text("How risky is \(name)?"), "a": .text("\(v.risk.rawValue). \(riskMeaning(v.category, v.risk)) The verdict comes from the rules listed above, with \(v.confidence.rawValue) confidence.")],
            ["q": .text("What does the starter policy do with \(name)?"), "a": .text(rule.summary)],
            ["q": .text("Can I rate-limit \(name)?"), "a": .text(rule.action == .allow
                ? "Yes. The starter rule " + (rule.ratePerMinute.map { "already limits it to \($0) calls per minute" } ?? "allows it without a limit; the snippet above adds a limit of \(limit) calls per minute") + "."
                : "It is denied by the starter policy. If you decide to allow it, the snippet above limits it to \(limit) calls per minute.")],
            ["q": .text("How do I block \(name) completely?"), "a": "Give it action deny, as in the snippet above, or leave it out of the tools list: the policy denies every tool it does not list."],
            ["q": .text("Which server provides \(name)?"), "a": .text("The \(Text.clean(r.server.name)) server" + (r.server.package.map { ", package \(Text.clean($0))" } ?? "") + ".")],
        ]
        if !r.item.findings.isEmpty {
            faq.append(["q": "Is there anything suspicious in its definition?", "a": .text("Yes: " + r.item.findings.map { Text.clean($0.title) }.joined(separator: "; ") + ".")])
        }
        let ctx: TContext = [
            "pageTitle": .text("\(name) (\(Text.clean(r.server.name)))"), "pageDescription": .text("\(name): \(v.category.rawValue), \(v.risk.rawValue) risk. \(lead)"),
            "root": "../../../", "name": .text(name), "title": .text(Text.clean(t.title ?? "")), "server": .text(Text.clean(r.server.name)),
            "package": .text(Text.clean(r.server.package ?? "")), "description": .text(Text.clean(Text.cleandoc(t.description))),
            "category": .text(v.category.rawValue), "risk": .text(v.risk.rawValue), "riskClass": .text(SiteGenerator.riskClass(v.risk)),
            "confidence": .text(v.confidence.rawValue), "hasParams": .flag(!params.isEmpty), "params": .list(params), "annotations": .list(annotations),
            "evidence": .list(evidence.map { ["rule": .text(Text.clean($0.rule)), "effect": .text(Text.clean($0.effect)), "field": .text(Text.clean($0.field)), "fragment": .text(Text.clean($0.fragment))] }),
            "hasFindings": .flag(!r.item.findings.isEmpty),
            "findings": .list(r.item.findings.map { ["severity": .text($0.severity.rawValue), "title": .text(Text.clean($0.title)), "rule": .text($0.rule), "field": .text($0.field), "fragment": .text(Text.clean($0.fragment))] }),
            "policySummary": .text(rule.summary), "policyJSON": .text(Text.clean(snippets.pretty(t.name, rule))),
            "serverToolCount": .int(r.server.tools.count),
            // A starter rule that limits the tool is the rate-limit snippet already shown above: only its YAML is new.
            "rateText": .text(rule.ratePerMinute != nil ? "The starter policy above already limits it to \(limit) calls per minute; the same limit in Intercept YAML:"
                                                         : "A limit of \(limit) calls per minute, in both formats:"),
            "rateJSON": .text(rule.ratePerMinute != nil ? "" : Text.clean(snippets.pretty(t.name, rateRule))),
            "rateYAML": .text(Text.clean(rateYAML(t.name, limit))),
            "blockJSON": .text(Text.clean(snippets.pretty(t.name, SiteGenerator.denyRule))),
            "blockYAML": .text(Text.clean(blockYAML(t.name))),
            "hasRelated": .flag(!related.isEmpty), "related": .list(related), "faq": .list(faq),
        ]
        return renderPage("tool", ctx)
    }

    /// The rate limit a tool page suggests: the starter rule's own, or 60 calls a minute (5 for a denied tool).
    static func rateRule(_ starter: PolicyRule) -> PolicyRule {
        PolicyRule(action: .allow, ratePerMinute: starter.ratePerMinute ?? (starter.action == .deny ? 5 : 60), reason: nil, hidden: false)
    }

    /// How a tool page shows blocking a tool.
    static let denyRule = PolicyRule(action: .deny, ratePerMinute: nil, reason: PolicyRule.approvalReason, hidden: false)

    func rateYAML(_ tool: String, _ n: Int) -> String {
        "version: \"1\"\ndefault: deny\ntools:\n  \(PolicyExport.yamlString(tool)):\n    rules:\n      - name: \"\(n) calls per minute\"\n        rate_limit: \(n)/minute"
    }

    func blockYAML(_ tool: String) -> String {
        "version: \"1\"\ndefault: deny\ntools:\n  \(PolicyExport.yamlString(tool)):\n    rules:\n      - name: \"block\"\n        action: deny\n        on_deny: \(PolicyExport.yamlString("\(tool) requires human approval"))"
    }

    func categoryMeaning(_ c: AtlasModel.Category) -> String {
        switch c {
        case .read: "it observes state or computes a result without changing anything."
        case .write: "it creates or changes state, or causes an effect outside the caller."
        case .execute: "it runs code, commands, queries or processes whose effects the call does not spell out."
        case .destructive: "it deletes, overwrites or irreversibly alters data or resources, or takes away access."
        case .financial: "it moves money or commits to spending it."
        }
    }

    func riskMeaning(_ c: AtlasModel.Category, _ r: RiskLevel) -> String {
        let base = c.baseline
        // "an Execute tool", "a Write tool".
        let kind = (c == .execute ? "an " : "a ") + c.rawValue
        if r == base { return "That is the usual level for \(kind) tool." }
        return r > base ? "That is above the usual \(base.rawValue) for \(kind) tool." : "That is below the usual \(base.rawValue) for \(kind) tool."
    }

    func toolRows(_ refs: [ToolRef], prefix: (ToolRef) -> String, serverPrefix: (ToolRef) -> String) -> [TContext] {
        toolRows(refs, refs.indices, prefix: prefix, serverPrefix: serverPrefix)
    }

    /// Rows of the tools at `picked` (indices into `refs`: no copies of the tools themselves).
    func toolRows<C: Collection<Int>>(_ refs: [ToolRef], _ picked: C, prefix: (ToolRef) -> String, serverPrefix: (ToolRef) -> String) -> [TContext] {
        picked.map { i in
            let r = refs[i]
            let rule = PolicyRule.starter(category: r.item.verdict.category, risk: r.item.verdict.risk)
            return ["url": .text(prefix(r)), "name": .text(Text.clean(r.item.name)), "server": .text(Text.clean(r.server.name)),
                    "serverURL": .text(serverPrefix(r)), "category": .text(r.item.verdict.category.rawValue), "risk": .text(r.item.verdict.risk.rawValue),
                    "riskClass": .text(SiteGenerator.riskClass(r.item.verdict.risk)),
                    "policy": .text(rule.action == .deny ? "deny" + (rule.hidden ? ", hidden" : "") : (rule.ratePerMinute.map { "allow, \($0)/min" } ?? "allow"))]
        }
    }

    func serverPage(_ s: SiteServer, refs: [ToolRef], items: [PolicyItem]) -> [UInt8] {
        var catCounts: [TContext] = []
        for c in AtlasModel.Category.allCases.reversed() {
            let n = refs.filter { $0.item.verdict.category == c }.count
            if n > 0 { catCounts.append(["label": .text(c.rawValue), "count": .int(n)]) }
        }
        var riskCounts: [TContext] = []
        for k in RiskLevel.allCases.reversed() {
            let n = refs.filter { $0.item.verdict.risk == k }.count
            if n > 0 { riskCounts.append(["label": .text(k.rawValue), "count": .int(n)]) }
        }
        var ctx: TContext = [
            "pageTitle": .text(Text.clean(s.name)), "pageDescription": .text("\(refs.count) tools of the \(Text.clean(s.name)) MCP server, classified, with a starter policy."),
            "root": "../../", "name": .text(Text.clean(s.name)), "description": .text(Text.clean(s.description ?? "")), "package": .text(Text.clean(s.package ?? "")),
            "launch": .text(Text.clean(s.launch)), "transport": .text(s.transport), "toolCount": .int(refs.count),
            "categoryCounts": .list(catCounts), "riskCounts": .list(riskCounts), "showServer": false,
            "rows": .list(toolRows(refs, prefix: { "tools/\($0.slug).html" }, serverPrefix: { _ in "index.html" })),
            "hasFindings": .flag(!s.findings.isEmpty),
            "findings": .list(s.findings.map { ["severity": .text($0.severity.rawValue), "title": .text(Text.clean($0.title)), "rule": .text($0.rule), "fragment": .text(Text.clean($0.fragment))] }),
            "policyJSON": .text(Text.clean(PolicyExport.json(items).pretty())),
            "hasChanges": .flag(!s.changes.isEmpty),
            "changes": .list(s.changes.map { ["date": .text(Text.utcMinute($0.date)), "tool": .text(Text.clean($0.tool)), "kind": .text($0.kind), "detail": .text(Text.clean($0.detail))] }),
        ]
        if let sc = s.scan {
            ctx["scan"] = ["status": .text(sc.status), "reason": .text(Text.clean(sc.reason ?? "")), "date": .text(Text.utcMinute(sc.date)),
                           "durationMs": .int(sc.durationMs),
                           "protocol": .text(sc.era.map { "\($0) era, version \(sc.protocolVersion ?? "unknown")" } ?? "not reached"),
                           "serverInfo": .text(Text.clean([sc.serverName, sc.serverVersion].compactMap { $0 }.joined(separator: " ")))]
        }
        return renderPage("server", ctx)
    }

    /// Rows per browse page, as a target: pages end at server boundaries chosen by the servers' names.
    static let browsePageSize = 500

    /// The category and risk browse pages, in pages, rendered on every core where their fingerprint changed.
    func browsePages(_ refs: [ToolRef], reuse: (String, UInt64) -> Bool,
                     sink: (String, [UInt8], UInt64) throws(SiteError) -> Output) throws(SiteError) -> [Output] {
        var byCategory: [AtlasModel.Category: [Int]] = [:]
        var byRisk: [RiskLevel: [Int]] = [:]
        for (i, r) in refs.enumerated() {
            byCategory[r.item.verdict.category, default: []].append(i)
            byRisk[r.item.verdict.risk, default: []].append(i)
        }
        /// A page to render: its context is only built if the page must be rendered (the closures run on the workers).
        struct Page: @unchecked Sendable { var path: String; var context: () -> TContext; var inputs: UInt64 }
        var pages: [Page] = []
        /// One index page per dimension and, per group (most severe first), its tools in pages.
        func browse(_ folder: String, title: String, by: String, _ groups: [(label: String, tools: [Int], title: String, what: String, intro: String)]) {
            var links: [TContext] = []
            var h = Fingerprint(seed: templatesDigest)
            for g in groups {
                let slug = g.label.lowercased()
                links.append(["url": .text("\(slug).html"), "label": .text(g.label), "count": .int(g.tools.count)])
                h.add(slug); h.add(String(g.tools.count))
                let parts = SiteGenerator.paginate(g.tools, refs, target: SiteGenerator.browsePageSize)
                func file(_ n: Int) -> String { n == 0 ? "\(slug).html" : "\(slug)-\(n + 1).html" }
                for (n, part) in parts.enumerated() {
                    // Totals appear on the first page only, so that a tool added elsewhere leaves later pages as they are.
                    let intro = n == 0 ? g.intro : ""
                    var ph = Fingerprint(seed: templatesDigest)
                    ph.add(folder); ph.add(g.title); ph.add(intro); ph.add(String(n)); ph.add(String(parts.count))
                    // A row shows where the tool is, its name, its server, its risk (all in `listed`) and its category.
                    for i in part { ph.add(refs[i].listed); ph.add(refs[i].item.verdict.category.rawValue) }
                    let pager: TValue = parts.count < 2 ? .flag(false) : [
                        "page": .int(n + 1), "pages": .int(parts.count),
                        "prev": .text(n > 0 ? file(n - 1) : ""), "next": .text(n + 1 < parts.count ? file(n + 1) : "")]
                    let heading = n == 0 ? g.title : "\(g.title), page \(n + 1)"
                    pages.append(Page(path: "\(folder)/\(file(n))", context: {
                        ["pageTitle": .text(heading), "pageDescription": .text("Every \(g.what) tool in the catalogue"),
                         "root": "../", "heading": .text(heading), "intro": .text(intro), "pager": pager,
                         "hasRows": .flag(!part.isEmpty), "showServer": true,
                         "rows": .list(self.toolRows(refs, part, prefix: { "../servers/\($0.serverSlug)/tools/\($0.slug).html" },
                                                     serverPrefix: { "../servers/\($0.serverSlug)/index.html" }))]
                    }, inputs: ph.value))
                }
            }
            h.add(folder); h.add(title)
            pages.append(Page(path: "\(folder)/index.html", context: {
                ["pageTitle": .text(title), "pageDescription": .text("Tools by \(by)"), "root": "../",
                 "heading": .text("Tools by \(by)"), "links": ["items": .list(links)]]
            }, inputs: h.value))
        }
        browse("categories", title: "Categories", by: "category", AtlasModel.Category.allCases.reversed().map { c in
            let tools = byCategory[c] ?? []
            return (c.rawValue, tools, "\(c.rawValue) tools", c.rawValue, "\(tools.count) tools whose purpose is that \(categoryMeaning(c))")
        })
        browse("risk", title: "Risk levels", by: "risk level", RiskLevel.allCases.reversed().map { k in
            let tools = byRisk[k] ?? []
            return (k.rawValue, tools, "\(k.rawValue) risk tools", "\(k.rawValue) risk", "\(tools.count) tools.")
        })
        let results = pages.concurrentMap(chunk: 2) { p in
            Result { () throws(SiteError) -> Output in
                try SiteGenerator.output(p.path, inputs: p.inputs, reuse, sink) { self.renderPage("list", p.context()) }
            }
        }
        return try results.map { r throws(SiteError) in try r.get() }
    }

    /// Splits tools (in server order) into pages that end where a server ends. Which servers end a page depends only
    /// on their names (a hash), so a server whose tools change moves no boundary and changes one page; the page size
    /// is a power of two near the target, so totals moving a little do not move the boundaries either.
    static func paginate(_ tools: [Int], _ refs: [ToolRef], target: Int) -> [[Int]] {
        guard tools.count > target else { return [tools] }
        var serverCount = 0
        var last: String? = nil
        for i in tools where refs[i].server.name != last { serverCount += 1; last = refs[i].server.name }
        // Servers per page, as a power of two, so that a page holds about `target` tools.
        let want = max(1, serverCount * target / tools.count)
        var m: UInt64 = 1
        while m * 2 <= UInt64(want) { m *= 2 }
        var pages: [[Int]] = [[]]
        for (k, i) in tools.enumerated() {
            pages[pages.count - 1].append(i)
            let name = refs[i].server.name
            let serverEnds = k + 1 == tools.count || refs[tools[k + 1]].server.name != name
            // A page also ends when it is far too long (an unlucky run of names), so no page grows without bound.
            if serverEnds && k + 1 < tools.count && (Hashing.fnv1a64(name) % m == 0 || pages[pages.count - 1].count >= 4 * target) {
                pages.append([])
            }
        }
        return pages
    }

    func serversPage(_ servers: [SiteServer], serverSlugs: [String: String]) -> [UInt8] {
        let rows: [TContext] = servers.map { s in
            ["url": .text("\(serverSlugs[s.name]!)/index.html"), "name": .text(Text.clean(s.name)), "status": .text(s.scan?.status ?? "not scanned"),
             "toolCount": .int(s.tools.count), "highest": .text(s.tools.map(\.verdict.risk).max()?.rawValue ?? "none")]
        }
        return renderPage("list", [
            "pageTitle": "Servers", "pageDescription": "Every scanned MCP server", "root": "../", "heading": "Servers",
            "intro": .text("\(servers.count) servers."), "serverTable": ["servers": .list(rows)]])
    }

    func indexPage(_ servers: [SiteServer], serverSlugs: [String: String], refs: [ToolRef]) -> [UInt8] {
        var catCount: [AtlasModel.Category: Int] = [:], riskCount: [RiskLevel: Int] = [:]
        for r in refs { catCount[r.item.verdict.category, default: 0] += 1; riskCount[r.item.verdict.risk, default: 0] += 1 }
        let cats = AtlasModel.Category.allCases.reversed().map { c in (c.rawValue, catCount[c] ?? 0) }
        let risks = RiskLevel.allCases.reversed().map { k in (k.rawValue, riskCount[k] ?? 0) }
        let ok = servers.filter { $0.scan?.status == "ok" }.count
        let failed = servers.filter { $0.scan != nil && $0.scan?.status != "ok" }.count
        let findings = servers.reduce(0) { $0 + $1.findings.count + $1.tools.reduce(0) { $0 + $1.findings.count } }
        let ctx: TContext = [
            "pageTitle": "Catalogue", "pageDescription": .text("\(refs.count) MCP tools on \(servers.count) servers, classified by category and risk."),
            "root": "", "serverCount": .int(servers.count), "toolCount": .int(refs.count), "okCount": .int(ok), "failedCount": .int(failed),
            "findingCount": .int(findings),
            "categoryChart": .text(Chart.bars(title: "Tools by category", cats)), "riskChart": .text(Chart.bars(title: "Tools by risk level", risks)),
            "categories": .list(cats.map { ["url": .text("categories/\($0.0.lowercased()).html"), "label": .text($0.0), "count": .int($0.1)] }),
            "risks": .list(risks.map { ["url": .text("risk/\($0.0.lowercased()).html"), "label": .text($0.0), "count": .int($0.1)] }),
            "servers": .list(servers.map { ["url": .text("servers/\(serverSlugs[$0.name]!)/index.html"), "name": .text(Text.clean($0.name)),
                                            "toolCount": .int($0.tools.count), "status": .text($0.scan?.status ?? "not scanned")] }),
        ]
        return renderPage("index", ctx)
    }

    func searchIndex(_ servers: [SiteServer], serverSlugs: [String: String], refs: [ToolRef]) -> [UInt8] {
        let entries = JSONValue.document(streaming: nil, count: servers.count + refs.count, pretty: false, keys: ["k", "n", "s", "c", "r", "d", "u"]) { i in
            if i < servers.count {
                let s = servers[i]
                return ["server", .string(s.name), .string(s.name), "", "", .string(String((s.description ?? "").prefix(160))),
                        .string("servers/\(serverSlugs[s.name]!)/index.html")]
            }
            let r = refs[i - servers.count]
            return ["tool", .string(r.item.name), .string(r.server.name), .string(r.item.verdict.category.rawValue),
                    .string(r.item.verdict.risk.rawValue), .string(r.item.summary), .string(r.path)]
        }
        return Array("window.TOOLATLAS_INDEX = ".utf8) + entries + Array(";\n".utf8)
    }

    func toolsAPI(_ refs: [ToolRef]) -> [UInt8] {
        JSONValue.document(["schema_version": .int(Int64(SiteGenerator.apiSchemaVersion))], streaming: "tools", count: refs.count, pretty: true,
                           keys: ["server", "name", "category", "risk", "confidence", "findings", "url"]) { i in
            let r = refs[i]
            return [.string(r.server.name), .string(r.item.name), .string(r.item.verdict.category.rawValue), .string(r.item.verdict.risk.rawValue),
                    .string(r.item.verdict.confidence.rawValue), .int(Int64(r.item.findings.count)), .string(r.path)]
        }
    }

    /// A server's API file: compact JSON, each tool's definition copied as stored (canonical JSON, never re-parsed).
    func serverAPI(_ s: SiteServer, refs: [ToolRef], _ stored: [Stored]) -> [UInt8] {
        var scan: JSONValue = .null
        if let sc = s.scan {
            scan = ["status": .string(sc.status), "reason": sc.reason.map(JSONValue.string) ?? .null, "era": sc.era.map(JSONValue.string) ?? .null,
                    "protocol_version": sc.protocolVersion.map(JSONValue.string) ?? .null, "date": .string(Text.utcMinute(sc.date))]
        }
        let head: [String: JSONValue] = ["schema_version": .int(Int64(SiteGenerator.apiSchemaVersion)), "name": .string(s.name),
                                         "package": s.package.map(JSONValue.string) ?? .null, "scan": scan]
        return JSONValue.canonicalDocument(head, streaming: "tools", count: refs.count) { i in
            SiteGenerator.apiEntry(refs[i].item, stored[i])
        } + [0x0A]
    }

    /// Each starter rule as canonical JSON, by category and risk: the `policy` member of every API entry.
    static let apiPolicies: [[[UInt8]]] = AtlasModel.Category.allCases.map { c in
        RiskLevel.allCases.map { r in Array(PolicyRule.starter(category: c, risk: r).jsonRule.canonical().utf8) }
    }

    /// A tool's entry in its server's API file as canonical JSON, written member by member in key order (the bytes
    /// `JSONValue.canonicalObject` gives for the same members; no dictionary is made per tool or per evidence).
    static func apiEntry(_ t: SiteTool, _ stored: Stored) -> [UInt8] {
        let v = t.verdict
        var out: [UInt8] = []
        out.reserveCapacity(stored.definition.utf8.count + 512)
        func string(_ key: StaticString, _ value: String) {
            key.withUTF8Buffer { out += $0 }
            JSONValue.writeString(value, to: &out)
        }
        string("{\"category\":", v.category.rawValue)
        string(",\"confidence\":", v.confidence.rawValue)
        out += ",\"definition\":".utf8
        out += stored.definition.utf8
        out += ",\"evidence\":[".utf8
        for (n, e) in stored.evidence.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            string("{\"effect\":", e.effect); string(",\"field\":", e.field); string(",\"fragment\":", e.fragment); string(",\"rule\":", e.rule)
            out.append(UInt8(ascii: "}"))
        }
        out += "],\"findings\":[".utf8
        for (n, f) in t.findings.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            string("{\"fragment\":", f.fragment); string(",\"rule\":", f.rule); string(",\"severity\":", f.severity.rawValue)
            out.append(UInt8(ascii: "}"))
        }
        string("],\"name\":", t.name)
        out += ",\"policy\":".utf8
        out += apiPolicies[AtlasModel.Category.allCases.firstIndex(of: v.category)!][RiskLevel.allCases.firstIndex(of: v.risk)!]
        string(",\"risk\":", v.risk.rawValue)
        out.append(UInt8(ascii: "}"))
        return out
    }

    func llms(_ servers: [SiteServer], serverSlugs: [String: String], refs: [ToolRef]) -> String {
        var o = "# ToolAtlas\n\n> \(refs.count) MCP tools on \(servers.count) servers, each with a category (Read, Write, Execute, Destructive, Financial), a risk level (Low, Medium, High, Critical) and a starter policy.\n\n"
        o += "- [All tools with their labels](\(baseURL)llms-full.txt)\n- [JSON API](\(baseURL)api/tools.json)\n\n## Servers\n\n"
        for s in servers { o += "- [\(oneLine(s.name))](\(baseURL)servers/\(serverSlugs[s.name]!)/index.html): \(s.tools.count) tools\n" }
        return o
    }

    func llmsFull(_ refs: [ToolRef]) -> [UInt8] {
        var o = Array("# ToolAtlas: every tool with its label\n\n".utf8)
        o.reserveCapacity(refs.count * 160)
        for r in refs {
            o += "- ".utf8; o += oneLine(r.server.name).utf8; o += " / ".utf8; o += oneLine(r.item.name).utf8; o += ": ".utf8
            o += r.item.verdict.category.rawValue.utf8; o += ", ".utf8; o += r.item.verdict.risk.rawValue.utf8; o += " risk. ".utf8
            o += oneLine(r.item.summary).utf8; o.append(0x0A)
        }
        return o
    }

    func oneLine(_ s: String) -> String {
        let c = Text.clean(s)
        guard c.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return c }
        return String(decoding: c.utf8.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }, as: UTF8.self)
    }

    func sitemap(_ paths: [String]) -> String {
        var o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
        let base = baseURL.replacingOccurrences(of: "&", with: "&amp;")
        for p in paths.sorted() {
            // Page paths are slugs: they never hold "&" (the base URL is escaped once above).
            o += "<url><loc>" + base + p + "</loc></url>\n"
        }
        return o + "</urlset>\n"
    }

}

/// Bar charts as inline SVG, drawn from counts only (no untrusted text reaches them).
enum Chart {
    static func bars(title: String, _ data: [(String, Int)]) -> String {
        let maxV = max(1, data.map(\.1).max() ?? 1)
        let rowH = 28, labelW = 110, barW = 360, width = labelW + barW + 70
        var s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"\(title)\" width=\"\(width)\" height=\"\(data.count * rowH + 8)\" viewBox=\"0 0 \(width) \(data.count * rowH + 8)\">"
        s += "<title>\(title)</title>"
        let colors = ["#7a0010", "#b34700", "#8a6d00", "#0b5394", "#0f5132"]
        for (i, (label, v)) in data.enumerated() {
            let y = i * rowH + 4
            let w = v == 0 ? 0 : max(2, v * barW / maxV)
            s += "<text x=\"0\" y=\"\(y + 18)\" font-size=\"14\" fill=\"#1a1a1a\">\(label)</text>"
            s += "<rect x=\"\(labelW)\" y=\"\(y + 4)\" width=\"\(w)\" height=\"18\" fill=\"\(colors[i % colors.count])\"></rect>"
            s += "<text x=\"\(labelW + w + 6)\" y=\"\(y + 18)\" font-size=\"14\" fill=\"#1a1a1a\">\(v)</text>"
        }
        return s + "</svg>"
    }
}
