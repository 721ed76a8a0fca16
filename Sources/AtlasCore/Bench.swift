import AtlasModel
import Classifier
import Crawler
import Foundation
import MCPClient
import SiteGen
import Store

/// Benchmarks that print figures (never timed tests): CPU, wall time and peak RSS of this process, and of its children.
public enum Bench {
    public struct Usage: Sendable {
        public var userSeconds: Double, systemSeconds: Double, peakRSSMiB: Double
        public var cpu: Double { userSeconds + systemSeconds }
    }

    public static func usage(children: Bool = false) -> Usage {
        var u = rusage()
        getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &u)
        return Usage(userSeconds: Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6,
                     systemSeconds: Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6,
                     peakRSSMiB: Double(u.ru_maxrss) / 1024)
    }

    static func wall(_ body: () throws -> Void) rethrows -> Double {
        let t = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - t
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The corpus's tools, repeated with renamed copies until there are `count`.
    public static func corpusTools(_ path: String, count: Int) throws -> [(server: String, tool: Tool)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw JobError.message("\(path): cannot read") }
        var base: [(String, Tool)] = []
        for line in data.split(separator: 0x0A) {
            guard let o = try? JSONValue.parse(line), let t = o["tool"], let tool = try? Tool(json: t) else { continue }
            base.append((o["server"]?.stringValue ?? "server", tool))
        }
        guard !base.isEmpty else { throw JobError.message("\(path): no tools") }
        var out: [(String, Tool)] = []
        out.reserveCapacity(count)
        var copy = 0
        while out.count < count {
            for (s, t) in base where out.count < count {
                if copy == 0 { out.append((s, t)); continue }
                var raw = t.raw.objectValue ?? [:]
                raw["name"] = .string("\(t.name)_v\(copy)")
                out.append(("\(s)-\(copy)", try Tool(json: .object(raw))))
            }
            copy += 1
        }
        return out
    }

    /// Rule loading plus classification of `count` tools.
    public static func classify(corpus: String, rules: String, count: Int) throws -> String {
        let tools = try corpusTools(corpus, count: count)
        // Definitions and servers in lists of their own, each read where it is (a list of pairs is copied out pair by pair).
        let definitions = tools.map(\.tool), servers = tools.map(\.server)
        let before = usage()
        var categories: [AtlasModel.Category: Int] = [:]
        let seconds = try wall {
            let classifier = try Classifier(directory: rules)
            definitions.withUnsafeBufferPointer { definitions in
                // Server by server, as a catalogue lists them: a server's name is cut once for its tools.
                var server = classifier.server(servers.first ?? "")
                for i in definitions.indices {
                    if servers[i] != server.name { server = classifier.server(servers[i]) }
                    categories[classifier.classify(definitions[i], server: server).verdict.category, default: 0] += 1
                }
            }
        }
        let after = usage()
        // Then the same definitions as JSON text, as a catalogue or the database holds them, read back into tools: what
        // reading takes before classifying (the parameters' texts are taken out there, as the name and description are).
        let texts = definitions.map { Array($0.raw.canonical().utf8) }
        let beforeDecode = usage()
        var decoded = 0
        for text in texts { if let json = try? JSONValue.parse(text), (try? Tool(json: json)) != nil { decoded += 1 } }
        let decode = usage().cpu - beforeDecode.cpu
        return String(format: "classify: %d tools, rules loaded and every tool classified in %.3f s wall, %.3f s CPU; peak RSS %.1f MiB\n",
                      tools.count, seconds, after.cpu - before.cpu, after.peakRSSMiB)
            + "  " + AtlasModel.Category.allCases.map { "\($0.rawValue) \(categories[$0] ?? 0)" }.joined(separator: ", ") + "\n"
            + String(format: "  not counted above: the same %d definitions read from JSON text into tools in %.3f s CPU\n", decoded, decode)
    }

    /// A database of `count` tools on `servers` servers, then the whole site from it, then a rebuild with one server changed.
    public static func site(corpus: String, rules: String, templates: String, count: Int, servers: Int, work: String) throws -> String {
        let tools = try corpusTools(corpus, count: count)
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let store = try Store(path: work + "/bench.sqlite")
        var byServer: [[Tool]] = Array(repeating: [], count: servers)
        for (i, t) in tools.enumerated() { byServer[i % servers].append(t.tool) }
        let classifier = try Classifier(directory: rules)
        let fill = try wall {
            for (i, ts) in byServer.enumerated() {
                let entry = ServerEntry(name: "server-\(i)", source: "bench", launch: LaunchPlan(argv: ["bench"]))
                var r = ScanResult(server: entry.name, status: .ok, startedAt: Date(timeIntervalSince1970: 1_700_000_000))
                r.tools = ts
                try store.record(entry, r)
            }
            _ = try Jobs.classify(store: store, classifier: classifier)
        }
        let out = work + "/public"
        let generator = try SiteGenerator(templates: templates)
        let before = usage()
        var report = SiteReport()
        var model: [SiteServer] = []
        let tModel = try wall { model = try Jobs.siteModel(store: store) }
        let tSite = try wall { report = try generator.generate(model, into: out) { try store.details(servers: $0) } }
        let first = tModel + tSite
        model = []
        let mid = usage()
        // One server changes: one tool's description.
        var changed = byServer[0]
        changed[0] = Tool(name: changed[0].name, description: changed[0].description + " Now also archives old items.", inputSchema: changed[0].inputSchema)
        var r = ScanResult(server: "server-0", status: .ok, startedAt: Date(timeIntervalSince1970: 1_700_000_100))
        r.tools = changed
        try store.record(ServerEntry(name: "server-0", source: "bench", launch: LaunchPlan(argv: ["bench"])), r)
        _ = try Jobs.classify(store: store, classifier: classifier)
        var report2 = SiteReport()
        let mid2 = usage()
        let second = try wall { report2 = try generator.generate(try Jobs.siteModel(store: store), into: out) { try store.details(servers: $0) } }
        let after = usage()
        return String(format: "site: database of %d tools on %d servers filled and classified in %.2f s\n", tools.count, servers, fill)
            + String(format: "  full build: %d pages, %d files written in %.2f s wall (database %.2f, render and write %.2f), %.2f s CPU; peak RSS %.1f MiB\n",
                     report.pages, report.written, first, tModel, tSite, mid.cpu - before.cpu, mid.peakRSSMiB)
            + String(format: "  rebuild after one server changed: %d files written, %d unchanged in %.2f s wall, %.2f s CPU; peak RSS %.1f MiB\n",
                     report2.written, report2.unchanged, second, after.cpu - mid2.cpu, after.peakRSSMiB)
    }

    /// `servers` fixture servers with `tools` tools each, scanned with `jobs` at once.
    public static func scan(fixture: String, toolsFile: String, servers: Int, tools: Int, jobs: Int) async throws -> String {
        let entries = (0..<servers).map { i in
            ServerEntry(name: "bench-\(i)", source: "bench", launch: LaunchPlan(argv: [fixture, "--tools", toolsFile, "--generate", String(tools)]))
        }
        var sandbox = Sandbox()
        sandbox.usePrlimit = false
        let crawler = Crawler(scanner: ServerScanner(sandbox: sandbox), jobs: jobs)
        let before = usage(), beforeChildren = usage(children: true)
        let counter = Counter()
        let t = ContinuousClock.now
        await crawler.run(entries) { e in
            if case .finished(_, let r) = e { await counter.add(r.status == .ok, r.tools.count) }
        }
        let d = ContinuousClock.now - t
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        let after = usage(), afterChildren = usage(children: true)
        let (ok, listed) = await (counter.ok, counter.tools)
        return String(format: "scan: %d fixture servers x %d tools, --jobs %d: %d ok, %d tools in %.2f s wall\n", servers, tools, jobs, ok, listed, seconds)
            + String(format: "  scanner: %.3f s CPU (%.1f ms per server), peak RSS %.1f MiB\n", after.cpu - before.cpu,
                     (after.cpu - before.cpu) * 1000 / Double(max(servers, 1)), after.peakRSSMiB)
            + String(format: "  servers (children): %.3f s CPU\n", afterChildren.cpu - beforeChildren.cpu)
    }

    actor Counter {
        var ok = 0, tools = 0
        func add(_ isOK: Bool, _ n: Int) { if isOK { ok += 1 }; tools += n }
    }

    /// Parsing one tools/list reply of about `bytes` bytes.
    public static func parse(bytes: Int) throws -> String {
        var tools: [JSONValue] = []
        var size = 0
        var i = 0
        while size < bytes {
            let t: JSONValue = ["name": .string("tool_\(i)"), "description": .string(String(repeating: "Reads a record from the store. ", count: 8)),
                                "inputSchema": ["type": "object", "properties": ["id": ["type": "string", "description": "The record id"],
                                                                                 "limit": ["type": "integer", "default": 10]]]]
            size += t.canonical().utf8.count
            tools.append(t)
            i += 1
        }
        let text = Array((["jsonrpc": "2.0", "id": 1, "result": ["tools": .array(tools)]] as JSONValue).canonical().utf8)
        let before = usage()
        var count = 0
        let seconds = try wall {
            let v = try JSONValue.parse(text)
            for item in v["result"]?["tools"]?.arrayValue ?? [] { if (try? Tool(json: item)) != nil { count += 1 } }
        }
        let after = usage()
        return String(format: "parse: a %.2f MB tools/list with %d tools parsed and decoded in %.3f s wall, %.3f s CPU\n",
                      Double(text.count) / 1e6, count, seconds, after.cpu - before.cpu)
    }
}
