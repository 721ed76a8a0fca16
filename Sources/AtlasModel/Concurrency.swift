import Foundation

extension Array where Element: Sendable {
    /// `map` on every core, `chunk` elements per work item, results in the original order. For pure, CPU-bound
    /// transforms (parsing definitions, rendering pages) over arrays large enough to pay for the threads.
    public func concurrentMap<T>(chunk: Int, _ transform: (Element) -> T) -> [T] {
        guard count > chunk else { return map(transform) }
        let out = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        out.initialize(repeating: nil)
        defer { out.deinitialize(); out.deallocate() }
        nonisolated(unsafe) let results = out
        nonisolated(unsafe) let work = transform
        let items = self
        DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<Swift.min(items.count, (c + 1) * chunk) { results[i] = work(items[i]) }
        }
        return out.map { $0! }
    }
}

/// Work started on another thread at once; `result` waits for it.
public final class Background<T: Sendable, E: Error>: @unchecked Sendable {
    private var value: Result<T, E>? = nil
    private let done = DispatchSemaphore(value: 0)

    public init(_ work: @escaping @Sendable () throws(E) -> T) {
        Thread.detachNewThread { [self] in
            value = Result { () throws(E) in try work() }
            done.signal()
        }
    }

    /// The work's outcome, once it is done.
    public var result: Result<T, E> {
        done.wait()
        defer { done.signal() }
        return value!
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (declared in malloc.h, which the Glibc module does not bring in).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

public enum Memory {
    /// Set by a command that ends the process once its job is done: the job's large structures (a site's model, tool
    /// list and manifests) are then kept instead of being freed object by object just before the process exits, which
    /// cost a rebuild tens of milliseconds (the system takes the memory back at once at exit).
    nonisolated(unsafe) public static var keepUntilExit = false
    nonisolated(unsafe) private static var kept: [Any] = []
    private static let keptLock = NSLock()

    /// Keeps `value` alive until the process exits, when `keepUntilExit` is set; otherwise does nothing.
    public static func keep(_ value: Any) {
        guard keepUntilExit else { return }
        keptLock.lock()
        kept.append(value)
        keptLock.unlock()
    }

    /// Hands memory that was freed back to the system. Work spread over threads leaves freed blocks in each thread's
    /// malloc arena, where they count in the process's resident size until trimmed; called between big phases.
    public static func returnFreed() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

/// Phase timings on standard error when `TOOLATLAS_TIMINGS` is set: where a long job spends its wall time.
public enum Timings {
    static let enabled = ProcessInfo.processInfo.environment["TOOLATLAS_TIMINGS"] != nil
    nonisolated(unsafe) static var last: ContinuousClock.Instant? = nil
    nonisolated(unsafe) static var lastCPU: Double = 0

    /// The process's CPU time so far (user and system, every thread), in milliseconds.
    static func cpuMilliseconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000
    }

    /// Prints the wall time and the CPU time (all threads) since the previous mark (call from one thread); the first
    /// mark prints the process's CPU time so far (loading, the runtime, reading the command line).
    public static func mark(_ phase: @autoclosure () -> String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let cpu = cpuMilliseconds()
        let ms: Double
        if let last {
            let d = now - last
            ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        } else {
            ms = cpu
        }
        let spent = cpu - lastCPU
        last = now
        lastCPU = cpu
        FileHandle.standardError.write(Data(String(format: "%7.1f ms %7.1f ms CPU  %@\n", ms, spent, phase()).utf8))
    }
}
