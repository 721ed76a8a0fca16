import AtlasModel
import Foundation
import Testing

/// Where the package, its built executables and its bundled files are.
enum Fixtures {
    static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    /// The folder the test bundle was built into also holds the package's executables.
    static let binDir: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: dir.path + "/fixture-server") { return dir.path }
        }
        return packageRoot + "/.build/debug"
    }()
    static var fixtureServer: String { binDir + "/fixture-server" }
    static var toolatlas: String { binDir + "/toolatlas" }
    static var rules: String { packageRoot + "/rules" }
    static var templates: String { packageRoot + "/site-gen" }
    static var demoCatalogue: String { packageRoot + "/catalogue/demo" }
    static var corpus: String { packageRoot + "/../shared/corpus/tools.jsonl" }
    /// 3,374 tool definitions written by the team in the manner of real servers outside the corpus, labelled by our
    /// reading of the taxonomy (see the README).
    static var handmade: String { packageRoot + "/Tests/ToolAtlasTests/Fixtures/handmade-tools.jsonl" }
    static var luma: String { packageRoot + "/catalogue/demo/tools/mcp-luma.json" }
    static var venv: String { packageRoot + "/.venv-servers/bin" }

    static func tempDir(_ tag: String = "t") -> String {
        let p = NSTemporaryDirectory() + "toolatlas-test-\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// A catalogue entry that runs the fixture server with the luma tool list and extra switches.
    static func fixtureEntry(_ name: String = "fixture", _ extra: [String] = [], tools: String? = nil, env: [String: String] = [:]) -> ServerEntry {
        ServerEntry(name: name, source: "test", launch: LaunchPlan(argv: [fixtureServer, "--tools", tools ?? luma] + extra, environment: env))
    }

    /// Runs a program to completion and returns its exit status and output.
    @discardableResult
    static func run(_ program: String, _ args: [String], cwd: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
