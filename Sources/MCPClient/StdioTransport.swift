import AtlasModel
import Foundation
import Subprocess
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Bounds on one child process.
public struct ChildLimits: Sendable {
    /// From spawn to done, whatever the server does.
    public var deadline: Duration = .seconds(60)
    /// A single message larger than this is dropped (and counted).
    public var maxMessageBytes = 16 << 20
    /// The whole conversation may not exceed this many bytes from the server.
    public var maxTotalBytes = 96 << 20
    /// How much of stderr is kept (its tail).
    public var stderrBytes = 16 << 10
    /// After SIGTERM to the process group, how long before SIGKILL.
    public var killGrace: Duration = .milliseconds(300)
    public init() {}
}

/// What running one stdio server produced.
public struct StdioRun: Sendable {
    public var probe: ProbeOutcome
    public var exitDescription: String?
    public var exitedEarly = false
    public var timedOut = false
    public var launchError: String?
    public var junkLines = 0
    public var oversizeDropped = 0
    public var totalBytes = 0
    public var overTotal = false
    public var stderrTail = ""
}

/// Line-delimited JSON-RPC with a child process: spawned in its own process group, fed through pipes,
/// bounded in time and bytes, and torn down as a group so no descendant outlives the scan.
public enum StdioTransport {
    /// Writing to a child that has died raises SIGPIPE, whose default action ends the whole scanner: ignore it once,
    /// process-wide, so that the write fails with EPIPE and the scan records a crashed server instead.
    public static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    public static func run(executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
                           limits: ChildLimits, probe: Probe) async -> StdioRun {
        _ = ignoreSIGPIPE
        var options = PlatformOptions()
        options.processGroupID = 0
        let config = Configuration(
            executable: .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: .custom(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(rawValue: $0.key)!, $0.value) })),
            workingDirectory: FilePath(workingDirectory),
            platformOptions: options)
        let state = RunState(limits: limits)
        do {
            let result = try await Subprocess.run(config, input: .inputWriter, output: .sequence, error: .sequence) { execution in
                let pgid = execution.processIdentifier.value
                // The child joins its own group only once it runs: until then a signal to the group reaches nobody,
                // and a grandchild started later would escape. Wait (briefly) until the group exists.
                await StdioTransport.awaitOwnGroup(pgid)
                let (outgoing, outgoingCont) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
                let session = RPCSession(send: { line in outgoingCont.yield(line) })
                let writer = execution.standardInputWriter
                return await withTaskGroup(of: Void.self) { group -> ProbeOutcome in
                    group.addTask {
                        for await line in outgoing {
                            do { _ = try await writer.write(Array((line + "\n").utf8)) } catch { break }
                        }
                        try? await writer.finish()
                    }
                    group.addTask {
                        var lines = LineSplitter(maxLine: limits.maxMessageBytes)
                        do {
                            for try await chunk in execution.standardOutput {
                                var messages: [JSONValue] = []
                                let stop = chunk.withUnsafeBytes { raw -> Bool in
                                    state.addBytes(raw.count)
                                    if state.overTotal { return true }
                                    lines.feed(raw) { line in
                                        if let v = try? JSONValue.parse(line), v.objectValue != nil { messages.append(v) } else if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { state.junk() }
                                    }
                                    return false
                                }
                                if lines.droppedSinceLastCheck() > 0 { state.dropped() }
                                for m in messages { await session.deliver(m) }
                                if stop {
                                    await session.close(.malformed("the server sent more than \(limits.maxTotalBytes) bytes"))
                                    StdioTransport.signalGroup(pgid, SIGKILL)
                                    break
                                }
                            }
                        } catch {}
                        await session.close(.closed(state.timedOut ? "deadline reached" : "the server closed its output"))
                    }
                    group.addTask {
                        do {
                            for try await chunk in execution.standardError {
                                chunk.withUnsafeBytes { state.stderr($0) }
                            }
                        } catch {}
                    }
                    group.addTask {
                        do {
                            try await Task.sleep(for: limits.deadline)
                            state.markTimedOut()
                            await session.close(.timeout(method: "the whole scan", seconds: Double(limits.deadline.components.seconds)))
                            StdioTransport.signalGroup(pgid, SIGKILL)
                        } catch {}
                    }
                    let outcome = await probe.run(session)
                    await session.close(.closed("scan finished"))
                    // Close stdin, ask the whole group to stop, and make sure it does within the grace period.
                    outgoingCont.finish()
                    StdioTransport.signalGroup(pgid, SIGTERM)
                    let grace = limits.killGrace
                    let killer = Task.detached {
                        try? await Task.sleep(for: grace)
                        StdioTransport.signalGroup(pgid, SIGKILL)
                    }
                    group.cancelAll()
                    await group.waitForAll()
                    _ = killer  // left running: it kills whatever of the group ignored SIGTERM
                    return outcome
                }
            }
            // The child is reaped now; anything left in its group (a daemonised grandchild) gets the grace period, then SIGKILL.
            await StdioTransport.reapGroup(result.processIdentifier.value, grace: limits.killGrace)
            var run = state.snapshot(probe: result.closureResult)
            switch result.terminationStatus {
            case .exited(let code): run.exitDescription = "exited with status \(code)"
            case .signaled(let sig): run.exitDescription = "killed by signal \(sig)"
            }
            return run
        } catch {
            var run = state.snapshot(probe: ProbeOutcome())
            run.launchError = "could not start \(executable): \(error)"
            return run
        }
    }

    static func signalGroup(_ pgid: pid_t, _ sig: Int32) {
        guard pgid > 1 else { return }
        _ = kill(-pgid, sig)
        _ = kill(pgid, sig)
    }

    static func awaitOwnGroup(_ pid: pid_t) async {
        let deadline = ContinuousClock.now + .seconds(5)
        while getpgid(pid) != pid && ContinuousClock.now < deadline {
            if getpgid(pid) == -1 && errno == ESRCH { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Waits up to `grace` for every process of the group to be gone, then kills what is left.
    public static func reapGroup(_ pgid: pid_t, grace: Duration) async {
        guard pgid > 1 else { return }
        let deadline = ContinuousClock.now + grace
        while kill(-pgid, 0) == 0 {
            if ContinuousClock.now >= deadline { _ = kill(-pgid, SIGKILL); return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// Shared counters of one run, written from the reader tasks. A lock keeps them simple and cheap.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private let limits: ChildLimits
    private var total = 0
    private var junkCount = 0
    private var droppedCount = 0
    private var isTimedOut = false
    private var tail: [UInt8] = []

    init(limits: ChildLimits) { self.limits = limits }

    func addBytes(_ n: Int) { lock.withLock { total += n } }
    var overTotal: Bool { lock.withLock { total > limits.maxTotalBytes } }
    var timedOut: Bool { lock.withLock { isTimedOut } }
    func junk() { lock.withLock { junkCount += 1 } }
    func dropped() { lock.withLock { droppedCount += 1 } }
    func markTimedOut() { lock.withLock { isTimedOut = true } }
    func stderr(_ raw: UnsafeRawBufferPointer) {
        lock.withLock {
            tail.append(contentsOf: raw)
            if tail.count > limits.stderrBytes * 2 { tail.removeFirst(tail.count - limits.stderrBytes) }
        }
    }

    func snapshot(probe: ProbeOutcome) -> StdioRun {
        lock.withLock {
            var r = StdioRun(probe: probe)
            r.junkLines = junkCount
            r.oversizeDropped = droppedCount
            r.totalBytes = total
            r.overTotal = total > limits.maxTotalBytes
            r.timedOut = isTimedOut
            r.stderrTail = String(decoding: tail.suffix(limits.stderrBytes), as: UTF8.self)
            return r
        }
    }
}

/// Splits a byte stream into lines, dropping (and counting) any line longer than `maxLine` without buffering it.
struct LineSplitter {
    let maxLine: Int
    var buffer: [UInt8] = []
    var discarding = false
    var dropped = 0
    private var reported = 0

    init(maxLine: Int) { self.maxLine = maxLine }

    mutating func feed(_ raw: UnsafeRawBufferPointer, _ line: ([UInt8]) -> Void) {
        var start = 0
        let n = raw.count
        while start < n {
            var end = start
            while end < n && raw[end] != 0x0A { end += 1 }
            if end == n {
                if !discarding {
                    buffer.append(contentsOf: raw[start..<n])
                    if buffer.count > maxLine { discarding = true; buffer.removeAll(keepingCapacity: false); dropped += 1 }
                }
                return
            }
            if discarding {
                discarding = false
            } else if buffer.isEmpty {
                if end - start > maxLine { dropped += 1 } else { line(Array(raw[start..<end])) }
            } else {
                buffer.append(contentsOf: raw[start..<end])
                if buffer.count > maxLine { dropped += 1 } else { line(buffer) }
                buffer.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    mutating func droppedSinceLastCheck() -> Int {
        let d = dropped - reported
        reported = dropped
        return d
    }
}
