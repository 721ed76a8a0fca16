import AtlasModel
import Foundation
import GRDB
import GRDBSQLite

/// Why the database could not do what was asked, with the file.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// A stored scan: what happened when one server was scanned once.
public struct StoredScan: Sendable {
    public var id: Int64
    public var server: String
    public var startedAt: Date
    public var durationMs: Int
    public var status: ScanStatus
    public var reason: String?
    public var era: String?
    public var protocolVersion: String?
    public var serverInfo: JSONValue?
    public var instructions: String?
    public var toolCount: Int
    public var stderrTail: String
}

/// One change between two scans of a server.
public struct ToolChange: Sendable, Hashable {
    public enum Kind: String, Sendable { case added, removed, changed }
    public var scanID: Int64
    public var server: String
    public var tool: String
    public var kind: Kind
    public var detail: String
    public var at: Date
}

/// A classified tool as stored.
public struct StoredTool: Sendable {
    public var server: String
    public var tool: Tool
    public var hash: String
    public var verdict: Verdict?
    public var findings: [Finding]
}

/// SQLite through GRDB: servers, scans, tool definitions per scan, verdicts, findings and changes, with history.
/// Every write is one transaction, so a crash or a full disk leaves the last good state.
public final class Store: Sendable {
    public static let schemaVersion = 1
    let db: DatabasePool
    public let path: String

    public init(path: String) throws(StoreError) {
        self.path = path
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            db = try DatabasePool(path: path, configuration: config)
            try Store.migrator.migrate(db)
        } catch {
            throw StoreError(path: path, message: "cannot open the database: \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE servers (
                    name TEXT PRIMARY KEY, title TEXT, description TEXT, version TEXT, package TEXT,
                    source TEXT NOT NULL, launch TEXT NOT NULL, notes TEXT);
                CREATE TABLE scans (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, server TEXT NOT NULL REFERENCES servers(name),
                    started_at REAL NOT NULL, duration_ms INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT,
                    era TEXT, protocol_version TEXT, server_info TEXT, capabilities TEXT, instructions TEXT,
                    pages INTEGER NOT NULL, pagination_note TEXT, junk_lines INTEGER NOT NULL, stderr_tail TEXT NOT NULL,
                    tool_errors TEXT NOT NULL, prompts TEXT NOT NULL, resources TEXT NOT NULL, tool_count INTEGER NOT NULL);
                CREATE INDEX scans_by_server ON scans(server, id);
                CREATE TABLE tools (
                    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE, server TEXT NOT NULL, name TEXT NOT NULL,
                    definition TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (scan_id, name));
                CREATE TABLE verdicts (
                    server TEXT NOT NULL, tool TEXT NOT NULL, hash TEXT NOT NULL, category TEXT NOT NULL, risk TEXT NOT NULL,
                    confidence TEXT NOT NULL, evidence TEXT NOT NULL, rules TEXT NOT NULL, PRIMARY KEY (server, tool));
                CREATE TABLE findings (
                    server TEXT NOT NULL, tool TEXT, rule TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL,
                    field TEXT NOT NULL, fragment TEXT NOT NULL);
                CREATE INDEX findings_by_server ON findings(server);
                CREATE TABLE changes (
                    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE, server TEXT NOT NULL, tool TEXT NOT NULL,
                    kind TEXT NOT NULL, detail TEXT NOT NULL);
                """)
        }
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE servers ADD COLUMN registry_status TEXT;
                ALTER TABLE scans ADD COLUMN server_version TEXT;
                """)
        }
        // Tools are listed apart from their definitions, with their descriptions, and each verdict carries a digest:
        // the site lists every tool and tells which pages changed without reading a definition or any evidence.
        m.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE tool_list (
                    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE, server TEXT NOT NULL, name TEXT NOT NULL,
                    hash TEXT NOT NULL, description TEXT NOT NULL, PRIMARY KEY (scan_id, name));
                CREATE TABLE tool_definitions (
                    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE, name TEXT NOT NULL, definition TEXT NOT NULL,
                    PRIMARY KEY (scan_id, name));
                INSERT INTO tool_definitions(scan_id, name, definition) SELECT scan_id, name, definition FROM tools;
                ALTER TABLE verdicts ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
                """)
            let rows = try Row.fetchCursor(db, sql: "SELECT scan_id, server, name, hash, definition FROM tools")
            while let r = try rows.next() {
                let definition: String = r[4]
                try db.execute(sql: "INSERT INTO tool_list(scan_id, server, name, hash, description) VALUES (?,?,?,?,?)",
                               arguments: [r[0] as Int64, r[1] as String, r[2] as String, r[3] as String,
                                           JSONValue.member("description", of: definition.utf8)?.stringValue ?? ""])
            }
            try db.execute(sql: "DROP TABLE tools; ALTER TABLE tool_list RENAME TO tools;")
            for r in try Row.fetchAll(db, sql: "SELECT rowid, hash, category, risk, confidence, evidence FROM verdicts") {
                try db.execute(sql: "UPDATE verdicts SET digest = ? WHERE rowid = ?",
                               arguments: [Store.verdictDigest(hash: r[1], category: r[2], risk: r[3], confidence: r[4], evidence: r[5]), r[0] as Int64])
            }
        }
        return m
    }

    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try db.write(body) } catch { throw StoreError(path: path, message: "\(what) failed, nothing was written: \(error)") }
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try db.read(body) } catch { throw StoreError(path: path, message: "\(what) failed: \(error)") }
    }

    static func json(_ v: some Encodable) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }

    // MARK: servers

    public func upsert(servers entries: [ServerEntry]) throws(StoreError) {
        try write("saving the catalogue") { db in
            for e in entries { try Store.upsert(e, db) }
        }
    }

    static func upsert(_ e: ServerEntry, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO servers(name, title, description, version, package, source, launch, notes, registry_status) VALUES (?,?,?,?,?,?,?,?,?)
            ON CONFLICT(name) DO UPDATE SET title=excluded.title, description=excluded.description, version=excluded.version,
              package=excluded.package, source=excluded.source, launch=excluded.launch, notes=excluded.notes, registry_status=excluded.registry_status
            """, arguments: [e.name, e.title, e.description, e.version, e.package, e.source, json(e.launch), e.notes, e.registryStatus])
    }

    public func servers() throws(StoreError) -> [ServerEntry] {
        try read("reading servers") { db in
            var out: [ServerEntry] = []
            try Store.each(try db.makeStatement(sql: """
                SELECT name, title, description, version, package, source, launch, notes, registry_status FROM servers
                WHERE registry_status IS NULL OR registry_status != 'deleted' ORDER BY name
                """)) { c in
                out.append(ServerEntry(name: c.text(0), title: c.optionalText(1), description: c.optionalText(2), version: c.optionalText(3),
                                       package: c.optionalText(4), source: c.text(5),
                                       launch: (try? JSONValue.parse(c.text(6))).flatMap(LaunchPlan.init(json:)) ?? LaunchPlan(),
                                       notes: c.optionalText(7), registryStatus: c.optionalText(8)))
            }
            return out
        }
    }

    /// Entries a registry sync reported deleted: kept with their history, no longer scanned or published.
    public func markDeleted(_ names: [String]) throws(StoreError) {
        try write("marking deleted servers") { db in
            for n in names { try db.execute(sql: "UPDATE servers SET registry_status = 'deleted' WHERE name = ?", arguments: [n]) }
        }
    }

    /// Servers whose catalogue version differs from the one their last successful scan saw, or that never scanned ok.
    public func serversChanged() throws(StoreError) -> Set<String> {
        try read("reading scans") { db in
            Set(try String.fetchAll(db, sql: """
                SELECT s.name FROM servers s WHERE NOT EXISTS (
                  SELECT 1 FROM scans c WHERE c.server = s.name AND c.status = 'ok' AND c.server_version IS s.version
                    AND c.id = (SELECT max(id) FROM scans WHERE server = s.name AND status = 'ok'))
                """))
        }
    }

    // MARK: scans

    /// Stores one finished scan with its tools and the changes since the server's previous scan that had tools, in one transaction.
    @discardableResult
    public func record(_ entry: ServerEntry, _ r: ScanResult) throws(StoreError) -> Int64 {
        try write("saving the scan of \(entry.name)") { db in
            try Store.upsert(entry, db)
            let previous = try Store.lastScanWithTools(server: entry.name, db)
            try db.execute(sql: """
                INSERT INTO scans(server, started_at, duration_ms, status, reason, era, protocol_version, server_info, capabilities,
                  instructions, pages, pagination_note, junk_lines, stderr_tail, tool_errors, prompts, resources, tool_count, server_version)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, arguments: [entry.name, r.startedAt.timeIntervalSince1970, r.durationMs, r.status.rawValue, r.reason, r.era, r.protocolVersion,
                                 r.serverInfo?.canonical(), r.capabilities?.canonical(), r.instructions, r.pages, r.paginationNote, r.junkLines,
                                 r.stderrTail, Store.json(r.toolErrors), Store.json(r.prompts), Store.json(r.resources), r.tools.count, entry.version])
            let id = db.lastInsertedRowID
            var seen = Set<String>()
            for t in r.tools where seen.insert(t.name).inserted {
                try db.execute(sql: "INSERT INTO tools(scan_id, server, name, hash, description) VALUES (?,?,?,?,?)",
                               arguments: [id, entry.name, t.name, t.definitionHash, t.description])
                try db.execute(sql: "INSERT INTO tool_definitions(scan_id, name, definition) VALUES (?,?,?)", arguments: [id, t.name, t.raw.canonical()])
            }
            if let prev = previous, !r.tools.isEmpty {
                let old = try Store.tools(scan: prev, db)
                for c in Drift.changes(old: old, new: r.tools) {
                    try db.execute(sql: "INSERT INTO changes(scan_id, server, tool, kind, detail) VALUES (?,?,?,?,?)",
                                   arguments: [id, entry.name, c.tool, c.kind.rawValue, c.detail])
                }
            }
            return id
        }
    }

    /// The scans whose tools are current: each server's latest scan that returned tools (of the servers `condition` picks).
    static func currentScans(_ condition: String = "") -> String {
        "SELECT max(id) FROM scans WHERE tool_count > 0\(condition.isEmpty ? "" : " AND " + condition) GROUP BY server"
    }

    static func lastScanWithTools(server: String, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM scans WHERE server = ? AND tool_count > 0 ORDER BY id DESC LIMIT 1", arguments: [server])
    }

    static func tools(scan: Int64, _ db: Database) throws -> [Tool] {
        try Row.fetchAll(db, sql: "SELECT definition FROM tool_definitions WHERE scan_id = ? ORDER BY name", arguments: [scan]).compactMap { row in
            guard let v = try? JSONValue.parse(row["definition"] as String) else { return nil }
            return try? Tool(json: v)
        }
    }

    /// The latest scan of every server, by server name.
    public func latestScans() throws(StoreError) -> [StoredScan] {
        try read("reading scans") { db in
            try Store.scans(db, "id IN (SELECT max(id) FROM scans GROUP BY server) ORDER BY server")
        }
    }

    public func scans(server: String) throws(StoreError) -> [StoredScan] {
        try read("reading scans") { db in try Store.scans(db, "server = ? ORDER BY id", [server]) }
    }

    /// Scans that meet a condition, with the columns a scan record reads.
    static func scans(_ db: Database, _ condition: String, _ arguments: StatementArguments = []) throws -> [StoredScan] {
        let statement = try db.makeStatement(sql: """
            SELECT id, server, started_at, duration_ms, status, reason, era, protocol_version, server_info, instructions, tool_count, stderr_tail
            FROM scans WHERE \(condition)
            """)
        try statement.setArguments(arguments)
        var out: [StoredScan] = []
        try each(statement) { c in
            out.append(StoredScan(id: c.int(0), server: c.text(1), startedAt: Date(timeIntervalSince1970: c.double(2)), durationMs: Int(c.int(3)),
                                  status: ScanStatus(rawValue: c.text(4)) ?? .crashed, reason: c.optionalText(5), era: c.optionalText(6),
                                  protocolVersion: c.optionalText(7), serverInfo: c.optionalText(8).flatMap { try? JSONValue.parse($0) },
                                  instructions: c.optionalText(9), toolCount: Int(c.int(10)), stderrTail: c.text(11)))
        }
        return out
    }

    /// Servers whose latest scan ended ok; `--resume` skips these.
    public func serversDone() throws(StoreError) -> Set<String> {
        try read("reading scans") { db in
            Set(try String.fetchAll(db, sql: "SELECT server FROM scans WHERE id IN (SELECT max(id) FROM scans GROUP BY server) AND status = 'ok'"))
        }
    }

    /// The current tool list of each server: from its latest scan that returned tools.
    public func currentTools() throws(StoreError) -> [String: [(tool: Tool, hash: String)]] {
        try read("reading tools") { db in
            var out: [String: [(Tool, String)]] = [:]
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT t.server, d.definition, t.hash FROM tools t JOIN tool_definitions d ON d.scan_id = t.scan_id AND d.name = t.name
                WHERE t.scan_id IN (\(Store.currentScans()))
                ORDER BY t.server, t.name
                """)
            // Parsing the definitions is most of the work: on every core, a batch at a time, so that the JSON text of
            // the whole catalogue is never held at once.
            var batch: [(server: String, definition: String, hash: String)] = []
            func parse() {
                let parsed = batch.map(\.definition).concurrentMap(chunk: 128) { (try? JSONValue.parse($0)).flatMap { try? Tool(json: $0) } }
                for (i, row) in batch.enumerated() {
                    guard let t = parsed[i] else { continue }
                    out[row.server, default: []].append((t, row.hash))
                }
                batch.removeAll(keepingCapacity: true)
            }
            while let row = try cursor.next() {
                batch.append((row[0], row[1], row[2]))
                if batch.count == 2048 { parse() }
            }
            parse()
            return out
        }
    }

    /// Every server's changes at once, for the site.
    public func allChanges() throws(StoreError) -> [String: [ToolChange]] {
        try read("reading changes") { db in
            var out: [String: [ToolChange]] = [:]
            for r in try Row.fetchAll(db, sql: """
                SELECT c.*, s.started_at FROM changes c JOIN scans s ON s.id = c.scan_id ORDER BY c.server, c.scan_id, c.tool
                """) {
                out[r["server"], default: []].append(ToolChange(scanID: r["scan_id"], server: r["server"], tool: r["tool"],
                                                                kind: ToolChange.Kind(rawValue: r["kind"]) ?? .changed,
                                                                detail: r["detail"], at: Date(timeIntervalSince1970: r["started_at"])))
            }
            return out
        }
    }

    public func changes(server: String) throws(StoreError) -> [ToolChange] {
        try read("reading changes") { db in
            try Row.fetchAll(db, sql: """
                SELECT c.*, s.started_at FROM changes c JOIN scans s ON s.id = c.scan_id WHERE c.server = ? ORDER BY c.scan_id, c.tool
                """, arguments: [server]).map { r in
                ToolChange(scanID: r["scan_id"], server: r["server"], tool: r["tool"], kind: ToolChange.Kind(rawValue: r["kind"]) ?? .changed,
                           detail: r["detail"], at: Date(timeIntervalSince1970: r["started_at"]))
            }
        }
    }

    // MARK: verdicts

    /// Replaces the verdicts and findings of one server.
    public func saveClassification(server: String, _ items: [(tool: Tool, hash: String, verdict: Verdict, rules: [String], findings: [Finding])],
                                   serverFindings: [Finding] = []) throws(StoreError) {
        try write("saving verdicts for \(server)") { db in
            try db.execute(sql: "DELETE FROM verdicts WHERE server = ?", arguments: [server])
            try db.execute(sql: "DELETE FROM findings WHERE server = ?", arguments: [server])
            for i in items {
                let v = i.verdict, evidence = Store.json(v.evidence)
                let digest = Store.verdictDigest(hash: i.hash, category: v.category.rawValue, risk: v.risk.rawValue, confidence: v.confidence.rawValue, evidence: evidence)
                try db.execute(sql: """
                    INSERT OR REPLACE INTO verdicts(server, tool, hash, category, risk, confidence, evidence, rules, digest) VALUES (?,?,?,?,?,?,?,?,?)
                    """, arguments: [server, i.tool.name, i.hash, v.category.rawValue, v.risk.rawValue, v.confidence.rawValue, evidence, Store.json(i.rules), digest])
                for f in i.findings { try Store.insert(f, server: server, db) }
            }
            for f in serverFindings { try Store.insert(f, server: server, db) }
        }
    }

    /// A digest of what a verdict row says about its tool (the definition's hash, the verdict and its evidence as stored).
    static func verdictDigest(hash: String, category: String, risk: String, confidence: String, evidence: String) -> Int64 {
        var h = Fingerprint(seed: 0)
        for v in [hash, category, risk, confidence, evidence] { h.add(v) }
        return Int64(bitPattern: h.value)
    }

    static func insert(_ f: Finding, server: String, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO findings(server, tool, rule, severity, title, field, fragment) VALUES (?,?,?,?,?,?,?)",
                       arguments: [server, f.tool, f.rule, f.severity.rawValue, f.title, f.field, f.fragment])
    }

    /// Every current tool with its stored verdict and findings, by server.
    public func classifiedTools() throws(StoreError) -> [String: [StoredTool]] {
        let current = try currentTools()
        let (verdicts, findings) = try verdictsAndFindings()
        var out: [String: [StoredTool]] = [:]
        for (server, tools) in current {
            out[server] = tools.map { t in
                let key = Store.toolKey(server, t.tool.name)
                return StoredTool(server: server, tool: t.tool, hash: t.hash, verdict: verdicts[key], findings: findings[key] ?? [])
            }
        }
        return out
    }

    /// A current, classified tool as the site lists it: no definition and no evidence (read only for the pages that
    /// show them, with `details(servers:)`).
    public struct ListedTool: Sendable {
        public var name: String
        /// The first sentence of its description (`Summary.firstSentence`): all that lists show of it.
        public var summary: String
        public var category: AtlasModel.Category
        public var risk: RiskLevel
        public var confidence: Confidence
        /// Changes whenever the definition, the verdict or its evidence does.
        public var digest: UInt64
        public var findings: [Finding]
    }

    /// Every current tool that has a verdict, with its findings, by server, in name order (by bytes): the whole site's
    /// list of tools. The labels and the tool list are read side by side on two connections and joined here (a join in
    /// SQLite looks up every verdict through its index and costs more); columns are read straight from the statement.
    public func listedTools() throws(StoreError) -> [String: [ListedTool]] {
        let parts = [0, 1].concurrentMap(chunk: 1) { part in
            Result { () throws(StoreError) -> Listing in part == 0 ? .labels(try labels(), try toolFindings()) : .tools(try currentToolList()) }
        }
        guard case .labels(let labels, let findings) = try parts[0].get(), case .tools(let tools) = try parts[1].get() else { return [:] }
        // Joined a few hundred servers at a time on every core.
        let joined = tools.concurrentMap(chunk: 256) { (server, list) -> (String, [ListedTool]) in
            guard let mine = labels[server] else { return (server, []) }
            return (server, list.compactMap { t -> ListedTool? in
                guard let l = mine[t.name] else { return nil }
                return ListedTool(name: t.name, summary: t.summary, category: l.category, risk: l.risk, confidence: l.confidence,
                                  digest: l.digest, findings: findings.isEmpty ? [] : findings[Store.toolKey(server, t.name)] ?? [])
            })
        }
        var out: [String: [ListedTool]] = [:]
        out.reserveCapacity(joined.count)
        for (server, listed) in joined where !listed.isEmpty { out[server, default: []] += listed }
        return out
    }

    struct Label { var category: AtlasModel.Category; var risk: RiskLevel; var confidence: Confidence; var digest: UInt64 }
    enum Listing {
        case labels([String: [String: Label]], [String: [Finding]])
        case tools([(server: String, tools: [(name: String, summary: String)])])
    }

    /// Every verdict's label and digest, by server and tool. Rows come a server at a time: each server is looked up once.
    func labels() throws(StoreError) -> [String: [String: Label]] {
        try read("reading verdicts") { db in
            var labels: [String: [String: Label]] = [:]
            var server = "", group: [String: Label] = [:]
            try Store.each(try db.makeStatement(sql: "SELECT server, tool, category, risk, confidence, digest FROM verdicts")) { c in
                guard let category = c.value(2, AtlasModel.Category.self), let risk = c.value(3, RiskLevel.self) else { return }
                if !c.equals(0, server) {
                    if !group.isEmpty { labels[server] = group }
                    server = c.text(0); group = labels.removeValue(forKey: server) ?? [:]
                }
                group[c.text(1)] = Label(category: category, risk: risk, confidence: c.value(4, Confidence.self) ?? .low, digest: UInt64(bitPattern: c.int(5)))
            }
            if !group.isEmpty { labels[server] = group }
            return labels
        }
    }

    /// Each server's current tools (name, first sentence of the description), from its latest scan that returned tools,
    /// in name order. The first sentence is cut from the column's bytes: the whole description never becomes a string.
    func currentToolList() throws(StoreError) -> [(server: String, tools: [(name: String, summary: String)])] {
        try read("reading tools") { db in
            var out: [(server: String, tools: [(name: String, summary: String)])] = []
            // In key order (free: it is the order of the key's index), so each server's tools come together, in name order.
            let statement = try db.makeStatement(sql: """
                SELECT server, name, description FROM tools
                WHERE scan_id IN (\(Store.currentScans())) ORDER BY scan_id, name
                """)
            try Store.each(statement) { c in
                if out.last.map({ !c.equals(0, $0.server) }) ?? true { out.append((c.text(0), [])) }
                out[out.count - 1].tools.append((c.text(1), c.summary(2)))
            }
            return out
        }
    }

    /// The current row's columns, read with SQLite's own functions.
    struct Columns {
        let statement: SQLiteStatement
        /// A text column's bytes, read in place (valid until the statement steps); nil for NULL.
        func bytes(_ i: Int32) -> UnsafeBufferPointer<UInt8>? {
            guard let p = sqlite3_column_text(statement, i) else { return nil }
            return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(statement, i)))
        }
        func text(_ i: Int32) -> String { bytes(i).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        func int(_ i: Int32) -> Int64 { sqlite3_column_int64(statement, i) }
        func double(_ i: Int32) -> Double { sqlite3_column_double(statement, i) }
        /// The first sentence of a text column, cut from its bytes.
        func summary(_ i: Int32) -> String { bytes(i).map(Summary.firstSentence(utf8:)) ?? "" }
        func optionalText(_ i: Int32) -> String? { sqlite3_column_type(statement, i) == SQLITE_NULL ? nil : text(i) }
        /// Whether a column holds exactly this text (compared as bytes: no string is made).
        func equals(_ i: Int32, _ s: String) -> Bool {
            guard let b = bytes(i) else { return s.isEmpty }
            var s = s
            return s.withUTF8 { $0.count == b.count && (b.count == 0 || memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0) }
        }
        /// The case of a string enum a column names (compared as bytes).
        func value<E: CaseIterable & RawRepresentable>(_ i: Int32, _: E.Type) -> E? where E.RawValue == String {
            E.allCases.first { equals(i, $0.rawValue) }
        }
    }

    /// Steps through a statement's rows.
    static func each(_ statement: Statement, _ body: (Columns) throws -> Void) throws {
        let c = Columns(statement: statement.sqliteStatement)
        while true {
            let code = sqlite3_step(statement.sqliteStatement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "reading rows") }
            try body(c)
        }
    }

    /// The details of these servers' current, classified tools: server, then tool name.
    public func details(servers: [String]) throws(StoreError) -> [String: [String: ToolDetails]] {
        guard !servers.isEmpty else { return [:] }
        return try read("reading definitions") { db in
            var out: [String: [String: ToolDetails]] = [:]
            // Bound parameters, a few hundred at a time (SQLite caps their number).
            for start in stride(from: 0, to: servers.count, by: 500) {
                let part = Array(servers[start..<min(servers.count, start + 500)])
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT t.server, t.name, d.definition, v.evidence FROM tools t
                    JOIN tool_definitions d ON d.scan_id = t.scan_id AND d.name = t.name JOIN verdicts v ON v.server = t.server AND v.tool = t.name
                    WHERE t.scan_id IN (\(Store.currentScans("server IN (\(marks))")))
                    """, arguments: StatementArguments(part))
                while let r = try cursor.next() { out[r[0], default: [:]][r[1]] = ToolDetails(definition: r[2], evidenceJSON: r[3]) }
            }
            return out
        }
    }

    /// The key of a server's tool in the maps below.
    static func toolKey(_ server: String, _ tool: String) -> String { server + "\u{0}" + tool }

    /// Stored verdicts and tool findings, keyed by `toolKey`.
    func verdictsAndFindings() throws(StoreError) -> ([String: Verdict], [String: [Finding]]) {
        (try read("reading verdicts") { db in
            var rows: [(key: String, category: AtlasModel.Category, risk: RiskLevel, confidence: Confidence, evidence: String)] = []
            for r in try Row.fetchAll(db, sql: "SELECT server, tool, category, risk, confidence, evidence FROM verdicts") {
                guard let c = AtlasModel.Category(rawValue: r[2]), let k = RiskLevel(rawValue: r[3]) else { continue }
                rows.append((Store.toolKey(r[0], r[1]), c, k, Confidence(rawValue: r[4]) ?? .low, r[5]))
            }
            // The evidence is JSON: parsed on every core.
            let evidence = rows.map(\.evidence).concurrentMap(chunk: 512) { Evidence.list(json: $0) }
            var verdicts: [String: Verdict] = [:]
            verdicts.reserveCapacity(rows.count)
            for (i, r) in rows.enumerated() {
                verdicts[r.key] = Verdict(category: r.category, risk: r.risk, confidence: r.confidence, evidence: evidence[i])
            }
            return verdicts
        }, try toolFindings())
    }

    /// Findings about single tools, keyed by `toolKey`, in a fixed order.
    func toolFindings() throws(StoreError) -> [String: [Finding]] {
        try read("reading findings") { db in
            var findings: [String: [Finding]] = [:]
            try Store.each(try db.makeStatement(sql: """
                SELECT server, tool, rule, severity, title, field, fragment FROM findings WHERE tool IS NOT NULL
                ORDER BY server, tool, rule, field, fragment
                """)) { c in
                let tool = c.text(1)
                let f = Finding(rule: c.text(2), severity: Severity(rawValue: c.text(3)) ?? .info, title: c.text(4), tool: tool, field: c.text(5), fragment: c.text(6))
                findings[Store.toolKey(c.text(0), tool), default: []].append(f)
            }
            return findings
        }
    }

    /// Findings about a server as a whole (its instructions, shadowing across servers).
    public func serverFindings() throws(StoreError) -> [String: [Finding]] {
        try read("reading findings") { db in
            var out: [String: [Finding]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM findings WHERE tool IS NULL ORDER BY server, rule, fragment") {
                out[r["server"], default: []].append(Finding(rule: r["rule"], severity: Severity(rawValue: r["severity"]) ?? .info, title: r["title"],
                                                            tool: nil, field: r["field"], fragment: r["fragment"]))
            }
            return out
        }
    }
}

/// What changed in a server's tool list between two scans.
public enum Drift {
    public struct Change: Sendable, Hashable {
        public var tool: String
        public var kind: ToolChange.Kind
        public var detail: String
    }

    public static func changes(old: [Tool], new: [Tool]) -> [Change] {
        let o = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let n = Dictionary(new.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [Change] = []
        for name in Set(o.keys).union(n.keys).sorted() {
            switch (o[name], n[name]) {
            case (nil, .some): out.append(Change(tool: name, kind: .added, detail: "new tool"))
            case (.some, nil): out.append(Change(tool: name, kind: .removed, detail: "no longer listed"))
            case (.some(let a), .some(let b)) where a.definitionHash != b.definitionHash:
                out.append(Change(tool: name, kind: .changed, detail: describe(a.raw, b.raw)))
            default: break
            }
        }
        return out
    }

    /// A readable diff: which top-level fields changed, with the old and new description when that is one of them.
    static func describe(_ a: JSONValue, _ b: JSONValue) -> String {
        let ao = a.objectValue ?? [:], bo = b.objectValue ?? [:]
        var parts: [String] = []
        for k in Set(ao.keys).union(bo.keys).sorted() where ao[k] != bo[k] {
            if k == "description" {
                parts.append("description: \"\(ao[k]?.stringValue?.prefix(200) ?? "")\" → \"\(bo[k]?.stringValue?.prefix(200) ?? "")\"")
            } else if let ap = ao[k]?["properties"]?.objectValue, let bp = bo[k]?["properties"]?.objectValue {
                let added = Set(bp.keys).subtracting(ap.keys).sorted(), removed = Set(ap.keys).subtracting(bp.keys).sorted()
                var s = "\(k) changed"
                if !added.isEmpty { s += "; parameters added: " + added.joined(separator: ", ") }
                if !removed.isEmpty { s += "; parameters removed: " + removed.joined(separator: ", ") }
                parts.append(s)
            } else {
                parts.append("\(k) changed")
            }
        }
        return parts.joined(separator: "; ")
    }
}
