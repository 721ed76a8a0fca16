import AtlasModel
import Catalogue
import Classifier
import Crawler
import Foundation
import MCPClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SiteGen
import Store

/// Where ToolAtlas finds its own files, overridable per command.
public struct Paths: Sendable {
    public var db: String
    public var rules: String
    public var templates: String
    public init(db: String, rules: String? = nil, templates: String? = nil) {
        self.db = db
        self.rules = rules ?? RuleLoader.defaultRulesPath()
        self.templates = templates ?? SiteGenerator.defaultTemplatesPath()
    }
}

/// One line per event for logs; a live bar on a terminal.
public final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let tty: Bool
    private var total = 0, done = 0, failed = 0
    private var running: [String: Date] = [:]
    private let quiet: Bool

    public init(quiet: Bool = false) {
        tty = isatty(2) == 1
        self.quiet = quiet
    }

    func begin(total: Int) { lock.withLock { self.total = total } }

    func started(_ name: String) { lock.withLock { running[name] = Date(); drawBar() } }

    func finished(_ name: String, _ r: ScanResult) {
        lock.withLock {
            running[name] = nil
            done += 1
            if r.status != .ok { failed += 1 }
            guard !quiet else { return }
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            var line = "[\(done)/\(total)] \(name): \(r.status.rawValue), \(r.tools.count) tools, \(r.durationMs) ms"
            if let reason = r.reason { line += " (\(reason.prefix(200)))" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            drawBar()
        }
    }

    public func note(_ s: String) {
        guard !quiet else { return }
        lock.withLock { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    }

    private func drawBar() {
        guard tty, !quiet, total > 0 else { return }
        let width = 30
        let filled = done * width / max(total, 1)
        let slowest = running.min(by: { $0.value < $1.value }).map { " slowest: \($0.key) \(Int(-$0.value.timeIntervalSinceNow)) s" } ?? ""
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total) failed \(failed)" + slowest
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + bar.prefix(120)).utf8))
    }
}

public struct ScanSummary: Sendable {
    public var results: [(server: String, status: ScanStatus, tools: Int, reason: String?)] = []
    public var skipped: [String] = []
    public var problems: [String] = []
}

public struct ClassifySummary: Sendable {
    public var servers = 0
    public var tools = 0
    public var findings = 0
    public var byCategory: [AtlasModel.Category: Int] = [:]
    public var byRisk: [RiskLevel: Int] = [:]
}

public enum JobError: Error, CustomStringConvertible {
    case message(String)
    public var description: String { switch self { case .message(let m): m } }
}

/// The jobs behind the commands. Each works alone on the database.
public enum Jobs {
    /// Reads a catalogue source and records its servers; problems are returned, not fatal. An http(s) address is read
    /// as the MCP Registry's API, page by page; entries it reports deleted are marked so.
    public static func importCatalogue(_ source: String, store: Store, search: String? = nil, updatedSince: String? = nil) async throws -> CatalogueLoad {
        if source.hasPrefix("https://") || source.hasPrefix("http://") {
            _ = StdioTransport.ignoreSIGPIPE  // a closed socket must fail a write, not end the process
            let sync = await RegistryClient.sync(base: source, search: search, updatedSince: updatedSince, fetch: HTTPGet.data)
            var load = CatalogueLoad()
            load.entries = sync.entries
            load.problems = sync.problems
            try store.upsert(servers: sync.entries)
            try store.markDeleted(sync.deleted)
            return load
        }
        let load = try CatalogueReader.load(path: source)
        try store.upsert(servers: load.entries)
        return load
    }

    /// Scans the entries, committing each result as soon as it is done.
    public static func scan(entries: [ServerEntry], store: Store, crawler: Crawler, resume: Bool, progress: ProgressReporter) async throws -> ScanSummary {
        var summary = ScanSummary()
        var todo = entries
        if resume {
            let done = try store.serversDone()
            summary.skipped = todo.filter { done.contains($0.name) }.map(\.name)
            todo = todo.filter { !done.contains($0.name) }
        }
        progress.begin(total: todo.count)
        let collected = Collected()
        await crawler.run(todo) { event in
            switch event {
            case .started(let name): progress.started(name)
            case .finished(let entry, let result):
                progress.finished(entry.name, result)
                do { try store.record(entry, result) } catch {
                    await collected.add(problem: "\(error)")
                }
                await collected.add((entry.name, result.status, result.tools.count, result.reason))
            }
        }
        summary.results = await collected.results.sorted { $0.server < $1.server }
        summary.problems = await collected.problems
        return summary
    }

    actor Collected {
        var results: [(server: String, status: ScanStatus, tools: Int, reason: String?)] = []
        var problems: [String] = []
        func add(_ r: (server: String, status: ScanStatus, tools: Int, reason: String?)) { results.append(r) }
        func add(problem: String) { problems.append(problem) }
    }

    /// Classifies every current tool of every server and stores verdicts and findings.
    public static func classify(store: Store, classifier: Classifier) throws -> ClassifySummary {
        var summary = ClassifySummary()
        let current = try store.currentTools()
        let scans = Dictionary(uniqueKeysWithValues: try store.latestScans().map { ($0.server, $0) })
        let shadowing = Shadowing.findings(current.mapValues { $0.map(\.tool) })
        for server in current.keys.sorted() {
            let instructions = scans[server]?.instructions
            // Tools whose definition changed in the server's latest scan that had tools.
            let changes = try store.changes(server: server)
            let latest = changes.map(\.scanID).max()
            let changed = Dictionary(changes.filter { $0.scanID == latest && $0.kind == .changed }.map { ($0.tool, $0.detail) }, uniquingKeysWith: { a, _ in a })
            var items: [(tool: Tool, hash: String, verdict: Verdict, rules: [String], findings: [Finding])] = []
            // The server's name is cut into words once for its tools.
            let serverWords = classifier.server(server)
            for t in current[server]! {
                let r = classifier.classify(t.tool, server: serverWords, instructions: nil)
                var findings = r.findings
                findings += shadowing[server]?[t.tool.name] ?? []
                if let detail = changed[t.tool.name] {
                    // A definition that changed under the user's feet and now raises findings is the rug pull to look at first.
                    let flagged = findings.contains { $0.severity >= .medium }
                    findings.insert(Finding(rule: flagged ? "drift.changed-and-now-flagged" : "drift.changed", severity: flagged ? .critical : .low,
                                            title: flagged ? "The definition changed since the previous scan and now raises findings: a possible rug pull"
                                                           : "The definition changed since the previous scan",
                                            tool: t.tool.name, field: "definition", fragment: String(detail.prefix(300))), at: 0)
                }
                items.append((t.tool, t.hash, r.verdict, r.firedRules, findings))
                summary.tools += 1
                summary.findings += findings.count
                summary.byCategory[r.verdict.category, default: 0] += 1
                summary.byRisk[r.verdict.risk, default: 0] += 1
            }
            var serverFindings: [Finding] = []
            if let instructions, !instructions.isEmpty {
                serverFindings = classifier.instructionFindings(instructions, server: server)
                summary.findings += serverFindings.count
            }
            try store.saveClassification(server: server, items, serverFindings: serverFindings)
            summary.servers += 1
        }
        return summary
    }

    /// The site model from the database: every server and tool, without definitions (`site` reads those only for
    /// the pages it renders).
    public static func siteModel(store: Store) throws -> [SiteServer] {
        let entries = try store.servers()
        Timings.mark("servers")
        let scans = Dictionary(uniqueKeysWithValues: try store.latestScans().map { ($0.server, $0) })
        Timings.mark("scans")
        let tools = try store.listedTools()
        Timings.mark("tools")
        let serverFindings = try store.serverFindings()
        let allChanges = try store.allChanges()
        Timings.mark("findings and changes")
        defer { Timings.mark("site model") }
        return entries.concurrentMap(chunk: 256) { e in
            let scan = scans[e.name].map { s in
                SiteScan(status: s.status.rawValue, reason: s.reason, era: s.era, protocolVersion: s.protocolVersion,
                         serverName: s.serverInfo?["name"]?.stringValue, serverVersion: s.serverInfo?["version"]?.stringValue,
                         date: s.startedAt, durationMs: s.durationMs)
            }
            let items = (tools[e.name] ?? []).map { t in
                SiteTool(name: t.name, summary: t.summary, verdict: Verdict(category: t.category, risk: t.risk, confidence: t.confidence, evidence: []),
                         findings: t.findings, storedDigest: t.digest)
            }
            let changes = (allChanges[e.name] ?? []).map { SiteChange(date: $0.at, tool: $0.tool, kind: $0.kind.rawValue, detail: $0.detail) }
            return SiteServer(name: e.name, title: e.title, description: e.description, package: e.package, launch: e.launch.displayCommand,
                              transport: e.launch.transport.rawValue, scan: scan, tools: items, changes: changes, findings: serverFindings[e.name] ?? [])
        }
    }

    public static func site(store: Store, templates: String, out: String, baseURL: String) throws -> SiteReport {
        Timings.mark("database opened")
        let generator = try SiteGenerator(templates: templates, baseURL: baseURL)
        Timings.mark("templates")
        return try generator.generate(model: { try siteModel(store: store) }, into: out) { servers in try store.details(servers: servers) }
    }

    /// Starter policies of stored verdicts, for one server or all.
    public static func policy(store: Store, server: String?, format: PolicyExport.Format) throws -> String {
        let tools = try store.classifiedTools()
        if let server, tools[server] == nil { throw JobError.message("no classified tools for server \(server); run scan and classify first") }
        let items = tools.filter { server == nil || $0.key == server }.flatMap { (s, ts) in
            ts.compactMap { t in t.verdict.map { PolicyItem(server: s, tool: t.tool.name, category: $0.category, risk: $0.risk) } }
        }
        if items.isEmpty { throw JobError.message("nothing classified yet: run toolatlas build (or scan, then classify)") }
        return PolicyExport.render(items, format: format, description: server.map { "Starter policy for \($0) by ToolAtlas" } ?? "Starter policies by ToolAtlas")
    }
}

/// The same tool name on two servers of one catalogue, and descriptions that name another server's tools.
public enum Shadowing {
    public static func findings(_ toolsByServer: [String: [Tool]]) -> [String: [String: [Finding]]] {
        var owners: [String: [String]] = [:]
        for (s, ts) in toolsByServer { for t in ts { owners[t.name, default: []].append(s) } }
        var out: [String: [String: [Finding]]] = [:]
        for (name, servers) in owners where Set(servers).count > 1 {
            for s in Set(servers) {
                let others = Set(servers).subtracting([s]).sorted().joined(separator: ", ")
                out[s, default: [:]][name, default: []].append(Finding(rule: "shadowing.same-name", severity: .medium,
                    title: "Another server in this catalogue offers a tool with the same name (\(others)); an agent may call the wrong one",
                    tool: name, field: "name", fragment: name))
            }
        }
        // Mentions of another server's distinctive tool names (with an underscore or dash, to skip plain words).
        var distinctive: [String: String] = [:]
        for (name, servers) in owners where Set(servers).count == 1 && name.count >= 6 && (name.contains("_") || name.contains("-")) {
            distinctive[name] = servers[0]
        }
        for (s, ts) in toolsByServer {
            for t in ts {
                for word in t.description.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                    let w = String(word)
                    if let owner = distinctive[w], owner != s {
                        out[s, default: [:]][t.name, default: []].append(Finding(rule: "shadowing.mentions-other-server", severity: .high,
                            title: "The description refers to a tool of another server (\(owner)): a classic cross-server shadowing move",
                            tool: t.name, field: "description", fragment: w))
                        break
                    }
                }
            }
        }
        return out
    }
}

/// Plain GETs of registry pages (whole JSON documents; nothing streams), with a time limit and a size cap.
enum HTTPGet {
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 30
        c.timeoutIntervalForResource = 120
        return URLSession(configuration: c)
    }()

    static func data(_ url: URL) async throws -> Data {
        let (data, response) = try await session.data(from: url)
        guard let http = response as? HTTPURLResponse else { throw JobError.message("\(url): not an HTTP response") }
        guard (200..<300).contains(http.statusCode) else { throw JobError.message("\(url): HTTP \(http.statusCode)") }
        guard data.count <= 64 << 20 else { throw JobError.message("\(url): page larger than 64 MiB") }
        return data
    }
}
