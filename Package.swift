// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "ToolAtlas",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "toolatlas", targets: ["toolatlas"]),
        .executable(name: "fixture-server", targets: ["fixture-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Value types shared by every stage: entries, tools, verdicts, findings, policies. No dependencies.
        .target(name: "AtlasModel"),
        // System libxml2, for strict XHTML/XSD validation of what we publish.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // Our own JSON-RPC session over a child's stdio or HTTP (Streamable and legacy SSE), both protocol eras,
        // bounded and time-limited.
        .target(name: "MCPClient", dependencies: [
            "AtlasModel",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Readers for catalogue/ files, registry server.json and API pages, client configs; launch plans.
        .target(name: "Catalogue", dependencies: ["AtlasModel"]),
        // Scheduling many scans at once, each sandboxed and with a deadline; uses MCPClient.
        .target(name: "Crawler", dependencies: ["AtlasModel", "MCPClient", "Catalogue"]),
        // Loads rules/ and decides category, risk, evidence and findings. Pure: no I/O beyond loading rules.
        // Patterns run on ICU's C API (Foundation's own ICU) so that a field's text is converted to UTF-16 once.
        // Byte classes of text 64 bytes at a time with SSE2 (a plain loop elsewhere), inlined into the tokenizer.
        .target(name: "CText"),
        .target(name: "Classifier", dependencies: ["AtlasModel", "CText", .product(name: "Yams", package: "Yams")],
                linkerSettings: [.linkedLibrary("_FoundationICU")]),
        // SQLite schema, migrations and queries (GRDB on the system libsqlite3).
        .target(name: "Store", dependencies: ["AtlasModel", .product(name: "GRDB", package: "GRDB.swift")]),
        // Policies, page models, templates from site-gen/, sitemap and exports; libxml2 checks.
        .target(name: "SiteGen", dependencies: [
            "AtlasModel", "CLibXML2",
        ]),
        // The jobs the CLI runs, one function per command, wiring the stages together.
        .target(name: "AtlasCore", dependencies: ["AtlasModel", "Catalogue", "Crawler", "Classifier", "Store", "SiteGen"]),
        // The thin command-line front end.
        .executableTarget(name: "toolatlas", dependencies: [
            "AtlasCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // An MCP server over stdio that serves tools from a JSON file and misbehaves on request.
        .executableTarget(name: "fixture-server"),
        .testTarget(name: "ToolAtlasTests", dependencies: [
            "AtlasModel", "MCPClient", "Catalogue", "Crawler", "Classifier", "CText", "Store", "SiteGen", "AtlasCore", "CLibXML2",
            // To write a database in an older schema and watch the store migrate it.
            .product(name: "GRDB", package: "GRDB.swift"),
            // Built before the tests, which run them as real processes.
            "toolatlas", "fixture-server",
        ], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
