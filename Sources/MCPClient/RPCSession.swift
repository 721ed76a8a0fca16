import AtlasModel
import Foundation

/// Why a JSON-RPC request did not produce a result.
public enum RPCError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The peer answered with a JSON-RPC error object.
    case remote(code: Int, message: String)
    /// No answer within the request's time limit.
    case timeout(method: String, seconds: Double)
    /// The connection ended (the process exited, the stream closed, the scan was stopped).
    case closed(String)
    /// The peer sent something that is not a usable answer.
    case malformed(String)

    public var description: String {
        switch self {
        case .remote(let code, let message): "server error \(code): \(message.prefix(300))"
        case .timeout(let method, let s): "no answer to \(method) within \(String(format: "%.1f", s)) s"
        case .closed(let why): "connection closed: \(why)"
        case .malformed(let why): "malformed reply: \(why)"
        }
    }
}

/// A JSON-RPC 2.0 session over any line or message channel: matches answers to requests, answers the
/// server's own requests at once, and fails every pending request when the channel closes.
public actor RPCSession {
    private var nextID = 1
    private var pending: [Int: (method: String, continuation: CheckedContinuation<Result<JSONValue, RPCError>, Never>)] = [:]
    private var closedReason: RPCError?
    private let send: @Sendable (String) -> Void
    /// Counts of what the peer sent that was not an answer we waited for.
    public private(set) var notifications = 0
    public private(set) var serverRequests: [String] = []
    public private(set) var strayReplies = 0

    public init(send: @escaping @Sendable (String) -> Void) { self.send = send }

    /// Sends a request and waits for its answer, an error, the channel closing, or the time limit.
    public func request(_ method: String, params: JSONValue = .object([:]), timeout: Duration) async -> Result<JSONValue, RPCError> {
        if let closedReason { return .failure(closedReason) }
        let id = nextID
        nextID += 1
        let message: JSONValue = ["jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": params]
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.expire(id: id, seconds: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { cont in
            pending[id] = (method, cont)
            send(message.canonical())
        }
    }

    public func notify(_ method: String, params: JSONValue = .object([:])) {
        guard closedReason == nil else { return }
        send((["jsonrpc": "2.0", "method": .string(method), "params": params] as JSONValue).canonical())
    }

    private func expire(id: Int, seconds: Double) {
        guard let p = pending.removeValue(forKey: id) else { return }
        p.continuation.resume(returning: .failure(.timeout(method: p.method, seconds: seconds)))
    }

    /// Hands one message from the peer to the session.
    public func deliver(_ message: JSONValue) {
        guard case .object(let o) = message else { strayReplies += 1; return }
        if let method = o["method"]?.stringValue {
            if let id = o["id"], !id.isNull {
                serverRequests.append(method)
                answerServerRequest(id: id, method: method)
            } else {
                notifications += 1
            }
            return
        }
        guard let id = o["id"]?.intValue, let p = pending.removeValue(forKey: id) else { strayReplies += 1; return }
        if let error = o["error"] {
            p.continuation.resume(returning: .failure(.remote(code: error["code"]?.intValue ?? 0, message: error["message"]?.stringValue ?? error.canonical())))
        } else if let result = o["result"] {
            p.continuation.resume(returning: .success(result))
        } else {
            p.continuation.resume(returning: .failure(.malformed("answer to \(p.method) has neither result nor error")))
        }
    }

    /// The scanner never samples, elicits or exposes roots: it answers at once so the server never waits on it.
    private func answerServerRequest(id: JSONValue, method: String) {
        let reply: JSONValue
        switch method {
        case "ping": reply = ["jsonrpc": "2.0", "id": id, "result": [:]]
        case "roots/list": reply = ["jsonrpc": "2.0", "id": id, "result": ["roots": []]]
        case "elicitation/create": reply = ["jsonrpc": "2.0", "id": id, "result": ["action": "decline"]]
        default:
            reply = ["jsonrpc": "2.0", "id": id, "error": ["code": -32601, "message": .string("\(method) is not supported by this client (a catalogue scanner)")]]
        }
        send(reply.canonical())
    }

    /// Fails every pending request and any later one with `reason`.
    public func close(_ reason: RPCError) {
        if closedReason == nil { closedReason = reason }
        let all = pending
        pending.removeAll()
        for (_, p) in all { p.continuation.resume(returning: .failure(reason)) }
    }

    public var isClosed: Bool { closedReason != nil }
}
