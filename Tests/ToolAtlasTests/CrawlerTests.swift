import AtlasModel
import Crawler
import Foundation
import MCPClient
import Testing

/// The crawler against the fixture server, a real child process that misbehaves on request.
@Suite("Crawler against misbehaving servers")
struct CrawlerTests {
    static func scanner(deadline: Int = 10, request: Int = 5) -> ServerScanner {
        var limits = ChildLimits()
        limits.deadline = .seconds(deadline)
        limits.killGrace = .milliseconds(300)
        var p = ProbeLimits()
        p.requestTimeout = .seconds(request)
        p.discoverTimeout = .seconds(2)
        return ServerScanner(childLimits: limits, probe: Probe(limits: p))
    }

    @Test("lists every tool in the modern era (server/discover)")
    func modern() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("m", ["--era", "modern", "--instructions", "hello"]))
        #expect(r.status == .ok)
        #expect(r.era == "modern")
        #expect(r.protocolVersion == "2026-07-28")
        #expect(r.tools.count == 8)
        #expect(r.tools.contains { $0.name == "luma_get_task" })
        #expect(r.instructions == "hello")
        #expect(r.serverInfo?["name"]?.stringValue == "fixture")
    }

    @Test("falls back to initialize for a server of the older era")
    func legacy() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("l", ["--era", "legacy"]))
        #expect(r.status == .ok)
        #expect(r.era == "legacy")
        #expect(r.protocolVersion == "2025-11-25")
        #expect(r.tools.count == 8)
    }

    @Test("follows nextCursor through every page")
    func pagination() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("p", ["--page-size", "3"]))
        #expect(r.status == .ok)
        #expect(r.pages == 3)
        #expect(r.tools.map(\.name) == (try! JSONValue.parse(FileManager.default.contents(atPath: Fixtures.luma)!))["tools"]!.arrayValue!.compactMap { $0["name"]?.stringValue })
    }

    @Test("stops on a repeated cursor and says so")
    func cursorLoop() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("c", ["--page-size", "2", "--cursor-loop"]))
        #expect(r.status == .ok)
        #expect(r.paginationNote?.contains("repeated cursor") == true)
        #expect(r.pages == 2)
    }

    @Test("lists 10,000 tools")
    func manyTools() async {
        // A limit, not a timing: the debug build shares two cores with the other suites.
        let r = await Self.scanner(deadline: 60, request: 30).scan(Fixtures.fixtureEntry("many", ["--generate", "10000"], tools: Fixtures.packageRoot + "/catalogue/demo/tools/mcp-server-time.json"))
        #expect(r.status == .ok)
        #expect(r.tools.count == 10_002)
    }

    @Test("a server that never answers times out within its deadline")
    func hang() async {
        let r = await Self.scanner(deadline: 2, request: 10).scan(Fixtures.fixtureEntry("h", ["--hang"]))
        #expect(r.status == .timeout)
        #expect(r.reason?.contains("deadline") == true)
    }

    @Test("a server that exits mid-conversation is reported as crashed with its exit status")
    func exitMidList() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("x", ["--exit-after", "1", "--stderr", "boom: fatal"]))
        #expect(r.status == .crashed)
        #expect(r.reason?.contains("exited with status 3") == true)
        #expect(r.reason?.contains("boom: fatal") == true)
        #expect(r.stderrTail.contains("boom: fatal"))
    }

    @Test("junk lines on stdout are tolerated and counted")
    func junk() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("j", ["--junk", "3"]))
        #expect(r.status == .ok)
        #expect(r.tools.count == 8)
        #expect(r.junkLines == 9)  // three before each of the three replies (discover, initialize, tools/list)
    }

    @Test("an oversized message is dropped without buffering it and the scan goes on")
    func oversize() async {
        var s = Self.scanner(deadline: 60, request: 30)
        s.childLimits.maxMessageBytes = 1 << 20
        let r = await s.scan(Fixtures.fixtureEntry("o", ["--oversize", String(20 << 20)]))
        #expect(r.status == .ok)
        #expect(r.tools.count == 8)
        #expect(r.reason?.contains("oversized") == true)
    }

    @Test("invalid JSON in the reply is a protocol error or a timeout, never a hang")
    func invalidJSON() async {
        let r = await Self.scanner(deadline: 6, request: 2).scan(Fixtures.fixtureEntry("i", ["--invalid-json"]))
        #expect(r.status == .timeout || r.status == .protocolError)
        #expect(r.reason != nil)
    }

    @Test("one malformed tool is a per-tool error, not a failed scan")
    func badTool() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("b", ["--bad-tool"]))
        #expect(r.status == .ok)
        #expect(r.tools.count == 8)
        #expect(r.toolErrors.count == 1)
    }

    @Test("a sampling request from the server is answered at once and does not stall the scan")
    func sampling() async {
        // The scanner's request time-out is 5 s: a stalled exchange would end in timeout, not ok.
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("s", ["--sampling"]))
        #expect(r.status == .ok)
        #expect(r.tools.count == 8)
    }

    @Test("a missing API key ends as needs-credentials")
    func credentials() async {
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("k", ["--require-env", "SOME_API_KEY"]))
        #expect(r.status == .needsCredentials)
    }

    @Test("a program that is not installed is unsupported-runtime, naming it")
    func missingRuntime() async {
        let e = ServerEntry(name: "npx-thing", source: "test", launch: LaunchPlan(argv: ["definitely-not-installed-npx", "-y", "pkg"]))
        let r = await Self.scanner().scan(e)
        #expect(r.status == .unsupportedRuntime)
        #expect(r.reason?.contains("definitely-not-installed-npx") == true)
    }

    @Test("the child sees only the declared environment, a fresh HOME and a scratch working folder")
    func environment() async {
        setenv("TOOLATLAS_TEST_SECRET", "do-not-leak", 1)
        let r = await Self.scanner().scan(Fixtures.fixtureEntry("e", ["--env-to-instructions"], env: ["DECLARED_VAR": "1"]))
        #expect(r.status == .ok)
        let info = r.instructions ?? ""
        #expect(info.contains("DECLARED_VAR"))
        #expect(!info.contains("TOOLATLAS_TEST_SECRET"))
        #expect(info.contains("cwd=/"))
        #expect(info.contains("toolatlas-scan-"))
        let cwd = info.components(separatedBy: "cwd=")[1].components(separatedBy: " ")[0]
        #expect(info.contains("home=\(cwd)"))
        #expect(!FileManager.default.fileExists(atPath: cwd), "the scratch folder is removed after the scan")
    }

    @Test("no process outlives its scan, not even a grandchild left running")
    func noLeaks() async throws {
        let marker = "toolatlas-leak-\(UUID().uuidString.prefix(6))"
        let r = await Self.scanner().scan(Fixtures.fixtureEntry(marker, ["--grandchild", "--name", marker]))
        #expect(r.status == .ok)
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.processes(matching: "sleep 600") == 0)
        let hung = await Self.scanner(deadline: 1).scan(Fixtures.fixtureEntry(marker, ["--grandchild", "--hang", "--name", marker]))
        #expect(hung.status == .timeout)
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.processes(matching: "sleep 600") == 0)
        #expect(Self.processes(matching: marker) == 0)
    }

    @Test("a batch goes on past broken servers and reports each")
    func batch() async {
        let entries = [Fixtures.fixtureEntry("a"), Fixtures.fixtureEntry("b", ["--exit-after", "0"]), Fixtures.fixtureEntry("c", ["--era", "legacy"])]
        let results = Results()
        await Crawler(scanner: Self.scanner(), jobs: 2).run(entries) { e in
            if case .finished(let entry, let r) = e { await results.add(entry.name, r.status) }
        }
        let got = await results.all
        #expect(got["a"] == .ok)
        #expect(got["b"] == .crashed)
        #expect(got["c"] == .ok)
    }

    actor Results {
        var all: [String: ScanStatus] = [:]
        func add(_ n: String, _ s: ScanStatus) { all[n] = s }
    }

    /// Processes whose command line contains `text` (from /proc).
    static func processes(matching text: String) -> Int {
        let fm = FileManager.default
        var n = 0
        for pid in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            guard let raw = fm.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let cmd = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            if cmd.contains(text), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), !stat.contains(") Z ") { n += 1 }
        }
        return n
    }
}
