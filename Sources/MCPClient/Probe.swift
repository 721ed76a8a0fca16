import AtlasModel
import Foundation

/// Bounds on one server's conversation.
public struct ProbeLimits: Sendable {
    public var requestTimeout: Duration = .seconds(20)
    /// How long `server/discover` may take. A server of the older era that ignores it costs nothing: `initialize`
    /// is in flight beside it, and its answer ends the wait.
    public var discoverTimeout: Duration = .seconds(20)
    /// How long `server/discover` may still answer once `initialize` has: a server of both eras answers both at about
    /// the same time, but on a loaded machine one answer can trail the other by hundreds of milliseconds. A server of
    /// the older era answers discover at once with an error (which ends the wait); only one that ignores it waits this.
    public var discoverGrace: Duration = .seconds(1)
    public var maxPages = 200
    public var maxTools = 50_000
    public init() {}
}

/// What talking to a server found, before the transport adds its own facts (exit status, stderr).
public struct ProbeOutcome: Sendable {
    public var era: String?
    public var protocolVersion: String?
    public var serverInfo: JSONValue?
    public var capabilities: JSONValue?
    public var instructions: String?
    public var tools: [Tool] = []
    public var toolErrors: [String] = []
    public var prompts: [String] = []
    public var resources: [String] = []
    public var pages = 0
    public var paginationNote: String?
    /// The error that stopped the conversation, if any.
    public var failure: RPCError?
    /// Which step failed: "handshake" or "tools/list".
    public var failedStep: String?
}

/// Speaks MCP to a server in either era: `server/discover` (2026-07-28) first, then `initialize` (2024-11-05 .. 2025-11-25).
public struct Probe: Sendable {
    public static let modernVersion = "2026-07-28"
    public static let legacyVersion = "2025-11-25"
    public static let clientInfo: JSONValue = ["name": "toolatlas", "version": "0.1.0"]

    public var limits: ProbeLimits
    public init(limits: ProbeLimits = ProbeLimits()) { self.limits = limits }

    static var modernMeta: JSONValue {
        ["io.modelcontextprotocol/protocolVersion": .string(modernVersion),
         "io.modelcontextprotocol/clientCapabilities": [:],
         "io.modelcontextprotocol/clientInfo": clientInfo]
    }

    static func isModern(_ r: JSONValue) -> Bool {
        r["supportedVersions"]?.arrayValue?.compactMap(\.stringValue).contains(modernVersion) == true
    }

    public func run(_ session: RPCSession) async -> ProbeOutcome {
        var out = ProbeOutcome()
        // Both eras at once: `server/discover` goes first and `initialize` right behind it, so a server of the
        // older era that ignores discover costs no time-out. Discover wins when it names the modern version.
        let initParams: JSONValue = ["protocolVersion": .string(Probe.legacyVersion), "capabilities": [:], "clientInfo": Probe.clientInfo]
        let limits = self.limits
        enum Answer: Sendable { case discover(Result<JSONValue, RPCError>), initialize(Result<JSONValue, RPCError>) }
        var discover: Result<JSONValue, RPCError>? = nil
        var initialize: Result<JSONValue, RPCError>? = nil
        await withTaskGroup(of: Answer.self) { group in
            group.addTask { .discover(await session.request("server/discover", params: ["_meta": Probe.modernMeta], timeout: limits.discoverTimeout)) }
            try? await Task.sleep(for: .milliseconds(1))
            group.addTask { .initialize(await session.request("initialize", params: initParams, timeout: limits.requestTimeout)) }
            while let answer = await group.next() {
                switch answer {
                case .discover(let r): discover = r
                case .initialize(let r): initialize = r
                }
                if let d = discover, case .success(let v) = d, Probe.isModern(v) { group.cancelAll(); break }
                if case .success? = initialize, discover == nil {
                    // The older era answered; give discover a moment in case the server speaks both.
                    let grace = limits.discoverGrace
                    group.addTask {
                        try? await Task.sleep(for: grace)
                        return .discover(.failure(.timeout(method: "server/discover", seconds: Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18)))
                    }
                }
                if discover != nil && initialize != nil { break }
            }
            group.cancelAll()
        }
        var modern = false
        if case .success(let r)? = discover, Probe.isModern(r) {
            modern = true
            out.era = "modern"
            out.protocolVersion = Probe.modernVersion
            out.serverInfo = r["serverInfo"] ?? r["_meta"]?["io.modelcontextprotocol/serverInfo"]
            out.capabilities = r["capabilities"]
            out.instructions = r["instructions"]?.stringValue
        } else {
            switch initialize ?? .failure(.closed("no answer")) {
            case .failure(let e):
                out.failure = e; out.failedStep = "initialize"; return out
            case .success(let r):
                guard r.objectValue != nil else {
                    out.failure = .malformed("initialize result is not an object"); out.failedStep = "initialize"; return out
                }
                out.era = "legacy"
                out.protocolVersion = r["protocolVersion"]?.stringValue
                out.serverInfo = r["serverInfo"]
                out.capabilities = r["capabilities"]
                out.instructions = r["instructions"]?.stringValue
                await session.notify("notifications/initialized")
            }
        }
        let meta: JSONValue? = modern ? Probe.modernMeta : nil
        // Tools, page by page. A server that does not advertise tools is still asked: many forget to.
        var cursor: String? = nil
        var seen = Set<String>()
        while true {
            var params: [String: JSONValue] = [:]
            if let cursor { params["cursor"] = .string(cursor) }
            if let meta { params["_meta"] = meta }
            let page = await session.request("tools/list", params: .object(params), timeout: limits.requestTimeout)
            guard case .success(let r) = page else {
                if case .failure(let e) = page {
                    // A failure after some pages keeps what was read; the reason is still recorded.
                    out.failure = e; out.failedStep = out.pages == 0 ? "tools/list" : "tools/list page \(out.pages + 1)"
                }
                break
            }
            out.pages += 1
            guard let list = r["tools"]?.arrayValue else {
                out.failure = .malformed("tools/list result has no \"tools\" array"); out.failedStep = "tools/list"; break
            }
            for (i, item) in list.enumerated() {
                if out.tools.count >= limits.maxTools { out.paginationNote = "stopped at \(limits.maxTools) tools"; break }
                do { out.tools.append(try Tool(json: item)) } catch {
                    out.toolErrors.append("page \(out.pages) item \(i): \(error)")
                }
            }
            guard let next = r["nextCursor"]?.stringValue, !next.isEmpty else { break }
            if seen.contains(next) { out.paginationNote = "the server repeated cursor \(next.prefix(40)) on page \(out.pages): stopped"; break }
            if out.pages >= limits.maxPages { out.paginationNote = "stopped after \(limits.maxPages) pages"; break }
            if out.paginationNote != nil { break }
            seen.insert(next)
            cursor = next
        }
        if out.failure == nil {
            if out.capabilities?["prompts"] != nil { out.prompts = await names("prompts/list", key: "prompts", meta: meta, session) }
            if out.capabilities?["resources"] != nil { out.resources = await names("resources/list", key: "resources", meta: meta, session) }
        }
        return out
    }

    /// Names from a secondary listing (first page only); its failure never fails the scan.
    private func names(_ method: String, key: String, meta: JSONValue?, _ session: RPCSession) async -> [String] {
        var params: [String: JSONValue] = [:]
        if let meta { params["_meta"] = meta }
        guard case .success(let r) = await session.request(method, params: .object(params), timeout: limits.discoverTimeout) else { return [] }
        return (r[key]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue ?? $0["uri"]?.stringValue }.sorted()
    }
}
