import ArgumentParser
import AtlasCore
import AtlasModel
import Catalogue
import Classifier
import Crawler
import Foundation
import MCPClient
import SiteGen
import Store

@main
struct ToolAtlas: AsyncParsableCommand {
    static func main() async {
        _ = StdioTransport.ignoreSIGPIPE
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "toolatlas",
        abstract: "Scan MCP server catalogues, classify every tool by category and risk, and publish pages and starter policies.",
        subcommands: [Build.self, Scan.self, Classify.self, Site.self, Policy.self, CatalogueCommand.self, Rules.self, Explain.self, Findings.self, BenchCommand.self])
}

struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite database.") var db = "atlas.sqlite"
    @Option(help: "The folder of rule files (default: rules/ next to the working directory or the executable).") var rules: String?

    func store() throws -> Store { try Store(path: db) }
    func classifier() throws -> Classifier { try Classifier(directory: rules ?? RuleLoader.defaultRulesPath()) }
}

struct ScanOptions: ParsableArguments {
    @Option(help: "A catalogue file or folder, or a client config file (default: the servers already in the database, else the demo catalogue).")
    var catalogue: String?
    @Option(help: "How many servers to scan at once.") var jobs = Crawler.defaultJobs
    @Option(help: "Seconds a server gets from spawn to done.") var timeout = 60
    @Flag(help: "Skip servers whose latest scan ended ok.") var resume = false
    @Flag(help: "Scan only servers whose catalogue version changed since their last successful scan (or that never scanned ok).") var changed = false
    @Option(name: .customLong("server"), help: "Scan only these servers (repeatable).") var only: [String] = []
    @Flag(help: "Print no progress lines.") var quiet = false
    @Flag(help: "Let remote servers at loopback, private, link-local or cloud-metadata addresses be contacted (refused by default).")
    var allowPrivateAddresses = false

    func validate() throws {
        guard jobs >= 1 && jobs <= 256 else { throw ValidationError("--jobs must be between 1 and 256") }
        guard timeout >= 1 && timeout <= 3600 else { throw ValidationError("--timeout must be between 1 and 3600 seconds") }
    }

    func run(store: Store, progress: ProgressReporter) async throws -> ScanSummary {
        var entries: [ServerEntry]
        if let catalogue {
            let load = try await Jobs.importCatalogue(catalogue, store: store)
            for p in load.problems { progress.note("catalogue: \(p)") }
            entries = load.entries
        } else {
            entries = try store.servers()
            if entries.isEmpty {
                let load = try await Jobs.importCatalogue(CatalogueReader.defaultDemoPath(), store: store)
                for p in load.problems { progress.note("catalogue: \(p)") }
                entries = load.entries
            }
        }
        if changed {
            let todo = try store.serversChanged()
            entries = entries.filter { todo.contains($0.name) }
        }
        if !only.isEmpty {
            let missing = only.filter { n in !entries.contains { $0.name == n } }
            if !missing.isEmpty { throw ValidationError("not in the catalogue: \(missing.joined(separator: ", "))") }
            entries = entries.filter { only.contains($0.name) }
        }
        var limits = ChildLimits()
        limits.deadline = .seconds(timeout)
        var sandbox = Sandbox()
        sandbox.cpuSeconds = timeout + 5
        var scanner = ServerScanner(sandbox: sandbox, childLimits: limits)
        scanner.addressGuard = AddressGuard(allowPrivate: allowPrivateAddresses)
        let crawler = Crawler(scanner: scanner, jobs: jobs)
        return try await Jobs.scan(entries: entries, store: store, crawler: crawler, resume: resume, progress: progress)
    }
}

struct SiteOptions: ParsableArguments {
    @Option(help: "Where the site is written.") var out = "public"
    @Option(help: "The templates folder.") var templates: String?
    @Option(help: "The address the site will be served from (for sitemap.xml and llms.txt).") var baseURL = "https://toolatlas.example.org/"
}

func printScanTable(_ s: ScanSummary) {
    let w = max(6, s.results.map(\.server.count).max() ?? 6)
    print("server".padding(toLength: w, withPad: " ", startingAt: 0) + "  status               tools  reason")
    for r in s.results {
        print(r.server.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + r.status.rawValue.padding(toLength: 19, withPad: " ", startingAt: 0)
              + "  " + String(r.tools).padding(toLength: 5, withPad: " ", startingAt: 0) + "  " + (r.reason.map { String($0.prefix(100)) } ?? ""))
    }
    if !s.skipped.isEmpty { print("skipped (already ok): \(s.skipped.joined(separator: ", "))") }
    for p in s.problems { print("problem: \(p)") }
}

func printClassify(_ c: ClassifySummary) {
    print("classified \(c.tools) tools on \(c.servers) servers; \(c.findings) findings")
    print("  " + AtlasModel.Category.allCases.map { "\($0.rawValue) \(c.byCategory[$0] ?? 0)" }.joined(separator: ", "))
    print("  " + RiskLevel.allCases.map { "\($0.rawValue) \(c.byRisk[$0] ?? 0)" }.joined(separator: ", "))
}

struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Scan, classify and publish: the whole job (on the demo catalogue by default).")
    @OptionGroup var store: StoreOptions
    @OptionGroup var scan: ScanOptions
    @OptionGroup var site: SiteOptions

    func run() async throws {
        let db = try store.store()
        let classifier = try store.classifier()
        let progress = ProgressReporter(quiet: scan.quiet)
        let summary = try await scan.run(store: db, progress: progress)
        let c = try Jobs.classify(store: db, classifier: classifier)
        Memory.keepUntilExit = true
        let report = try Jobs.site(store: db, templates: site.templates ?? SiteGenerator.defaultTemplatesPath(), out: site.out, baseURL: site.baseURL)
        print("")
        printScanTable(summary)
        printClassify(c)
        print("site: \(report.pages) pages in \(site.out)/ (\(report.written) written, \(report.unchanged) unchanged, \(report.removed) removed)")
        print("database: \(store.db)")
        if !summary.results.isEmpty && summary.results.allSatisfy({ $0.status != .ok }) {
            FileHandle.standardError.write(Data("toolatlas: every server failed to scan\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Launch or reach each server, list its tools, and store the results.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var scan: ScanOptions

    func run() async throws {
        let db = try store.store()
        let summary = try await scan.run(store: db, progress: ProgressReporter(quiet: scan.quiet))
        printScanTable(summary)
        if !summary.results.isEmpty && summary.results.allSatisfy({ $0.status != .ok }) { throw ExitCode(2) }
    }
}

struct Classify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify every stored tool with the rules, or measure accuracy on a labelled corpus (--eval).")
    @OptionGroup var store: StoreOptions
    @Option(help: "A labelled corpus (JSON lines with id, server, tool, label) to measure accuracy on.") var eval: String?
    @Flag(help: "With --eval: print the metrics as one JSON object.") var json = false
    @Option(help: "With --eval: write every prediction (verdict, fired rules, evidence, findings) to this JSON-lines file.") var predictions: String?
    @Flag(help: "With --eval: list every tool the classifier got wrong.") var misses = false

    func run() async throws {
        let classifier = try store.classifier()
        if let eval {
            let report = try Evaluation.run(corpus: eval, classifier: classifier)
            for p in report.problems { FileHandle.standardError.write(Data("skipped: \(p)\n".utf8)) }
            if let predictions {
                let text = report.predictions.map { $0.canonical() }.joined(separator: "\n") + "\n"
                try text.write(toFile: predictions, atomically: true, encoding: .utf8)
            }
            if json { print(report.json.canonical()) } else { print(report.text, terminator: "") }
            if misses {
                for m in report.misses {
                    print("\(m.id): label \(m.expected.0.rawValue)/\(m.expected.1.rawValue), got \(m.predicted.0.rawValue)/\(m.predicted.1.rawValue) [\(m.rules.joined(separator: " "))]")
                    for e in m.evidence { print("    \(e.rule) (\(e.effect)) \(e.field): \(String(e.fragment.prefix(100)).debugDescription)") }
                }
            }
            return
        }
        printClassify(try Jobs.classify(store: try store.store(), classifier: classifier))
    }
}

struct Site: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the static site from the database.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var site: SiteOptions

    func run() async throws {
        Timings.mark("command line read")
        Memory.keepUntilExit = true
        let report = try Jobs.site(store: try store.store(), templates: site.templates ?? SiteGenerator.defaultTemplatesPath(), out: site.out, baseURL: site.baseURL)
        print("site: \(report.pages) pages in \(site.out)/ (\(report.written) written, \(report.unchanged) unchanged, \(report.removed) removed)")
        Timings.mark("done")
    }
}

extension PolicyExport.Format: ExpressibleByArgument {}

struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print starter policies.",
                                                    subcommands: [Export.self], defaultSubcommand: Export.self)
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export the starter policy of one server or of the whole catalogue.")
        @OptionGroup var store: StoreOptions
        @Option(help: "One server (default: all).") var server: String?
        @Option(help: "json, intercept, claude or codex.") var format: PolicyExport.Format = .json
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let text = try Jobs.policy(store: try store.store(), server: server, format: format)
            if let output { try text.write(toFile: output, atomically: true, encoding: .utf8) } else { print(text, terminator: "") }
        }
    }
}

struct CatalogueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalogue", abstract: "Import and list server catalogues.",
                                                    subcommands: [Import.self, List.self])
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a catalogue file or folder, or a client config file, into the database.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "A catalogue file or folder, a client config, a registry server.json or saved list page, or a registry address (https://…).")
        var source: String
        @Option(help: "With a registry address: only servers matching this search.") var search: String?
        @Option(help: "With a registry address: only servers updated since this RFC 3339 time (an incremental sync that also sees deletions).")
        var updatedSince: String?
        func run() async throws {
            let load = try await Jobs.importCatalogue(source, store: try store.store(), search: search, updatedSince: updatedSince)
            print("imported \(load.entries.count) servers from \(source)")
            for p in load.problems { print("skipped: \(p)") }
            for e in load.entries where !e.launch.notes.isEmpty { print("\(e.name): " + e.launch.notes.joined(separator: "; ")) }
        }
    }
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the servers in the database with their launch plans.")
        @OptionGroup var store: StoreOptions
        func run() async throws {
            for e in try store.store().servers() { print("\(e.name)\t\(e.launch.displayCommand)") }
        }
    }
}

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the rules, or run every rule's examples.", subcommands: [List.self, Test.self])
    struct List: AsyncParsableCommand {
        @OptionGroup var store: StoreOptions
        func run() async throws {
            for r in try store.classifier().rules.sorted(by: { $0.id < $1.id }) {
                let what = r.category.map { "\($0.rawValue)" + (r.risk.map { "/\($0.rawValue)" } ?? "") } ?? r.risk.map { "risk \($0.rawValue)" } ?? r.severity.map { "finding \($0.rawValue)" } ?? ""
                print("\(r.id)\t\(r.stage.rawValue)\t\(what)\t\(r.summary)")
            }
        }
    }
    struct Test: AsyncParsableCommand {
        @OptionGroup var store: StoreOptions
        func run() async throws {
            let c = try store.classifier()
            let report = RuleExamplesRunner.run(c)
            for f in report.failures { print("FAIL \(f)") }
            for m in report.knownMisses { print("known miss: \(m)") }
            print("\(report.passed) passed, \(report.failures.count) failed")
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }
}

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a tool's verdict with its evidence.")
    @OptionGroup var store: StoreOptions
    @Argument var server: String
    @Argument var tool: String
    func run() async throws {
        let db = try store.store()
        guard let t = try db.currentTools()[server]?.first(where: { $0.tool.name == tool })?.tool else {
            throw ValidationError("no tool \(tool) on server \(server) in \(store.db)")
        }
        let r = try store.classifier().classify(t, server: server)
        print("\(server) / \(tool): \(r.verdict.category.rawValue), \(r.verdict.risk.rawValue) risk (confidence \(r.verdict.confidence.rawValue))")
        for e in r.verdict.evidence { print("  \(e.rule): \(e.effect)" + (e.fragment.isEmpty ? "" : " ← \(e.field): \"\(e.fragment)\"")) }
        for f in r.findings { print("  finding [\(f.severity.rawValue)] \(f.rule): \(f.title) ← \(f.field): \"\(f.fragment)\"") }
        let rule = PolicyRule.starter(category: r.verdict.category, risk: r.verdict.risk)
        print("policy: \(PolicyDocument.json(tools: [(tool, rule)]).canonical())")
    }
}

struct Findings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List stored security findings; usable as a CI gate.")
    @OptionGroup var store: StoreOptions
    @Option(help: "table, json or sarif.") var format = "table"
    @Flag(help: "Same as --format json.") var json = false
    @Option(help: "Exit 1 when a finding of at least this severity exists (info, low, medium, high, critical).") var failOn: String?

    func run() async throws {
        let db = try store.store()
        var all: [(String, Finding)] = []
        for (s, ts) in try db.classifiedTools() { for t in ts { all += t.findings.map { (s, $0) } } }
        for (s, fs) in try db.serverFindings() { all += fs.map { (s, $0) } }
        // Most severe first (a changed definition that now raises findings is critical), then by place.
        all.sort {
            if $0.1.severity != $1.1.severity { return $0.1.severity > $1.1.severity }
            return ($0.0, $0.1.tool ?? "", $0.1.rule, $0.1.fragment) < ($1.0, $1.1.tool ?? "", $1.1.rule, $1.1.fragment)
        }
        switch json ? "json" : format {
        case "json":
            print(JSONValue.array(all.map { (s, f) in
                ["server": .string(s), "tool": f.tool.map(JSONValue.string) ?? .null, "rule": .string(f.rule), "severity": .string(f.severity.rawValue),
                 "title": .string(f.title), "field": .string(f.field), "fragment": .string(f.fragment)]
            }).pretty())
        case "sarif": print(Sarif.document(all).pretty())
        case "table":
            for (s, f) in all { print("\(f.severity.rawValue)\t\(s)\t\(f.tool ?? "(server)")\t\(f.rule)\t\(f.fragment.prefix(80))") }
            print("\(all.count) findings")
        default: throw ValidationError("--format must be table, json or sarif")
        }
        if let failOn {
            guard let level = Severity(rawValue: failOn) else { throw ValidationError("--fail-on takes info, low, medium, high or critical") }
            if all.contains(where: { $0.1.severity >= level }) { throw ExitCode(1) }
        }
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Print speed and memory figures (classify, site, scan, parse).")
    @Argument(help: "classify, site, scan or parse.") var what: String
    @Option(help: "Labelled corpus whose tools are repeated.") var corpus = "../shared/corpus/tools.jsonl"
    @Option(help: "The rules folder.") var rules: String?
    @Option(help: "The templates folder.") var templates: String?
    @Option(help: "How many tools (classify, site).") var tools = 31_000
    @Option(help: "How many servers (site, scan).") var servers = 4_600
    @Option(help: "Tools per server (scan).") var toolsPerServer = 50
    @Option(help: "Concurrent scans (scan).") var jobs = 4
    @Option(help: "Size in bytes (parse).") var bytes = 1_000_000
    @Option(help: "Scratch folder (site).") var work = NSTemporaryDirectory() + "toolatlas-bench"

    func run() async throws {
        switch what {
        case "classify": print(try Bench.classify(corpus: corpus, rules: rules ?? RuleLoader.defaultRulesPath(), count: tools), terminator: "")
        case "site": print(try Bench.site(corpus: corpus, rules: rules ?? RuleLoader.defaultRulesPath(),
                                          templates: templates ?? SiteGenerator.defaultTemplatesPath(), count: tools, servers: servers, work: work), terminator: "")
        case "scan":
            let sandbox = Sandbox()
            guard let fixture = sandbox.resolve("fixture-server") else { throw ValidationError("fixture-server is not built next to toolatlas") }
            let toolsFile = work + "-empty-tools.json"
            try "{\"tools\": []}".write(toFile: toolsFile, atomically: true, encoding: .utf8)
            print(try await Bench.scan(fixture: fixture, toolsFile: toolsFile, servers: servers, tools: toolsPerServer, jobs: jobs), terminator: "")
        case "parse": print(try Bench.parse(bytes: bytes), terminator: "")
        default: throw ValidationError("bench takes classify, site, scan or parse")
        }
    }
}
