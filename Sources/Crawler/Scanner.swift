import AtlasModel
import Foundation
import MCPClient

/// Scans one server: launches or reaches it under the sandbox, lists its tools, and ends in exactly one status.
public struct ServerScanner: Sendable {
    public var sandbox: Sandbox
    public var childLimits: ChildLimits
    public var probe: Probe
    /// How long installing a package (PyPI) may take before the scan gives up.
    public var installTimeout: Duration = .seconds(600)
    /// Which remote addresses may be contacted (public ones only, unless told otherwise).
    public var addressGuard = AddressGuard()

    public init(sandbox: Sandbox = Sandbox(), childLimits: ChildLimits = ChildLimits(), probe: Probe = Probe()) {
        self.sandbox = sandbox; self.childLimits = childLimits; self.probe = probe
    }

    public func scan(_ entry: ServerEntry) async -> ScanResult {
        let started = Date()
        let clock = ContinuousClock.now
        var result = await scanInner(entry, started: started)
        result.durationMs = Int((ContinuousClock.now - clock).components.seconds * 1000)
            + Int((ContinuousClock.now - clock).components.attoseconds / 1_000_000_000_000_000)
        return result
    }

    private func scanInner(_ entry: ServerEntry, started: Date) async -> ScanResult {
        let plan = entry.launch
        guard plan.transport == .stdio else {
            guard let url = plan.url, !url.isEmpty else {
                return ScanResult(server: entry.name, status: .refused, reason: "the launch plan has no URL", startedAt: started)
            }
            let run = await HTTPTransport.run(url: url, headers: plan.headers, transport: plan.transport, limits: childLimits,
                                              probe: probe, guard: addressGuard)
            return ServerScanner.result(of: run, server: entry.name, started: started)
        }
        guard let program = plan.argv.first, !program.isEmpty else {
            return ScanResult(server: entry.name, status: .refused, reason: "the launch plan has no command", startedAt: started)
        }
        var resolvedProgram = sandbox.resolve(program)
        if let pypi = plan.pypi {
            switch await PyPIInstaller.shared.prepare(pypi, script: program, sandbox: sandbox, timeout: installTimeout) {
            case .success(let path): resolvedProgram = path
            case .failure(let e):
                return ScanResult(server: entry.name, status: e.missingRuntime != nil ? .unsupportedRuntime : .crashed, reason: e.message, startedAt: started)
            }
        }
        guard let resolved = resolvedProgram else {
            return ScanResult(server: entry.name, status: .unsupportedRuntime,
                              reason: "\(program) is not installed on this machine (looked in \(sandbox.searchPath.count) PATH folders)", startedAt: started)
        }
        let scratch: String
        do { scratch = try sandbox.makeScratch() } catch {
            return ScanResult(server: entry.name, status: .crashed, reason: "\(error)", startedAt: started)
        }
        defer { sandbox.removeScratch(scratch) }
        let (exe, args) = sandbox.wrap(program: resolved, arguments: Array(plan.argv.dropFirst()))
        let run = await StdioTransport.run(executable: exe, arguments: args, environment: sandbox.environment(for: plan, scratch: scratch),
                                           workingDirectory: scratch, limits: childLimits, probe: probe)
        return ServerScanner.result(of: run, server: entry.name, started: started)
    }

    /// Turns what happened into one status and a reason a person can act on.
    public static func result(of run: StdioRun, server: String, started: Date) -> ScanResult {
        let p = run.probe
        var r = base(p, server: server, started: started)
        r.junkLines = run.junkLines; r.stderrTail = run.stderrTail
        let lastErr = run.stderrTail.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            .map { String($0.prefix(300)) }
        let step = p.failedStep ?? "the scan"
        if let launch = run.launchError {
            r.status = .crashed; r.reason = launch
        } else if run.timedOut {
            r.status = .timeout; r.reason = "deadline reached during \(step)" + (p.pages > 0 ? " after \(p.pages) page(s)" : "")
        } else if run.overTotal {
            r.status = .protocolError; r.reason = "the server sent more than the byte cap during \(step)"
        } else if let failure = p.failure {
            switch failure {
            case .closed:
                let exit = run.exitDescription ?? "exited"
                r.status = looksLikeMissingCredentials(run.stderrTail) ? .needsCredentials : .crashed
                r.reason = "the server \(exit) during \(step)" + (lastErr.map { ": \($0)" } ?? "")
            case .timeout(let method, let s):
                r.status = .timeout
                r.reason = "no answer to \(method) within \(Int(s)) s"
                    + (run.oversizeDropped > 0 ? " (\(run.oversizeDropped) oversized message(s) were dropped)" : "")
                    + (run.junkLines > 0 ? " (\(run.junkLines) non-JSON line(s) on stdout)" : "")
            case .remote(let code, let message):
                r.status = looksLikeMissingCredentials(message) ? .needsCredentials : .protocolError
                r.reason = "\(step) failed with error \(code): \(message.prefix(300))"
            case .malformed(let why):
                r.status = .protocolError; r.reason = "\(step): \(why)"
            }
        }
        if r.status == .ok {
            r.reason = okNotes(p, dropped: run.oversizeDropped, extra: run.junkLines > 0 ? ["\(run.junkLines) non-JSON line(s) on stdout ignored"] : [])
        }
        return r
    }

    /// The same for a remote server: one status, with the HTTP facts that explain it.
    public static func result(of run: HTTPRun, server: String, started: Date) -> ScanResult {
        let p = run.probe
        var r = base(p, server: server, started: started)
        let step = p.failedStep ?? "the scan"
        if let why = run.refused {
            r.status = .refused; r.reason = why
        } else if p.era == nil, let why = run.unreachable {
            r.status = .unreachable; r.reason = why
        } else if run.timedOut && (p.failure != nil || p.era == nil) {
            r.status = .timeout; r.reason = "deadline reached during \(step)" + (p.pages > 0 ? " after \(p.pages) page(s)" : "")
        } else if run.overTotal {
            r.status = .protocolError; r.reason = "the server sent more than the byte cap during \(step)"
        } else if let status = run.handshakeStatus, status == 401 || status == 403, p.failure != nil {
            r.status = .needsCredentials
            r.reason = "the server answered HTTP \(status) during \(step)" + (p.failure.map { ": \($0)" } ?? "")
        } else if let failure = p.failure {
            switch failure {
            case .timeout(let method, let s): r.status = .timeout; r.reason = "no answer to \(method) within \(Int(s)) s"
            case .remote(let code, let message):
                r.status = looksLikeMissingCredentials(message) ? .needsCredentials : .protocolError
                r.reason = "\(step) failed" + (message.hasPrefix("HTTP ") ? " with \(message.prefix(300))" : " with error \(code): \(message.prefix(300))")
            case .closed(let why): r.status = .protocolError; r.reason = "\(step): \(why)"
            case .malformed(let why): r.status = .protocolError; r.reason = "\(step): \(why)"
            }
        }
        if r.status == .ok {
            r.reason = okNotes(p, dropped: run.oversizeDropped,
                               extra: run.fellBack ? ["answered over the legacy HTTP+SSE transport after HTTP \(run.handshakeStatus ?? 0) to a Streamable HTTP POST"] : [])
        }
        return r
    }

    private static func base(_ p: ProbeOutcome, server: String, started: Date) -> ScanResult {
        var r = ScanResult(server: server, status: .ok, startedAt: started)
        r.era = p.era; r.protocolVersion = p.protocolVersion; r.serverInfo = p.serverInfo
        r.capabilities = p.capabilities; r.instructions = p.instructions
        r.tools = p.tools; r.toolErrors = p.toolErrors; r.pages = p.pages; r.paginationNote = p.paginationNote
        r.prompts = p.prompts; r.resources = p.resources
        return r
    }

    private static func okNotes(_ p: ProbeOutcome, dropped: Int, extra: [String]) -> String? {
        var notes: [String] = []
        if let n = p.paginationNote { notes.append(n) }
        if !p.toolErrors.isEmpty { notes.append("\(p.toolErrors.count) malformed tool definition(s) skipped") }
        if dropped > 0 { notes.append("\(dropped) oversized message(s) dropped") }
        notes += extra
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    /// Judged on the last lines a server wrote (where its fatal error is), not on a whole traceback.
    static func looksLikeMissingCredentials(_ text: String) -> Bool {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let t = lines.suffix(3).joined(separator: "\n").lowercased()
        if ["modulenotfounderror", "importerror", "syntaxerror", "no module named"].contains(where: { t.contains($0) }) { return false }
        return ["api key", "api_key", "apikey", "token", "credential", "unauthorized", "401", "not authenticated", "authentication",
                "environment variable", "password"].contains { t.contains($0) }
    }
}
