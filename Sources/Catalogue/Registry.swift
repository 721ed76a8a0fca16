import AtlasModel
import Foundation

/// Where a registry entry stands: the official registry's `_meta` status and dates.
public struct RegistryStatus: Sendable, Hashable {
    public var status: String
    public var updatedAt: String?
}

/// Reads the official MCP Registry: server.json documents, `/v0.1/servers` list pages (live or saved), and folders of them.
/// Both the current camelCase and the older snake_case field names are accepted.
public enum RegistryReader {
    static let officialMeta = "io.modelcontextprotocol.registry/official"

    /// Field access that accepts `registryType` and `registry_type` alike.
    static func field(_ o: JSONValue?, _ camel: String) -> JSONValue? {
        guard let o else { return nil }
        if let v = o[camel] { return v }
        var snake = ""
        for c in camel { if c.isUppercase { snake += "_" + c.lowercased() } else { snake.append(c) } }
        return o[snake]
    }

    static func string(_ o: JSONValue?, _ camel: String) -> String? { field(o, camel)?.stringValue }

    /// One list page: its entries (deleted ones skipped), problems with their position, and the next cursor.
    public struct Page: Sendable {
        public var load = CatalogueLoad()
        public var statuses: [String: RegistryStatus] = [:]
        public var deleted: [String] = []
        public var nextCursor: String?
    }

    public static func page(_ json: JSONValue, source: String) -> Page {
        var page = Page()
        page.nextCursor = string(json["metadata"], "nextCursor")
        guard let list = json["servers"]?.arrayValue else {
            page.load.problems.append(CatalogueError(source: source, location: "servers", message: "not a list page: no \"servers\" array"))
            return page
        }
        for (i, item) in list.enumerated() {
            let where_ = "servers[\(i)]"
            // API pages wrap each server.json as {"server": {...}, "_meta": {...}}; dumps may hold bare server.json objects.
            let server = item["server"] ?? item
            let meta = item["_meta"]?[officialMeta] ?? server["_meta"]?[officialMeta]
            let status = string(meta, "status") ?? "active"
            guard let name = server["name"]?.stringValue else {
                page.load.problems.append(CatalogueError(source: source, location: where_, message: "entry has no \"name\"")); continue
            }
            if status == "deleted" { page.deleted.append(name); continue }
            switch entry(server, source: source, location: where_) {
            case .success(var e):
                if status == "deprecated" { e.notes = ([e.notes, "Deprecated in the registry."].compactMap { $0 }).joined(separator: " ") }
                e.registryStatus = status
                page.statuses[e.name] = RegistryStatus(status: status, updatedAt: string(meta, "updatedAt"))
                page.load.entries.append(e)
            case .failure(let err): page.load.problems.append(err)
            }
        }
        return page
    }

    /// A server.json document as a catalogue entry with a launch plan; a document that cannot be run safely is an error.
    public static func entry(_ s: JSONValue, source: String, location: String? = nil) -> Result<ServerEntry, CatalogueError> {
        func fail(_ m: String) -> Result<ServerEntry, CatalogueError> { .failure(CatalogueError(source: source, location: location ?? s["name"]?.stringValue, message: m)) }
        guard let name = s["name"]?.stringValue, EntryName.isValid(name) else { return fail("missing or invalid \"name\"") }
        let packages = field(s, "packages")?.arrayValue ?? []
        let remotes = field(s, "remotes")?.arrayValue ?? []
        let order = ["pypi", "npm", "oci", "nuget", "mcpb"]
        let stdioPackages = packages.filter { (string(field($0, "transport"), "type") ?? "stdio") == "stdio" }
        let chosen = stdioPackages.sorted { order.firstIndex(of: string($0, "registryType") ?? "") ?? 9 < order.firstIndex(of: string($1, "registryType") ?? "") ?? 9 }.first
        var plan: LaunchPlan
        var package: String? = nil
        if let p = chosen {
            switch LaunchPlanner.plan(package: p) {
            case .success(let lp): plan = lp
            case .failure(let why): return fail(why.message)
            }
            package = "\(string(p, "registryType") ?? "?"):\(string(p, "identifier") ?? "?")" + (string(p, "version").map { "@\($0)" } ?? "")
        } else if let r = remotes.first ?? packages.first(where: { string(field($0, "transport"), "url") != nil }).flatMap({ field($0, "transport") }) {
            switch LaunchPlanner.plan(remote: r) {
            case .success(let lp): plan = lp
            case .failure(let why): return fail(why.message)
            }
        } else {
            return fail("neither a package nor a remote to run")
        }
        return .success(ServerEntry(name: name, title: s["title"]?.stringValue, description: s["description"]?.stringValue,
                                    version: s["version"]?.stringValue ?? string(field(s, "versionDetail"), "version"), package: package,
                                    source: source, launch: plan))
    }
}

/// Turns registry package and remote descriptions into explicit, rerunnable launch plans. Values are data: argv only.
public enum LaunchPlanner {
    public struct Refusal: Error, Sendable { public var message: String }

    /// Package names and versions become argv words: they must not look like options or reach outside a folder.
    static func safeIdentifier(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix("-") && !s.contains("..") && s.count <= 214
            && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "@/._-:".unicodeScalars.contains($0) }
    }

    static func safeVersion(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix("-") && s.count <= 64 && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".+-_".unicodeScalars.contains($0) }
    }

    public static func plan(package p: JSONValue) -> Result<LaunchPlan, Refusal> {
        let type = RegistryReader.string(p, "registryType") ?? ""
        guard let id = RegistryReader.string(p, "identifier"), safeIdentifier(id) else {
            return .failure(Refusal(message: "package identifier \(RegistryReader.string(p, "identifier")?.debugDescription ?? "missing") is not a safe package name"))
        }
        var version = RegistryReader.string(p, "version")
        if version == "latest" { version = nil }
        if let v = version, !safeVersion(v) { return .failure(Refusal(message: "package version \(v.debugDescription) is not a safe version")) }
        var notes: [String] = []
        let runtimeArgs = arguments(RegistryReader.field(p, "runtimeArguments"), notes: &notes)
        let packageArgs = arguments(RegistryReader.field(p, "packageArguments"), notes: &notes)
        let env = environment(RegistryReader.field(p, "environmentVariables"), notes: &notes)
        var plan = LaunchPlan(environment: env, notes: notes)
        switch type {
        case "pypi":
            // The console script usually carries the package's name; the scanner installs first and checks.
            plan.pypi = LaunchPlan.PyPIPackage(name: id, version: version)
            plan.argv = [id] + packageArgs
        case "npm":
            plan.argv = ["npx", "-y"] + runtimeArgs + [version.map { "\(id)@\($0)" } ?? id] + packageArgs
        case "oci":
            let image = id.contains(":") || version == nil ? id : "\(id):\(version!)"
            plan.argv = ["docker", "run", "-i", "--rm"] + runtimeArgs + env.keys.sorted().flatMap { ["-e", $0] } + [image] + packageArgs
        case "nuget":
            plan.argv = ["dnx", version.map { "\(id)@\($0)" } ?? id, "--yes"] + packageArgs
        case "mcpb":
            guard let sha = RegistryReader.string(p, "fileSha256"), sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
                return .failure(Refusal(message: "mcpb package \(id) has no valid fileSha256"))
            }
            guard id.hasPrefix("https://") else { return .failure(Refusal(message: "mcpb package \(id) is not an https URL")) }
            plan.argv = ["mcpb-run", id]
            plan.notes.append("mcpb bundle: download \(id), verify sha256 \(sha), unpack, then run its manifest's entry point")
        default:
            return .failure(Refusal(message: "unknown registry type \(type.debugDescription)"))
        }
        return .success(plan)
    }

    public static func plan(remote r: JSONValue) -> Result<LaunchPlan, Refusal> {
        guard var url = RegistryReader.string(r, "url") else { return .failure(Refusal(message: "remote without a url")) }
        let type = RegistryReader.string(r, "type") ?? "streamable-http"
        var notes: [String] = []
        // {variables} in the URL: filled from their defaults, or reported.
        let variables = RegistryReader.field(r, "variables")?.objectValue ?? [:]
        for key in variables.keys.sorted() {
            let v = variables[key]!
            if let value = RegistryReader.string(v, "default") ?? RegistryReader.string(v, "value") {
                url = url.replacingOccurrences(of: "{\(key)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value)
            }
        }
        for missing in ClientConfigReader.placeholders(in: url.replacingOccurrences(of: "{", with: "${")) {
            notes.append("URL variable \(missing.dropFirst(2).dropLast()) has no value")
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), !url.contains(where: { $0.isWhitespace || $0 == "\"" }) else {
            return .failure(Refusal(message: "remote url \(url.debugDescription) is not an http(s) URL"))
        }
        var headers: [String: String] = [:]
        for h in RegistryReader.field(r, "headers")?.arrayValue ?? [] {
            guard let name = h["name"]?.stringValue else { continue }
            if let v = RegistryReader.string(h, "value") ?? RegistryReader.string(h, "default") { headers[name] = v }
            else if h["isRequired"]?.boolValue == true || h["is_required"]?.boolValue == true {
                headers[name] = Placeholder.value(for: name)
                notes.append("header \(name) set to a placeholder value")
            }
        }
        return .success(LaunchPlan(transport: type == "sse" ? .sse : .streamableHTTP, url: url, headers: headers, notes: notes))
    }

    /// Positional and named arguments as argv words; required ones without a value get their hint in angle brackets, noted.
    static func arguments(_ list: JSONValue?, notes: inout [String]) -> [String] {
        var out: [String] = []
        for a in list?.arrayValue ?? [] {
            let type = RegistryReader.string(a, "type") ?? "positional"
            let value = RegistryReader.string(a, "value") ?? RegistryReader.string(a, "default")
            let required = RegistryReader.field(a, "isRequired")?.boolValue ?? false
            let hint = RegistryReader.string(a, "valueHint") ?? RegistryReader.string(a, "name") ?? "value"
            if type == "named", let name = RegistryReader.string(a, "name") {
                if let value { out += [name, value] }
                else if required { out += [name, "<\(hint)>"]; notes.append("argument \(name) needs a value (\(hint))") }
                else if RegistryReader.field(a, "format")?.stringValue == "boolean" || RegistryReader.field(a, "isFlag")?.boolValue == true { out.append(name) }
            } else {
                if let value { out.append(value) }
                else if required { out.append("<\(hint)>"); notes.append("positional argument \(hint) needs a value") }
            }
        }
        return out
    }

    /// Declared variables; required secrets get a clearly fake placeholder (many servers list tools without real credentials).
    static func environment(_ list: JSONValue?, notes: inout [String]) -> [String: String] {
        var env: [String: String] = [:]
        for v in list?.arrayValue ?? [] {
            guard let name = v["name"]?.stringValue, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            if let value = RegistryReader.string(v, "value") ?? RegistryReader.string(v, "default") { env[name] = value }
            else if RegistryReader.field(v, "isRequired")?.boolValue == true {
                env[name] = Placeholder.value(for: name)
                notes.append("\(name) set to a placeholder value" + (RegistryReader.field(v, "isSecret")?.boolValue == true ? " (a secret)" : ""))
            }
        }
        return env
    }
}

/// Reads the live registry API, page by page, following `metadata.nextCursor`.
public enum RegistryClient {
    public struct Sync: Sendable {
        public var entries: [ServerEntry] = []
        public var deleted: [String] = []
        public var problems: [CatalogueError] = []
        public var pages = 0
    }

    /// `base` is the registry's address (with or without `/v0.1/servers`); `fetch` returns a page's bytes (HTTP in production).
    public static func sync(base: String, search: String? = nil, updatedSince: String? = nil, maxPages: Int = 2_000,
                            fetch: (URL) async throws -> Data) async -> Sync {
        var out = Sync()
        var root = base.hasSuffix("/") ? String(base.dropLast()) : base
        if !root.hasSuffix("/v0.1/servers") && !root.hasSuffix("/v0/servers") { root += "/v0.1/servers" }
        var cursor: String? = nil
        var seen = Set<String>()
        while out.pages < maxPages {
            guard var comps = URLComponents(string: root) else {
                out.problems.append(CatalogueError(source: base, message: "not a URL")); break
            }
            var q = [URLQueryItem(name: "limit", value: "100")]
            if let cursor { q.append(URLQueryItem(name: "cursor", value: cursor)) }
            if let search { q.append(URLQueryItem(name: "search", value: search)) }
            if let updatedSince { q.append(URLQueryItem(name: "updated_since", value: updatedSince)) } else { q.append(URLQueryItem(name: "version", value: "latest")) }
            comps.queryItems = q
            guard let url = comps.url else { break }
            let data: Data
            do { data = try await fetch(url) } catch {
                out.problems.append(CatalogueError(source: url.absoluteString, message: "could not fetch the page: \(error)")); break
            }
            out.pages += 1
            let json: JSONValue
            do { json = try JSONValue.parse(data) } catch {
                out.problems.append(CatalogueError(source: url.absoluteString, location: "page \(out.pages)", message: "\(error)")); break
            }
            let page = RegistryReader.page(json, source: url.absoluteString)
            out.entries += page.load.entries
            out.problems += page.load.problems.map { var e = $0; e.location = "page \(out.pages), \(e.location ?? "")"; return e }
            out.deleted += page.deleted
            guard let next = page.nextCursor, !next.isEmpty, seen.insert(next).inserted else { break }
            cursor = next
        }
        return out
    }
}
