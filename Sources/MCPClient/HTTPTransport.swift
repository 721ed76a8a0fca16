import AsyncHTTPClient
import AtlasModel
import Foundation
import NIOCore
import NIOHTTP1

/// What talking to one remote server produced.
public struct HTTPRun: Sendable {
    public var probe: ProbeOutcome
    /// The transport that carried the conversation (legacy SSE after a fallback).
    public var transport: LaunchPlan.Transport
    public var fellBack = false
    /// The HTTP status that failed the handshake, when one did.
    public var handshakeStatus: Int?
    public var refused: String?
    public var unreachable: String?
    public var timedOut = false
    public var overTotal = false
    public var oversizeDropped = 0
    public var totalBytes = 0
}

/// MCP over HTTP: Streamable HTTP (one endpoint, JSON or SSE replies, `Mcp-Session-Id`) and the legacy HTTP+SSE
/// transport (a GET stream whose `endpoint` event names where to POST). Every URL, redirects included, passes the
/// address guard first; the whole conversation has one deadline and the same byte caps as a stdio scan.
public enum HTTPTransport {
    public static func run(url: String, headers: [String: String], transport: LaunchPlan.Transport, limits: ChildLimits,
                           probe: Probe, guard addressGuard: AddressGuard) async -> HTTPRun {
        let start = ContinuousClock.now
        if transport == .sse {
            return await conversation(url: url, headers: headers, limits: limits, guard: addressGuard, deadline: start + limits.deadline) {
                await runLegacy(url: url, conv: $0, probe: probe)
            }
        }
        let first = await conversation(url: url, headers: headers, limits: limits, guard: addressGuard, deadline: start + limits.deadline) {
            await runStreamable(url: url, conv: $0, probe: probe)
        }
        // A server of the HTTP+SSE era answers a POST to its stream URL with 400, 404 or 405.
        guard first.probe.era == nil, let status = first.handshakeStatus, [400, 404, 405].contains(status),
              ContinuousClock.now < start + limits.deadline else { return first }
        var legacy = await conversation(url: url, headers: headers, limits: limits, guard: addressGuard, deadline: start + limits.deadline) {
            await runLegacy(url: url, conv: $0, probe: probe)
        }
        guard legacy.probe.era != nil else { return first }
        legacy.fellBack = true
        legacy.handshakeStatus = status
        return legacy
    }

    private static func conversation(url: String, headers: [String: String], limits: ChildLimits, guard g: AddressGuard,
                                     deadline: ContinuousClock.Instant, _ body: (HTTPConversation) async -> HTTPRun) async -> HTTPRun {
        let conv = HTTPConversation(guard: g, headers: headers, limits: limits, deadline: deadline)
        let run = await body(conv)
        await conv.shutdown()
        return run
    }

    /// Runs the probe over `session` with the scan's deadline, feeding outgoing messages to `sender`.
    private static func converse(conv: HTTPConversation, probe: Probe, reader: (@Sendable (RPCSession) async -> Void)?,
                                 sender: @escaping @Sendable (AsyncStream<String>, RPCSession) async -> Void) async -> ProbeOutcome {
        let (outgoing, outgoingCont) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let session = RPCSession(send: { outgoingCont.yield($0) })
        return await withTaskGroup(of: Void.self) { group -> ProbeOutcome in
            group.addTask { await sender(outgoing, session) }
            if let reader { group.addTask { await reader(session) } }
            let remaining = conv.deadline - ContinuousClock.now
            group.addTask {
                do {
                    try await Task.sleep(for: remaining)
                    conv.markTimedOut()
                    await session.close(.timeout(method: "the whole scan", seconds: Double(conv.limits.deadline.components.seconds)))
                } catch {}
            }
            let outcome = await probe.run(session)
            await session.close(.closed("scan finished"))
            outgoingCont.finish()
            group.cancelAll()
            await group.waitForAll()
            return outcome
        }
    }

    static func runStreamable(url: String, conv: HTTPConversation, probe: Probe) async -> HTTPRun {
        let outcome = await converse(conv: conv, probe: probe, reader: nil) { outgoing, session in
            await withTaskGroup(of: Void.self) { posts in
                for await line in outgoing {
                    guard let message = try? JSONValue.parse(line) else { continue }
                    // Requests go out at once, side by side; a notification or an answer is sent before anything
                    // after it, so `notifications/initialized` reaches the server before `tools/list`.
                    if message["id"] != nil && message["method"] != nil {
                        posts.addTask { await conv.post(message, body: line, to: url, session: session) }
                    } else {
                        await conv.post(message, body: line, to: url, session: session)
                    }
                }
                posts.cancelAll()
            }
        }
        await conv.endSession(url: url)
        return conv.snapshot(outcome, transport: .streamableHTTP)
    }

    static func runLegacy(url: String, conv: HTTPConversation, probe: Probe) async -> HTTPRun {
        let (endpoint, endpointCont) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let opened = await conv.send(.GET, url: url, headers: conv.headers(accept: "text/event-stream"), body: nil)
        let response: HTTPClientResponse
        switch opened {
        case .failure(let f):
            conv.record(f, handshake: true)
            var out = ProbeOutcome(); out.failure = f.rpcError; out.failedStep = "opening the event stream"
            return conv.snapshot(out, transport: .sse)
        case .success(let r):
            guard (200..<300).contains(r.status.code), r.headers.first(name: "content-type")?.lowercased().contains("text/event-stream") == true else {
                let f = await HTTPConversation.Failure.http(status: Int(r.status.code), message: HTTPConversation.errorText(r))
                conv.record(f, handshake: true)
                var out = ProbeOutcome(); out.failure = f.rpcError; out.failedStep = "opening the event stream"
                if (200..<300).contains(r.status.code) { out.failure = .malformed("the event stream URL did not answer with text/event-stream") }
                return conv.snapshot(out, transport: .sse)
            }
            response = r
        }
        let outcome = await converse(conv: conv, probe: probe, reader: { session in
            var parser = SSEParser(maxEvent: conv.limits.maxMessageBytes)
            do {
                for try await buffer in response.body {
                    if conv.addBytes(buffer.readableBytes) {
                        await session.close(.malformed("the server sent more than \(conv.limits.maxTotalBytes) bytes")); return
                    }
                    var events: [SSEParser.Event] = []
                    buffer.withUnsafeReadableBytes { parser.feed($0) { events.append($0) } }
                    for e in events {
                        if e.name == "endpoint" {
                            let target = String(decoding: e.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                            guard let resolved = URL(string: target, relativeTo: URL(string: url))?.absoluteURL.absoluteString,
                                  AddressGuard.origin(of: resolved) == AddressGuard.origin(of: url) else {
                                conv.record(.refused("the event stream named an endpoint on another origin: \(target.prefix(200))"), handshake: true)
                                await session.close(.closed("the endpoint is on another origin")); return
                            }
                            endpointCont.yield(resolved)
                        } else if e.name == "message", let m = try? JSONValue.parse(e.data) {
                            await conv.deliver(m, session)
                        }
                    }
                    if parser.dropped > 0 { conv.dropped(parser.takeDropped()) }
                }
            } catch {}
            await session.close(.closed("the server closed its event stream"))
        }, sender: { outgoing, session in
            var endpoints = endpoint.makeAsyncIterator()
            guard let postURL = await endpoints.next() else { return }
            endpointCont.finish()
            // The answers come on the stream; each POST is only acknowledged, so sending in order costs nothing.
            for await line in outgoing {
                guard let message = try? JSONValue.parse(line) else { continue }
                await conv.post(message, body: line, to: postURL, session: session)
            }
        })
        endpointCont.finish()
        return conv.snapshot(outcome, transport: .sse)
    }
}

/// The state of one HTTP conversation: pinned clients per origin, the session id, the negotiated version, counters.
final class HTTPConversation: @unchecked Sendable {
    enum Failure: Error, Sendable {
        case refused(String), unreachable(String), http(status: Int, message: String), timeout
        /// The scan ended while the exchange was in flight: nothing to report.
        case cancelled

        var rpcError: RPCError {
            switch self {
            case .refused(let why): .closed("refused: \(why)")
            case .unreachable(let why): .closed("unreachable: \(why)")
            case .http(let status, let message): .remote(code: -32000, message: "HTTP \(status)" + (message.isEmpty ? "" : ": \(message)"))
            case .timeout: .timeout(method: "the whole scan", seconds: 0)
            case .cancelled: .closed("scan finished")
            }
        }
    }

    let addressGuard: AddressGuard
    let extraHeaders: [(String, String)]
    let limits: ChildLimits
    let deadline: ContinuousClock.Instant
    private let lock = NSLock()
    private var clients: [AddressGuard.Origin: HTTPClient] = [:]
    private var sessionID: String?
    private var negotiatedVersion: String?
    private var initializeIDs = Set<Int>()
    private var handshakeStatus: Int?
    private var refused: String?
    private var unreachable: String?
    private var timedOut = false
    private var total = 0
    private var droppedCount = 0

    /// Headers a catalogue may not set: the transport owns them.
    static let reservedHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "content-type", "accept",
                                               "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "upgrade", "te"]

    init(guard g: AddressGuard, headers: [String: String], limits: ChildLimits, deadline: ContinuousClock.Instant) {
        addressGuard = g; self.limits = limits; self.deadline = deadline
        extraHeaders = headers.sorted { $0.key < $1.key }.filter { name, value in
            !name.isEmpty && !HTTPConversation.reservedHeaders.contains(name.lowercased())
                && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
                && value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
        }
    }

    func headers(accept: String) -> HTTPHeaders {
        var h = HTTPHeaders()
        for (k, v) in extraHeaders { h.add(name: k, value: v) }
        h.add(name: "Accept", value: accept)
        h.add(name: "User-Agent", value: "toolatlas/0.1 (MCP catalogue scanner)")
        return h
    }

    var nioDeadline: NIODeadline {
        let left = deadline - ContinuousClock.now
        return .now() + .nanoseconds(max(0, left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000))
    }

    /// A client pinned to the checked address of `url`'s origin, made on first use.
    private func client(for url: String) async -> Result<HTTPClient, Failure> {
        guard let origin = AddressGuard.origin(of: url) else { return .failure(.refused("only http and https URLs are contacted: \(url.prefix(200))")) }
        if let c = lock.withLock({ clients[origin] }) { return .success(c) }
        switch await addressGuard.check(url) {
        case .refused(let why): return .failure(.refused(why))
        case .unreachable(let why): return .failure(.unreachable(why))
        case .allowed(let host, let address):
            var config = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                  timeout: .init(connect: .seconds(10), read: nil), decompression: .disabled)
            if let address { config.dnsOverride = [host: address] }
            // A refused or failed connection is an answer: report it instead of retrying until the connect timeout.
            config.connectionPool.retryConnectionEstablishment = false
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
            let (chosen, spare) = lock.withLock { () -> (HTTPClient, HTTPClient?) in
                if let existing = clients[origin] { return (existing, made) }
                clients[origin] = made
                return (made, nil)
            }
            if let spare { try? await spare.shutdown() }
            return .success(chosen)
        }
    }

    /// One HTTP exchange; redirects are followed by hand (at most 5), each target checked like the first.
    func send(_ method: HTTPMethod, url: String, headers: HTTPHeaders, body: String?,
              deadline: NIODeadline? = nil) async -> Result<HTTPClientResponse, Failure> {
        var current = url
        var method = method
        var body = body
        for _ in 0...5 {
            let client: HTTPClient
            switch await self.client(for: current) {
            case .failure(let f): return .failure(f)
            case .success(let c): client = c
            }
            var request = HTTPClientRequest(url: current)
            request.method = method
            request.headers = headers
            if let body {
                request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response: HTTPClientResponse
            do { response = try await client.execute(request, deadline: deadline ?? nioDeadline) } catch {
                if Task.isCancelled { return .failure(.cancelled) }
                if let e = error as? HTTPClientError, e == .deadlineExceeded { return .failure(.timeout) }
                let o = AddressGuard.origin(of: current)
                return .failure(.unreachable("could not reach \(o.map { "\($0.host):\($0.port)" } ?? current): \(error)"))
            }
            let code = Int(response.status.code)
            guard [301, 302, 303, 307, 308].contains(code), let location = response.headers.first(name: "location") else { return .success(response) }
            _ = try? await response.body.collect(upTo: 1 << 16)
            guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteURL.absoluteString else {
                return .failure(.refused("redirected to an unusable location: \(location.prefix(200))"))
            }
            if code == 303 || ((code == 301 || code == 302) && method == .POST) { method = .GET; body = nil }
            current = next
        }
        return .failure(.refused("more than 5 redirects from \(url.prefix(200))"))
    }

    /// Sends one JSON-RPC message by POST and hands whatever answers to the session.
    func post(_ message: JSONValue, body: String, to url: String, session: RPCSession) async {
        let method = message["method"]?.stringValue
        let id = message["id"]?.intValue
        var h = headers(accept: "application/json, text/event-stream")
        let (sid, version) = lock.withLock { (sessionID, negotiatedVersion) }
        if let sid { h.add(name: "Mcp-Session-Id", value: sid) }
        if let version {
            h.add(name: "MCP-Protocol-Version", value: version)
        } else if message["params"]?["_meta"]?["io.modelcontextprotocol/protocolVersion"] != nil {
            h.add(name: "MCP-Protocol-Version", value: Probe.modernVersion)
        }
        if let method {
            h.add(name: "Mcp-Method", value: method)
            if let name = message["params"]?["name"]?.stringValue ?? message["params"]?["uri"]?.stringValue,
               name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { h.add(name: "Mcp-Name", value: name) }
        }
        if method == "initialize", let id { lock.withLock { _ = initializeIDs.insert(id) } }
        let isHandshake = method == "initialize"
        switch await send(.POST, url: url, headers: h, body: body) {
        case .failure(.cancelled):
            return
        case .failure(let f):
            record(f, handshake: isHandshake)
            if let id { await fail(id: id, f, session) }
        case .success(let r):
            let code = Int(r.status.code)
            guard (200..<300).contains(code) else {
                let f = Failure.http(status: code, message: await HTTPConversation.errorText(r))
                record(f, handshake: isHandshake)
                if let id { await fail(id: id, f, session) }
                return
            }
            if isHandshake, let s = r.headers.first(name: "mcp-session-id"), !s.isEmpty, s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                lock.withLock { sessionID = String(s.prefix(512)) }
            }
            let type = r.headers.first(name: "content-type")?.lowercased() ?? ""
            if type.contains("text/event-stream") {
                await readEvents(r, until: id, session)
            } else if type.contains("json") {
                do {
                    let data = try await r.body.collect(upTo: limits.maxMessageBytes)
                    if addBytes(data.readableBytes) { await session.close(.malformed("the server sent more than \(limits.maxTotalBytes) bytes")); return }
                    let value = try JSONValue.parse(data.readableBytesView)
                    for m in value.arrayValue ?? [value] { await deliver(m, session) }
                } catch {
                    if id != nil { dropped(1) }
                    if let id { await session.deliver(["jsonrpc": "2.0", "id": .int(Int64(id)), "error": ["code": -32700, "message": .string("unreadable JSON reply: \(error)")]]) }
                }
            } else {
                _ = try? await r.body.collect(upTo: 1 << 16)
            }
        }
    }

    /// Reads an SSE reply to one POST until the answer to `id` arrives or the server ends the stream.
    private func readEvents(_ r: HTTPClientResponse, until id: Int?, _ session: RPCSession) async {
        var parser = SSEParser(maxEvent: limits.maxMessageBytes)
        do {
            for try await buffer in r.body {
                if addBytes(buffer.readableBytes) { await session.close(.malformed("the server sent more than \(limits.maxTotalBytes) bytes")); return }
                var events: [SSEParser.Event] = []
                buffer.withUnsafeReadableBytes { parser.feed($0) { events.append($0) } }
                var answered = false
                for e in events where e.name == "message" {
                    guard let m = try? JSONValue.parse(e.data) else { continue }
                    if let id, m["id"]?.intValue == id, m["method"] == nil { answered = true }
                    await deliver(m, session)
                }
                if parser.dropped > 0 { dropped(parser.takeDropped()) }
                if answered { return }
            }
        } catch {}
    }

    /// Hands a message to the session, noting the negotiated version first so the next request carries it.
    func deliver(_ m: JSONValue, _ session: RPCSession) async {
        if let id = m["id"]?.intValue, let v = m["result"]?["protocolVersion"]?.stringValue, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            lock.withLock { if initializeIDs.contains(id) { negotiatedVersion = String(v.prefix(64)) } }
        }
        await session.deliver(m)
    }

    private func fail(id: Int, _ f: Failure, _ session: RPCSession) async {
        let e = f.rpcError
        let message: String
        switch e {
        case .remote(_, let m): message = m
        default: message = e.description
        }
        await session.deliver(["jsonrpc": "2.0", "id": .int(Int64(id)), "error": ["code": -32000, "message": .string(message)]])
    }

    static func errorText(_ r: HTTPClientResponse) async -> String {
        guard let data = try? await r.body.collect(upTo: 1 << 16) else { return r.status.reasonPhrase }
        let text = String(decoding: data.readableBytesView, as: UTF8.self)
        if let v = try? JSONValue.parse(text), let m = v["error"]?["message"]?.stringValue ?? v["message"]?.stringValue { return String(m.prefix(300)) }
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return flat.isEmpty ? r.status.reasonPhrase : String(flat.prefix(300))
    }

    func record(_ f: Failure, handshake: Bool) {
        lock.withLock {
            switch f {
            case .refused(let why): if refused == nil { refused = why }
            case .unreachable(let why): if unreachable == nil { unreachable = why }
            case .http(let status, _): if handshake || status == 401 || status == 403 { handshakeStatus = status }
            case .timeout: timedOut = true
            case .cancelled: break
            }
        }
    }

    /// Counts bytes from the server; true once the total cap is passed.
    func addBytes(_ n: Int) -> Bool { lock.withLock { total += n; return total > limits.maxTotalBytes } }
    func dropped(_ n: Int) { lock.withLock { droppedCount += n } }
    func markTimedOut() { lock.withLock { timedOut = true } }

    /// Streamable HTTP sessions are ended politely with DELETE; a server that refuses that is not an error.
    func endSession(url: String) async {
        guard let sid = lock.withLock({ sessionID }) else { return }
        var h = headers(accept: "application/json, text/event-stream")
        h.add(name: "Mcp-Session-Id", value: sid)
        let soon = min(nioDeadline, .now() + .seconds(2))
        if case .success(let r) = await send(.DELETE, url: url, headers: h, body: nil, deadline: soon) {
            _ = try? await r.body.collect(upTo: 1 << 16)
        }
    }

    func shutdown() async {
        let all = lock.withLock { () -> [HTTPClient] in
            let c = Array(clients.values)
            clients.removeAll()
            return c
        }
        for c in all { try? await c.shutdown() }
    }

    func snapshot(_ probe: ProbeOutcome, transport: LaunchPlan.Transport) -> HTTPRun {
        lock.withLock {
            var r = HTTPRun(probe: probe, transport: transport)
            r.handshakeStatus = handshakeStatus; r.refused = refused; r.unreachable = unreachable
            r.timedOut = timedOut; r.totalBytes = total; r.overTotal = total > limits.maxTotalBytes; r.oversizeDropped = droppedCount
            return r
        }
    }
}

/// Server-sent events, split as the HTML standard says: lines end in LF, CRLF or CR; `data` lines join with LF;
/// a blank line dispatches. An event larger than `maxEvent` is dropped (and counted) without being buffered.
struct SSEParser {
    struct Event { var name: String; var data: [UInt8] }

    let maxEvent: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var name = ""
    private var hasData = false
    private var discarding = false
    private var afterCR = false
    private(set) var dropped = 0

    init(maxEvent: Int) { self.maxEvent = maxEvent }

    mutating func takeDropped() -> Int { defer { dropped = 0 }; return dropped }

    mutating func feed(_ raw: UnsafeRawBufferPointer, _ emit: (Event) -> Void) {
        var start = 0
        let n = raw.count
        var i = 0
        while i < n {
            let b = raw[i]
            if b == 0x0A && afterCR { afterCR = false; i += 1; start = i; continue }
            afterCR = false
            if b == 0x0A || b == 0x0D {
                line.append(contentsOf: raw[start..<i])
                afterCR = b == 0x0D
                endLine(emit)
                i += 1; start = i
                continue
            }
            i += 1
        }
        if start < n {
            line.append(contentsOf: raw[start..<n])
            if line.count > maxEvent { discarding = true; line.removeAll() }
        }
    }

    private mutating func endLine(_ emit: (Event) -> Void) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData && !discarding { emit(Event(name: name.isEmpty ? "message" : name, data: data)) }
            if discarding { dropped += 1 }
            data.removeAll(keepingCapacity: true); name = ""; hasData = false; discarding = false
            return
        }
        if line.first == UInt8(ascii: ":") || discarding { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : line[line.endIndex...]
        if value.first == 0x20 { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
            if data.count > maxEvent { discarding = true; data.removeAll() }
        } else if field.elementsEqual("event".utf8) {
            name = String(decoding: value, as: UTF8.self)
        }
    }
}
