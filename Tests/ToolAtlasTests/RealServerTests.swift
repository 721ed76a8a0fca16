import AtlasModel
import Crawler
import Foundation
import MCPClient
import Testing

/// Real MCP servers from PyPI, installed by scripts/setup-test-servers.sh (which .ci/run calls).
@Suite("Real PyPI servers", .serialized)
struct RealServerTests {
    static func bin(_ venv: String, _ name: String) throws -> String {
        let path = Fixtures.packageRoot + "/.venv-servers/\(venv)/bin/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SetupError(message: "\(path) is missing: run scripts/setup-test-servers.sh first")
        }
        return path
    }

    struct SetupError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    static let scanner: ServerScanner = {
        var limits = ChildLimits()
        limits.deadline = .seconds(60)
        return ServerScanner(childLimits: limits)
    }()

    @Test("mcp-server-time lists get_current_time and convert_time")
    func time() async throws {
        let e = ServerEntry(name: "time", source: "test", launch: LaunchPlan(argv: [try Self.bin("main", "mcp-server-time")]))
        let r = await Self.scanner.scan(e)
        #expect(r.status == .ok, "\(r.reason ?? "") \(r.stderrTail.suffix(400))")
        #expect(Set(r.tools.map(\.name)) == ["get_current_time", "convert_time"])
        #expect(r.protocolVersion != nil)
    }

    @Test("mcp-server-git on a throwaway repository lists its git tools")
    func git() async throws {
        let repo = Fixtures.tempDir("repo")
        try Fixtures.run("/usr/bin/git", ["init", "-q", repo])
        let e = ServerEntry(name: "git", source: "test", launch: LaunchPlan(argv: [try Self.bin("main", "mcp-server-git"), "--repository", repo]))
        let r = await Self.scanner.scan(e)
        #expect(r.status == .ok, "\(r.reason ?? "")")
        #expect(r.tools.contains { $0.name == "git_status" })
        #expect(r.tools.contains { $0.name == "git_commit" })
    }

    @Test("mcp-server-fetch lists fetch")
    func fetch() async throws {
        let e = ServerEntry(name: "fetch", source: "test", launch: LaunchPlan(argv: [try Self.bin("main", "mcp-server-fetch")]))
        let r = await Self.scanner.scan(e)
        #expect(r.status == .ok, "\(r.reason ?? "")")
        #expect(r.tools.map(\.name) == ["fetch"])
    }

    @Test("mcp-luma starts with a placeholder token and lists luma_get_task")
    func luma() async throws {
        let e = ServerEntry(name: "luma", source: "test",
                            launch: LaunchPlan(argv: [try Self.bin("luma", "mcp-luma")], environment: ["ACEDATACLOUD_API_TOKEN": "toolatlas-placeholder"]))
        let r = await Self.scanner.scan(e)
        #expect(r.status == .ok, "\(r.reason ?? "")")
        #expect(r.tools.contains { $0.name == "luma_get_task" })
    }

    @Test("mcp-luma without its token does not end as ok")
    func lumaWithoutToken() async throws {
        let e = ServerEntry(name: "luma", source: "test", launch: LaunchPlan(argv: [try Self.bin("luma", "mcp-luma")]))
        let r = await Self.scanner.scan(e)
        #expect(r.status != .ok || !r.tools.isEmpty)
    }
}
