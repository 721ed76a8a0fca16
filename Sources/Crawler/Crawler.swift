import AtlasModel
import Foundation

/// Runs many scans at once with bounded concurrency; hands each result over as soon as it is done.
public struct Crawler: Sendable {
    public enum Event: Sendable {
        case started(String)
        case finished(ServerEntry, ScanResult)
    }

    public var scanner: ServerScanner
    public var jobs: Int

    /// Two at a time per core suits servers that mostly wait on their interpreter's start-up.
    public static var defaultJobs: Int { max(2, min(8, ProcessInfo.processInfo.activeProcessorCount * 2)) }

    public init(scanner: ServerScanner = ServerScanner(), jobs: Int = Crawler.defaultJobs) {
        self.scanner = scanner; self.jobs = max(1, jobs)
    }

    /// Scans `entries`; `onEvent` is called on one task at a time, in completion order.
    public func run(_ entries: [ServerEntry], onEvent: @escaping @Sendable (Event) async -> Void) async {
        await withTaskGroup(of: (ServerEntry, ScanResult).self) { group in
            var iterator = entries.makeIterator()
            var running = 0
            func startNext() async -> Bool {
                guard let e = iterator.next() else { return false }
                await onEvent(.started(e.name))
                let scanner = self.scanner
                group.addTask { (e, await scanner.scan(e)) }
                return true
            }
            while running < jobs, await startNext() { running += 1 }
            while let (entry, result) = await group.next() {
                running -= 1
                await onEvent(.finished(entry, result))
                if await startNext() { running += 1 }
            }
        }
    }
}
