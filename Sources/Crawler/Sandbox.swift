import AtlasModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child server is confined: a fresh HOME and working directory, only the declared environment,
/// resource limits through prlimit(1) where it exists, and a program looked up on a fixed PATH.
public struct Sandbox: Sendable {
    /// Directories searched for a bare program name. The scanner's own folder comes last, so the bundled
    /// fixture server can be named in catalogues without a path.
    public var searchPath: [String]
    public var addressSpaceBytes: Int = 4 << 30
    public var cpuSeconds: Int = 120
    public var fileSizeBytes: Int = 256 << 20
    public var maxProcesses: Int = 256
    public var maxOpenFiles: Int = 256
    public var usePrlimit = true
    public var tempRoot: String = NSTemporaryDirectory()

    public init(searchPath: [String]? = nil) {
        var dirs = searchPath ?? (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        if searchPath == nil {
            let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
            if !dirs.contains(own) { dirs.append(own) }
        }
        self.searchPath = dirs.filter { !$0.isEmpty && $0.hasPrefix("/") }
    }

    /// The absolute path of `program`, or nil when it is not installed.
    public func resolve(_ program: String) -> String? {
        if program.contains("/") {
            return access(program, X_OK) == 0 ? program : nil
        }
        for dir in searchPath {
            let p = dir + "/" + program
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// A fresh private directory for one scan, used as HOME, TMPDIR and working directory.
    public func makeScratch() throws -> String {
        let root = tempRoot.hasSuffix("/") && tempRoot.count > 1 ? String(tempRoot.dropLast()) : tempRoot
        var template = Array((root + "/toolatlas-scan-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw SandboxError.scratch(String(cString: strerror(errno))) }
        return String(cString: p)
    }

    public func removeScratch(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The child's whole environment: what the plan declares, plus HOME, TMPDIR, PATH and a UTF-8 locale.
    public func environment(for plan: LaunchPlan, scratch: String) -> [String: String] {
        var env = plan.environment
        env["HOME"] = scratch
        env["TMPDIR"] = scratch
        env["PATH"] = searchPath.joined(separator: ":")
        env["LANG"] = env["LANG"] ?? "C.UTF-8"
        return env
    }

    /// The argv actually spawned: the resolved program wrapped in prlimit when available.
    public func wrap(program: String, arguments: [String]) -> (executable: String, arguments: [String]) {
        let candidates: [String] = ["/usr/bin/prlimit", "/bin/prlimit"]
        guard usePrlimit, let prlimit = candidates.first(where: { access($0, X_OK) == 0 }) else {
            return (program, arguments)
        }
        return (prlimit, ["--as=\(addressSpaceBytes)", "--cpu=\(cpuSeconds)", "--fsize=\(fileSizeBytes)",
                          "--nproc=\(maxProcesses)", "--nofile=\(maxOpenFiles)", "--", program] + arguments)
    }
}

public enum SandboxError: Error, CustomStringConvertible {
    case scratch(String)
    public var description: String {
        switch self { case .scratch(let why): "cannot create a scratch directory: \(why)" }
    }
}
