import AtlasModel
import Crawler
import Foundation
@testable import MCPClient
import Testing

/// A real MCP server over HTTP (Fixtures/mcp_http_server.py, written with PyPI's `mcp`) on a free loopback port.
final class LoopbackServer {
    let process = Process()

    /// Starts the server and waits (without blocking a thread of the shared pool) until its port is known.
    static func start(_ mode: String) async throws -> LoopbackServer {
        let server = try LoopbackServer(mode)
        for _ in 0..<600 where server.readPort().isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        guard !server.readPort().isEmpty else { throw RealServerTests.SetupError(message: "the \(mode) server did not start") }
        return server
    }

    private let portFile: String

    var port: String { readPort() }

    private func readPort() -> String {
        ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private init(_ mode: String) throws {
        let dir = Fixtures.tempDir("http-\(mode)")
        let python = Fixtures.packageRoot + "/.venv-servers/main/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw RealServerTests.SetupError(message: "\(python) is missing: run scripts/setup-test-servers.sh first")
        }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Fixtures.packageRoot + "/Tests/ToolAtlasTests/Fixtures/mcp_http_server.py", mode, dir + "/port"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        portFile = dir + "/port"
        try process.run()
    }

    deinit { kill(process.processIdentifier, SIGKILL) }

    func entry(_ path: String, transport: LaunchPlan.Transport = .streamableHTTP, host: String = "127.0.0.1") -> ServerEntry {
        ServerEntry(name: "notes", source: "test", launch: LaunchPlan(transport: transport, url: "http://\(host):\(port)\(path)"))
    }
}

// One Python server at a time: each costs seconds of CPU to start, and the other suites share the two cores.
@Suite("Remote servers over HTTP", .serialized)
struct HTTPTests {
    static func scanner(allowPrivate: Bool, deadline: Duration = .seconds(30)) -> ServerScanner {
        var limits = ChildLimits()
        limits.deadline = deadline
        var s = ServerScanner(childLimits: limits)
        s.addressGuard = AddressGuard(allowPrivate: allowPrivate)
        return s
    }

    static let notesTools: Set<String> = ["list_notes", "delete_note", "send_invoice"]

    @Test("a real Python MCP server is scanned over each HTTP transport and era",
          arguments: [
            // mode, path, transport in the catalogue, era expected, what the reason says
            ("json", "/mcp", "streamable-http", "modern", ""),
            ("sse", "/mcp", "streamable-http", "modern", ""),
            ("stateless", "/mcp", "streamable-http", "modern", ""),
            ("older", "/mcp", "streamable-http", "legacy", ""),
            ("legacy", "/sse", "sse", "modern", ""),
            ("legacy", "/sse", "streamable-http", "modern", "legacy HTTP+SSE transport after HTTP 405"),
          ])
    func transports(mode: String, path: String, transport: String, era: String, note: String) async throws {
        let server = try await LoopbackServer.start(mode)
        let r = await Self.scanner(allowPrivate: true).scan(server.entry(path, transport: LaunchPlan.Transport(rawValue: transport)!))
        #expect(r.status == .ok, "\(r.reason ?? "")")
        #expect(Set(r.tools.map(\.name)) == Self.notesTools)
        #expect(r.era == era)
        #expect(r.protocolVersion == (era == "modern" ? Probe.modernVersion : Probe.legacyVersion))
        #expect(r.instructions == "Notes kept in memory for the crawler tests.")
        #expect(r.serverInfo?["name"]?.stringValue == "http-notes")
        if note.isEmpty { #expect(r.reason == nil) } else { #expect(r.reason?.contains(note) == true, "\(r.reason ?? "")") }
    }

    @Test("without the flag, loopback servers are refused before any connection")
    func loopbackRefused() async throws {
        for host in ["127.0.0.1", "localhost", "[::1]", "127.1"] {
            let entry = ServerEntry(name: "x", source: "test", launch: LaunchPlan(transport: .streamableHTTP, url: "http://\(host):9/mcp"))
            let r = await Self.scanner(allowPrivate: false).scan(entry)
            #expect(r.status == .refused, "\(host): \(r.status) \(r.reason ?? "")")
            #expect(r.reason?.contains("allow private addresses") == true || r.reason?.contains("names this machine") == true, "\(r.reason ?? "")")
        }
    }

    @Test("a redirect to the cloud metadata address is refused even when private addresses are allowed")
    func redirectToMetadata() async throws {
        let server = try await LoopbackServer.start("redirect")
        let r = await Self.scanner(allowPrivate: true).scan(server.entry("/mcp"))
        #expect(r.status == .refused)
        #expect(r.reason == "169.254.169.254 resolves to 169.254.169.254, a cloud metadata address")
    }

    @Test("401 means needs-credentials, a silent server times out, a closed port is unreachable")
    func failures() async throws {
        let auth = try await LoopbackServer.start("auth")
        let a = await Self.scanner(allowPrivate: true).scan(auth.entry("/mcp"))
        #expect(a.status == .needsCredentials)
        #expect(a.reason?.contains("HTTP 401") == true, "\(a.reason ?? "")")

        let hang = try await LoopbackServer.start("hang")
        let h = await Self.scanner(allowPrivate: true, deadline: .seconds(2)).scan(hang.entry("/mcp"))
        #expect(h.status == .timeout)
        #expect(h.reason == "deadline reached during initialize")

        let closed = ServerEntry(name: "x", source: "test", launch: LaunchPlan(transport: .streamableHTTP, url: "http://127.0.0.1:1/mcp"))
        let c = await Self.scanner(allowPrivate: true).scan(closed)
        #expect(c.status == .unreachable)
        #expect(c.reason?.hasPrefix("could not reach 127.0.0.1:1: ") == true, "\(c.reason ?? "")")
    }

    @Test("addresses that are not public unicast are named", arguments: [
        ("10.1.2.3", "a private address"), ("172.31.0.1", "a private address"), ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"), ("169.254.169.254", "a cloud metadata address"), ("169.254.1.1", "a link-local address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"), ("0.0.0.0", "a 'this network' address"), ("224.0.0.1", "a multicast or reserved address"),
        ("::1", "a loopback address"), ("::", "the unspecified address"), ("fe80::1", "a link-local address"), ("fd12::1", "a unique local (private) address"),
        ("fd00:ec2::254", "a cloud metadata address"), ("::ffff:10.0.0.1", "a private address"), ("64:ff9b::7f00:1", "a loopback address"),
        ("8.8.8.8", ""), ("2606:4700::1111", ""), ("172.32.0.1", ""),
    ])
    func addressClasses(address: String, reason: String) {
        var bytes = [UInt8](repeating: 0, count: address.contains(":") ? 16 : 4)
        #expect(inet_pton(address.contains(":") ? AF_INET6 : AF_INET, address, &bytes) == 1)
        #expect(AddressGuard.nonPublicReason(bytes) ?? "" == reason)
    }

    @Test("only http(s) URLs without credentials pass the guard")
    func urlShapes() async {
        let g = AddressGuard(allowPrivate: true)
        for bad in ["file:///etc/passwd", "ftp://example.org/x", "http://user:pw@127.0.0.1/", "http:///nohost", "gopher://127.0.0.1:70/"] {
            guard case .refused = await g.check(bad) else { Issue.record("\(bad) was not refused"); continue }
        }
        #expect(await g.check("http://metadata.google.internal/computeMetadata/v1/") == .refused("metadata.google.internal names a cloud metadata service"))
    }

    @Test("server-sent events split across chunks, with CRLF, CR, comments and multi-line data; oversize events dropped")
    func sseParsing() {
        let stream = Array(": hello\r\nevent: endpoint\r\ndata: /messages/?session_id=1\r\n\r\ndata: {\"a\":\ndata: 1}\r\rdata: \(String(repeating: "x", count: 100))\n\nevent: message\ndata: ok\n\n".utf8)
        for cut in [1, 2, 3, 7, stream.count] {
            var parser = SSEParser(maxEvent: 64)
            var events: [(String, String)] = []
            var i = 0
            while i < stream.count {
                let chunk = Array(stream[i..<min(stream.count, i + cut)])
                chunk.withUnsafeBytes { parser.feed($0) { events.append(($0.name, String(decoding: $0.data, as: UTF8.self))) } }
                i += cut
            }
            #expect(events.map(\.0) == ["endpoint", "message", "message"], "chunks of \(cut)")
            #expect(events.map(\.1) == ["/messages/?session_id=1", "{\"a\":\n1}", "ok"], "chunks of \(cut)")
            #expect(parser.dropped == 1)
        }
    }
}
