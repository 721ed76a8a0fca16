// An MCP server over stdio that serves the tools of a JSON file, in both protocol eras,
// and misbehaves on request so that the crawler's hardening can be tested against a real process.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var toolsFile: String?
    var name = "fixture"
    var version = "1.0.0"
    var instructions: String?
    var era = "both"            // both | modern | legacy
    var delayStartMs = 0
    var exitAfter = -1          // exit after N messages read
    var junk = 0                // junk lines before every reply
    var oversizeBytes = 0       // one line of this many bytes before the first reply
    var pageSize = 0
    var hang = false
    var invalidJSON = false
    var cursorLoop = false
    var generate = 0
    var sampling = false
    var grandchild = false
    var stderrText: String?
    var requireEnv: [String] = []
    var badTool = false
    var envToInstructions = false
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    func next() -> String { args.isEmpty ? "" : args.removeFirst() }
    while !args.isEmpty {
        switch args.removeFirst() {
        case "--tools": o.toolsFile = next()
        case "--name": o.name = next()
        case "--server-version": o.version = next()
        case "--instructions": o.instructions = next()
        case "--era": o.era = next()
        case "--delay-start-ms": o.delayStartMs = Int(next()) ?? 0
        case "--exit-after": o.exitAfter = Int(next()) ?? -1
        case "--junk": o.junk = Int(next()) ?? 0
        case "--oversize": o.oversizeBytes = Int(next()) ?? 0
        case "--page-size": o.pageSize = Int(next()) ?? 0
        case "--hang": o.hang = true
        case "--invalid-json": o.invalidJSON = true
        case "--cursor-loop": o.cursorLoop = true
        case "--generate": o.generate = Int(next()) ?? 0
        case "--sampling": o.sampling = true
        case "--grandchild": o.grandchild = true
        case "--stderr": o.stderrText = next()
        case "--require-env": o.requireEnv.append(next())
        case "--bad-tool": o.badTool = true
        case "--env-to-instructions": o.envToInstructions = true
        case let other: FileHandle.standardError.write(Data("fixture-server: unknown option \(other)\n".utf8)); exit(2)
        }
    }
    return o
}

var opts = parseOptions()
signal(SIGPIPE, SIG_IGN)

@MainActor func emit(_ line: String) {
    var data = Data(line.utf8); data.append(0x0A)
    FileHandle.standardOutput.write(data)
}

@MainActor func send(_ obj: [String: Any]) {
    for i in 0..<opts.junk { emit("junk line \(i): this is not JSON") }
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    emit(String(decoding: data, as: UTF8.self))
}

if let text = opts.stderrText { FileHandle.standardError.write(Data((text + "\n").utf8)) }
for name in opts.requireEnv where ProcessInfo.processInfo.environment[name] == nil {
    FileHandle.standardError.write(Data("Error: environment variable \(name) is required (missing API key)\n".utf8))
    exit(1)
}
if opts.delayStartMs > 0 { usleep(UInt32(opts.delayStartMs) * 1000) }
if opts.grandchild {
    // A background child in our process group that would outlive us if the scanner did not kill the group.
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("600"), nil]
    posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
}

var tools: [[String: Any]] = []
if let file = opts.toolsFile {
    guard let data = FileManager.default.contents(atPath: file),
          let json = try? JSONSerialization.jsonObject(with: data) else {
        FileHandle.standardError.write(Data("fixture-server: cannot read tools file \(file)\n".utf8)); exit(1)
    }
    if let list = json as? [[String: Any]] { tools = list }
    else if let obj = json as? [String: Any], let list = obj["tools"] as? [[String: Any]] { tools = list }
}
for i in 0..<opts.generate {
    tools.append(["name": "generated_tool_\(i)", "description": "Get generated record number \(i) from the fixture.",
                  "inputSchema": ["type": "object", "properties": ["id": ["type": "string", "description": "Record id"]]]])
}

if opts.envToInstructions {
    // Reports what the scanner let through: variable names, and the working and home folders.
    let env = ProcessInfo.processInfo.environment
    opts.instructions = "env=" + env.keys.sorted().joined(separator: ",") + " cwd=" + FileManager.default.currentDirectoryPath + " home=" + (env["HOME"] ?? "")
}
let serverInfo: [String: Any] = ["name": opts.name, "version": opts.version]
var capabilities: [String: Any] = ["tools": ["listChanged": false]]
if opts.pageSize < 0 { capabilities = [:] }

var messages = 0
var sentOversize = false
var pendingSampling: Any? = nil

@MainActor func reply(_ id: Any, result: [String: Any]) {
    if opts.oversizeBytes > 0 && !sentOversize {
        sentOversize = true
        emit("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"" + String(repeating: "x", count: opts.oversizeBytes) + "\"}}")
    }
    send(["jsonrpc": "2.0", "id": id, "result": result])
}

@MainActor func error(_ id: Any, code: Int, message: String, data: Any? = nil) {
    var e: [String: Any] = ["code": code, "message": message]
    if let data { e["data"] = data }
    send(["jsonrpc": "2.0", "id": id, "error": e])
}

@MainActor func toolsPage(cursor: String?) -> [String: Any] {
    var list = tools
    if opts.badTool { list.insert(["description": "a tool without a name", "inputSchema": 5], at: 0) }
    guard opts.pageSize > 0 else { return ["tools": list] }
    if opts.cursorLoop { return ["tools": Array(list.prefix(opts.pageSize)), "nextCursor": "same"] }
    let start = Int(cursor ?? "0") ?? 0
    let end = min(start + opts.pageSize, list.count)
    var r: [String: Any] = ["tools": start < end ? Array(list[start..<end]) : []]
    if end < list.count { r["nextCursor"] = String(end) }
    return r
}

while let line = readLine(strippingNewline: true) {
    messages += 1
    if opts.exitAfter >= 0 && messages > opts.exitAfter { exit(3) }
    if opts.hang { continue }
    guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { continue }
    let method = obj["method"] as? String
    let id = obj["id"]
    if method == nil, let id, let pending = pendingSampling as? String, "\(id)" == pending {
        pendingSampling = nil   // the client answered our sampling request
        continue
    }
    guard let method, let id else { continue }   // notifications need no answer
    let params = obj["params"] as? [String: Any] ?? [:]
    switch method {
    case "server/discover":
        if opts.era == "legacy" { error(id, code: -32601, message: "Method not found"); continue }
        var r: [String: Any] = ["resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": capabilities,
                                "serverInfo": serverInfo, "_meta": ["io.modelcontextprotocol/serverInfo": serverInfo]]
        if let i = opts.instructions { r["instructions"] = i }
        reply(id, result: r)
    case "initialize":
        if opts.era == "modern" { error(id, code: -32601, message: "Method not found"); continue }
        let asked = params["protocolVersion"] as? String ?? "2025-06-18"
        let known = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
        var r: [String: Any] = ["protocolVersion": known.contains(asked) ? asked : "2025-11-25", "capabilities": capabilities, "serverInfo": serverInfo]
        if let i = opts.instructions { r["instructions"] = i }
        reply(id, result: r)
    case "tools/list":
        if opts.sampling && pendingSampling == nil {
            pendingSampling = "s1"
            send(["jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage",
                  "params": ["messages": [["role": "user", "content": ["type": "text", "text": "hi"]]], "maxTokens": 10]])
        }
        if opts.invalidJSON { emit("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"result\":{\"tools\":[{\"name\":"); continue }
        reply(id, result: toolsPage(cursor: params["cursor"] as? String))
    case "ping":
        reply(id, result: [:])
    default:
        error(id, code: -32601, message: "Method not found: \(method)")
    }
}
