import AtlasCore
import AtlasModel
import Catalogue
import Crawler
import MCPClient
import Foundation
import Store
import Testing

/// Registry pages served by a loopback HTTP server, client config files, and launch plans for every package type.
@Suite("Catalogue ingestion", .serialized)
struct CatalogueTests {
    /// The recorded registry pages, served by cursor the way the API serves them.
    static func recorded(_ url: URL) throws -> Data {
        let q = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        #expect(q.contains { $0.name == "limit" && $0.value == "100" })
        let cursor = q.first { $0.name == "cursor" }?.value
        let incremental = q.contains { $0.name == "updated_since" }
        let file = incremental || cursor == "page2" ? "page2.json" : "page1.json"
        return try Data(contentsOf: URL(fileURLWithPath: Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/registry/" + file))
    }

    @Test("a registry sync follows nextCursor, reads both spellings, skips deleted, keeps deprecated marked and reports bad entries with their position")
    func registrySync() async throws {
        let sync = await RegistryClient.sync(base: "https://registry.example.org") { try Self.recorded($0) }
        #expect(sync.pages == 2)
        #expect(sync.entries.map(\.name).sorted() == ["io.github.example/box", "io.github.example/notes", "io.github.example/time", "io.github.example/weather"])
        #expect(sync.deleted == ["io.github.example/gone"])
        #expect(sync.problems.count == 2)
        #expect(sync.problems.contains { $0.location?.contains("page 1, servers[2]") == true && $0.message.contains("name") })
        #expect(sync.problems.contains { $0.message.contains("--require=/tmp/x.js") })
        let notes = try #require(sync.entries.first { $0.name == "io.github.example/notes" })
        #expect(notes.registryStatus == "deprecated")
        #expect(notes.notes?.contains("Deprecated") == true)
        #expect(sync.entries.first { $0.name == "io.github.example/weather" }?.version == "2.0.0")
        // Stored, then an incremental sync marks the deleted entry so it is no longer listed.
        let store = try Store(path: Fixtures.tempDir("reg") + "/a.sqlite")
        try store.upsert(servers: sync.entries + [ServerEntry(name: "io.github.example/gone", source: "x", launch: LaunchPlan(argv: ["x"]))])
        let inc = await RegistryClient.sync(base: "https://registry.example.org/v0.1/servers", updatedSince: "2026-10-01T00:00:00Z") { try Self.recorded($0) }
        try store.markDeleted(inc.deleted)
        #expect(try store.servers().map(\.name).contains("io.github.example/gone") == false)
        #expect(try store.servers().count == 4)
    }

    @Test("a page that is not JSON stops the sync with an error naming the page, keeping what was read")
    func malformedPage() async {
        var calls = 0
        let sync = await RegistryClient.sync(base: "https://registry.example.org") { url in
            calls += 1
            return calls == 1 ? try Self.recorded(url) : Data("{not json".utf8)
        }
        #expect(sync.entries.count == 2)
        #expect(sync.problems.contains { $0.location == "page 2" && $0.message.contains("invalid JSON") })
    }

    @Test("toolatlas catalogue import reads the registry API over HTTP from a loopback server, then syncs a deletion")
    func registryOverHTTP() throws {
        let dir = Fixtures.tempDir("http")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/registry_server.py", dir + "/port"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL) }
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            port = ((try? String(contentsOfFile: dir + "/port", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if port.isEmpty { usleep(50_000) }
        }
        let base = "http://127.0.0.1:\(port)"
        let r = try Fixtures.run(Fixtures.toolatlas, ["catalogue", "import", base, "--db", dir + "/a.sqlite"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("imported 4 servers"))
        #expect(r.out.contains("(page 1, servers[2]): entry has no \"name\""))
        try Store(path: dir + "/a.sqlite").upsert(servers: [ServerEntry(name: "io.github.example/gone", source: "x", launch: LaunchPlan(argv: ["x"]))])
        let r2 = try Fixtures.run(Fixtures.toolatlas, ["catalogue", "import", base, "--db", dir + "/a.sqlite", "--updated-since", "2026-10-01T00:00:00Z"])
        #expect(r2.status == 0, "\(r2.err)")
        #expect(try Store(path: dir + "/a.sqlite").servers().map(\.name) == ["io.github.example/box", "io.github.example/notes", "io.github.example/time", "io.github.example/weather"])
    }

    @Test("a saved list page and a folder of server.json files read the same way")
    func savedPages() throws {
        let load = try CatalogueReader.load(path: Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/registry")
        #expect(load.entries.count == 4)
    }

    @Test("pypi packages become a cached install plus their console script, with arguments and placeholder secrets")
    func pypiPlan() throws {
        let load = try CatalogueReader.load(path: Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/registry/page1.json")
        let e = try #require(load.entries.first { $0.name == "io.github.example/time" })
        #expect(e.launch.pypi == LaunchPlan.PyPIPackage(name: "mcp-server-time", version: "2025.9.25"))
        #expect(e.launch.argv == ["mcp-server-time", "--local-timezone", "UTC"])
        #expect(e.launch.environment["TIME_API_KEY"] == Placeholder.value(for: "TIME_API_KEY"))
        #expect(e.launch.notes.contains { $0.contains("TIME_API_KEY") && $0.contains("placeholder") })
    }

    @Test("npm, oci, nuget, mcpb and remote plans are argv and URLs, never shell strings")
    func otherPlans() throws {
        func plan(_ json: String) -> Result<LaunchPlan, LaunchPlanner.Refusal> { LaunchPlanner.plan(package: try! JSONValue.parse(json)) }
        let npm = try plan(#"{"registryType":"npm","identifier":"@scope/pkg","version":"1.0.0","packageArguments":[{"type":"positional","value":"a b; rm -rf /"}]}"#).get()
        #expect(npm.argv == ["npx", "-y", "@scope/pkg@1.0.0", "a b; rm -rf /"])
        let oci = try plan(#"{"registry_type":"oci","identifier":"ghcr.io/x/y","version":"2","environment_variables":[{"name":"TOKEN","is_required":true}]}"#).get()
        #expect(oci.argv == ["docker", "run", "-i", "--rm", "-e", "TOKEN", "ghcr.io/x/y:2"])
        let nuget = try plan(#"{"registryType":"nuget","identifier":"Example.Mcp","version":"0.1.0"}"#).get()
        #expect(nuget.argv == ["dnx", "Example.Mcp@0.1.0", "--yes"])
        let sha = String(repeating: "a", count: 64)
        let mcpb = try plan(#"{"registryType":"mcpb","identifier":"https://example.org/x.mcpb","fileSha256":"\#(sha)"}"#).get()
        #expect(mcpb.notes.contains { $0.contains("verify sha256") })
        if case .success = plan(#"{"registryType":"mcpb","identifier":"https://example.org/x.mcpb"}"#) { Issue.record("an mcpb without a hash must be refused") }
        if case .success = plan(#"{"registryType":"npm","identifier":"../../etc"}"#) { Issue.record("path traversal must be refused") }
        if case .success = plan(#"{"registryType":"pypi","identifier":"pkg","version":"1.0; curl x"}"#) { Issue.record("a shell payload in a version must be refused") }
        let remote = try LaunchPlanner.plan(remote: try JSONValue.parse(#"{"type":"sse","url":"https://{tenant}.example.org/sse","headers":[{"name":"Authorization","isRequired":true}]}"#)).get()
        #expect(remote.transport == .sse)
        #expect(remote.notes.contains { $0.contains("tenant") })
        #expect(remote.headers["Authorization"] == Placeholder.value(for: "Authorization"))
    }

    @Test("client config files of each kind, with placeholders left unresolved and reported", arguments: [
        (#"{"mcpServers":{"fs":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","${HOME}/docs"],"env":{"TOKEN":"${env:TOKEN}"}}}}"#, "claude-desktop"),
        (#"{"mcpServers":{"fs":{"command":"npx","args":["-y","srv"]},"remote":{"url":"https://mcp.example.org/mcp","headers":{"Authorization":"Bearer ${env:KEY}"}}}}"#, "cursor"),
        (#"{"servers":{"fs":{"type":"stdio","command":"uvx","args":["mcp-server-time"]},"web":{"type":"sse","url":"https://x.example.org/sse"}},"inputs":[{"id":"key","type":"promptString"}]}"#, "vscode"),
        (#"{"mcpServers":{"fs":{"serverUrl":"https://w.example.org/mcp"}}}"#, "windsurf"),
    ])
    func clientConfigs(_ c: (String, String)) throws {
        let path = Fixtures.tempDir("cfg") + "/\(c.1).json"
        try c.0.write(toFile: path, atomically: true, encoding: .utf8)
        let load = try CatalogueReader.load(path: path)
        #expect(!load.entries.isEmpty, "\(c.1)")
        #expect(load.problems.isEmpty)
        if c.1 == "claude-desktop" {
            let fs = load.entries[0]
            #expect(fs.launch.argv == ["npx", "-y", "@modelcontextprotocol/server-filesystem", "${HOME}/docs"])
            #expect(fs.launch.notes.contains("placeholder ${HOME} left unresolved"))
            #expect(fs.launch.notes.contains("placeholder ${env:TOKEN} left unresolved"))
        }
        if c.1 == "vscode" { #expect(load.entries.first { $0.name == "web" }?.launch.transport == .sse) }
    }

    @Test("a broken catalogue file is an error naming the file, and nothing is stored")
    func brokenFile() throws {
        let path = Fixtures.tempDir("broken") + "/bad.json"
        try #"{"mcpServers": {"a": {"command": "x"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CatalogueError.self) { try CatalogueReader.load(path: path) }
        do { _ = try CatalogueReader.load(path: path) } catch { #expect(error.description.contains("bad.json")) }
    }

    @Test("a server.json naming mcp-server-time on PyPI is installed into a cached environment and scanned for real")
    func pypiInstallAndScan() async throws {
        let cache = Fixtures.packageRoot + "/.venv-servers/cache"
        setenv("TOOLATLAS_CACHE", cache, 1)
        let json = #"{"name":"io.github.test/time","version":"1","packages":[{"registryType":"pypi","identifier":"mcp-server-time","transport":{"type":"stdio"}}]}"#
        let entry = try RegistryReader.entry(try JSONValue.parse(json), source: "test").get()
        var limits = ChildLimits()
        limits.deadline = .seconds(60)
        let r = await ServerScanner(childLimits: limits).scan(entry)
        #expect(r.status == .ok, "\(r.reason ?? "")")
        #expect(r.tools.contains { $0.name == "get_current_time" })
        #expect(FileManager.default.fileExists(atPath: cache + "/pypi/mcp-server-time/.toolatlas-installed"))
    }
}
