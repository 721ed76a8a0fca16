import AtlasModel
import Foundation

/// Why a catalogue source could not be read, with where.
public struct CatalogueError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var location: String?
    public var message: String
    public init(source: String, location: String? = nil, message: String) {
        self.source = source; self.location = location; self.message = message
    }
    public var description: String { "\(source)\(location.map { " (\($0))" } ?? ""): \(message)" }
}

/// What reading a source produced: the entries, and the problems with entries that were skipped.
public struct CatalogueLoad: Sendable {
    public var entries: [ServerEntry] = []
    public var problems: [CatalogueError] = []
    public init() {}
}

/// Reads server lists: the project's own catalogue files and client configuration files.
public enum CatalogueReader {
    /// The bundled demo catalogue, found next to the working directory or the executable's package.
    public static func defaultDemoPath() -> String { BundledPath.find("catalogue/demo/catalogue.json") }

    /// Reads a file or a folder of files; the format is recognised from the content.
    public static func load(path: String) throws(CatalogueError) -> CatalogueLoad {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CatalogueError(source: path, message: "no such file or folder")
        }
        if isDir.boolValue {
            let direct = path + "/catalogue.json"
            if FileManager.default.fileExists(atPath: direct) { return try load(path: direct) }
            var load = CatalogueLoad()
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            for f in files {
                do {
                    let part = try loadFile(path + "/" + f)
                    load.entries += part.entries; load.problems += part.problems
                } catch { load.problems.append(error) }
            }
            return dedupe(load)
        }
        return dedupe(try loadFile(path))
    }

    static func loadFile(_ path: String) throws(CatalogueError) -> CatalogueLoad {
        guard let data = FileManager.default.contents(atPath: path) else { throw CatalogueError(source: path, message: "cannot read the file") }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw CatalogueError(source: path, message: "\(error)") }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if json["format"]?.stringValue?.hasPrefix("toolatlas-catalogue/") == true {
            return try ownFormat(json, source: path, directory: dir)
        }
        if json["servers"]?.arrayValue != nil {
            let page = RegistryReader.page(json, source: path)
            return page.load
        }
        if json["name"]?.stringValue != nil && (json["packages"] != nil || json["remotes"] != nil) {
            var load = CatalogueLoad()
            switch RegistryReader.entry(json, source: path) {
            case .success(let e): load.entries.append(e)
            case .failure(let err): load.problems.append(err)
            }
            return load
        }
        if json["mcpServers"] != nil || json["servers"]?.objectValue != nil || json["mcp"]?["servers"] != nil {
            return try ClientConfigReader.read(json, source: path)
        }
        throw CatalogueError(source: path, message: "not a catalogue: expected \"format\": \"toolatlas-catalogue/1\", a registry server.json or list page, or an \"mcpServers\" / \"servers\" object")
    }

    /// The project's own format: `{"format": "toolatlas-catalogue/1", "servers": [{name, command, args, env, url, ...}]}`.
    /// `${CATALOGUE_DIR}` in an argument stands for the folder the file is in.
    static func ownFormat(_ json: JSONValue, source: String, directory: String) throws(CatalogueError) -> CatalogueLoad {
        guard json["format"]?.stringValue == "toolatlas-catalogue/1" else {
            throw CatalogueError(source: source, location: "format", message: "unsupported version \(json["format"]?.stringValue ?? "")")
        }
        guard let list = json["servers"]?.arrayValue else { throw CatalogueError(source: source, location: "servers", message: "missing array") }
        var load = CatalogueLoad()
        for (i, item) in list.enumerated() {
            let where_ = "servers[\(i)]"
            guard let name = item["name"]?.stringValue, EntryName.isValid(name) else {
                load.problems.append(CatalogueError(source: source, location: where_, message: "missing or invalid \"name\"")); continue
            }
            var plan = LaunchPlan()
            if let url = item["url"]?.stringValue {
                plan.transport = LaunchPlan.Transport(rawValue: item["transport"]?.stringValue ?? "streamable-http") ?? .streamableHTTP
                plan.url = url
            } else if let command = item["command"]?.stringValue, !command.isEmpty {
                let args = (item["args"]?.arrayValue ?? []).map { $0.stringValue ?? $0.canonical() }
                plan.argv = [command] + args.map { $0.replacingOccurrences(of: "${CATALOGUE_DIR}", with: directory) }
            } else {
                load.problems.append(CatalogueError(source: source, location: where_, message: "needs \"command\" or \"url\"")); continue
            }
            for (k, v) in item["env"]?.objectValue ?? [:] { plan.environment[k] = v.stringValue ?? v.canonical() }
            for k in (item["env_names"]?.arrayValue ?? []).compactMap(\.stringValue) where plan.environment[k] == nil {
                plan.environment[k] = Placeholder.value(for: k)
                plan.notes.append("\(k) set to a placeholder value")
            }
            load.entries.append(ServerEntry(name: name, title: item["title"]?.stringValue, description: item["description"]?.stringValue,
                                            version: item["version"]?.stringValue, package: item["package"]?.stringValue,
                                            source: source, launch: plan, notes: item["notes"]?.stringValue))
        }
        return load
    }

    /// Keeps the first entry of each name and reports the others.
    static func dedupe(_ load: CatalogueLoad) -> CatalogueLoad {
        var out = CatalogueLoad()
        out.problems = load.problems
        var seen = Set<String>()
        for e in load.entries {
            if seen.insert(e.name).inserted { out.entries.append(e) }
            else { out.problems.append(CatalogueError(source: e.source, location: e.name, message: "duplicate server name; the first one is kept")) }
        }
        return out
    }
}

/// Server names become file names and URL segments: keep them to a safe alphabet.
public enum EntryName {
    public static func isValid(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 200 && !s.hasPrefix(".") && !s.contains("..")
            && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./@".unicodeScalars.contains($0) }
    }
}

/// Clearly fake values for required secrets: many servers list their tools without real credentials.
public enum Placeholder {
    public static func value(for name: String) -> String { "toolatlas-placeholder-not-a-secret" }
}

/// Client configuration files: Claude Desktop / Claude Code / Cursor / Windsurf (`mcpServers`), VS Code (`servers`, `inputs`).
public enum ClientConfigReader {
    public static func read(_ json: JSONValue, source: String) throws(CatalogueError) -> CatalogueLoad {
        guard let servers = (json["mcpServers"] ?? json["servers"] ?? json["mcp"]?["servers"])?.objectValue else {
            throw CatalogueError(source: source, message: "\"mcpServers\" / \"servers\" is not an object")
        }
        var load = CatalogueLoad()
        for name in servers.keys.sorted() {
            let item = servers[name]!
            guard EntryName.isValid(name) else {
                load.problems.append(CatalogueError(source: source, location: name, message: "server name has characters outside [A-Za-z0-9-_./@]")); continue
            }
            var plan = LaunchPlan()
            var unresolved: [String] = []
            func note(_ s: String) -> String {
                for p in placeholders(in: s) where !unresolved.contains(p) { unresolved.append(p) }
                return s
            }
            if let url = (item["url"] ?? item["serverUrl"])?.stringValue {
                let type = item["type"]?.stringValue ?? "streamable-http"
                plan.transport = type == "sse" ? .sse : .streamableHTTP
                plan.url = note(url)
                for (k, v) in item["headers"]?.objectValue ?? [:] { plan.headers[k] = note(v.stringValue ?? "") }
            } else if let command = item["command"]?.stringValue {
                plan.argv = [note(command)] + (item["args"]?.arrayValue ?? []).map { note($0.stringValue ?? $0.canonical()) }
            } else {
                load.problems.append(CatalogueError(source: source, location: name, message: "needs \"command\" or \"url\"")); continue
            }
            for (k, v) in item["env"]?.objectValue ?? [:] { plan.environment[k] = note(v.stringValue ?? v.canonical()) }
            plan.notes = unresolved.map { "placeholder \($0) left unresolved" }
            load.entries.append(ServerEntry(name: name, source: source, launch: plan))
        }
        return load
    }

    /// `${env:X}`, `${input:x}`, `${X}` placeholders in a value.
    static func placeholders(in s: String) -> [String] {
        var out: [String] = []
        var rest = Substring(s)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            out.append(String(rest[start.lowerBound...end]))
            rest = rest[rest.index(after: end)...]
        }
        return out
    }
}
