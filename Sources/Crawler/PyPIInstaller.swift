import AtlasModel
import Foundation
import Subprocess
import SystemPackage

/// Installs a PyPI package into its own cached environment (uv when present, else venv + pip) and finds its console script.
/// One install per package and version at a time; a finished environment is reused by later scans.
public actor PyPIInstaller {
    public static let shared = PyPIInstaller()
    private var inFlight: [String: Task<Result<String, InstallError>, Never>] = [:]

    public struct InstallError: Error, Sendable, CustomStringConvertible {
        public var missingRuntime: String?
        public var message: String
        public var description: String { message }
    }

    public static var cacheRoot: String {
        if let c = ProcessInfo.processInfo.environment["TOOLATLAS_CACHE"], !c.isEmpty { return c }
        return (ProcessInfo.processInfo.environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/toolatlas"
    }

    /// The folder of the package's environment (created on first use).
    static func folder(_ p: LaunchPlan.PyPIPackage) -> String {
        let safe = p.requirement.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" }
        return cacheRoot + "/pypi/" + String(safe)
    }

    /// The absolute path of the console script to start: `script` when the package installs one by that name,
    /// otherwise the only (or the MCP-named) console script the package declares.
    public func prepare(_ p: LaunchPlan.PyPIPackage, script: String, sandbox: Sandbox, timeout: Duration) async -> Result<String, InstallError> {
        let key = p.requirement
        if let t = inFlight[key] { return await t.value }
        let t = Task { await PyPIInstaller.install(p, script: script, sandbox: sandbox, timeout: timeout) }
        inFlight[key] = t
        let r = await t.value
        inFlight[key] = nil
        return r
    }

    static func install(_ p: LaunchPlan.PyPIPackage, script: String, sandbox: Sandbox, timeout: Duration) async -> Result<String, InstallError> {
        let dir = folder(p)
        let done = dir + "/.toolatlas-installed"
        if !FileManager.default.fileExists(atPath: done) {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.createDirectory(atPath: cacheRoot + "/pypi", withIntermediateDirectories: true)
            var steps: [[String]] = []
            if let uv = sandbox.resolve("uv") {
                steps = [[uv, "venv", "--quiet", dir], [uv, "pip", "install", "--quiet", "--python", dir + "/bin/python", p.requirement]]
            } else if let python = sandbox.resolve("python3") {
                steps = [[python, "-m", "venv", dir], [dir + "/bin/pip", "install", "--quiet", "--disable-pip-version-check", p.requirement]]
            } else {
                return .failure(InstallError(missingRuntime: "python3", message: "neither uv nor python3 is installed, so PyPI package \(p.requirement) cannot be installed"))
            }
            for step in steps {
                if let failure = await run(step, timeout: timeout) {
                    try? FileManager.default.removeItem(atPath: dir)
                    return .failure(InstallError(missingRuntime: nil, message: "installing \(p.requirement) failed: \(failure)"))
                }
            }
            _ = FileManager.default.createFile(atPath: done, contents: Data())
        }
        let bin = dir + "/bin/"
        if FileManager.default.isExecutableFile(atPath: bin + script) { return .success(bin + script) }
        let scripts = consoleScripts(dir)
        let pick = scripts.count == 1 ? scripts.first : scripts.first(where: { $0.lowercased().contains("mcp") })
        if let pick, FileManager.default.isExecutableFile(atPath: bin + pick) { return .success(bin + pick) }
        return .failure(InstallError(missingRuntime: nil, message: "\(p.requirement) installed, but it has no console script \(script) (found: \(scripts.joined(separator: ", ")))"))
    }

    /// Console scripts declared in the environment's installed distributions (entry_points.txt).
    static func consoleScripts(_ dir: String) -> [String] {
        let fm = FileManager.default
        guard let libs = try? fm.contentsOfDirectory(atPath: dir + "/lib") else { return [] }
        var out: [String] = []
        for lib in libs {
            let site = dir + "/lib/" + lib + "/site-packages"
            for d in ((try? fm.contentsOfDirectory(atPath: site)) ?? []).filter({ $0.hasSuffix(".dist-info") }).sorted() {
                guard let text = try? String(contentsOfFile: site + "/" + d + "/entry_points.txt", encoding: .utf8) else { continue }
                var inScripts = false
                for line in text.split(separator: "\n") {
                    let t = line.trimmingCharacters(in: .whitespaces)
                    if t.hasPrefix("[") { inScripts = t == "[console_scripts]"; continue }
                    if inScripts, let eq = t.firstIndex(of: "=") { out.append(t[..<eq].trimmingCharacters(in: .whitespaces)) }
                }
            }
        }
        return out
    }

    /// Runs one install step; nil when it succeeded, otherwise the tail of what it printed.
    static func run(_ argv: [String], timeout: Duration) async -> String? {
        let config = Configuration(executable: .path(FilePath(argv[0])), arguments: Arguments(Array(argv.dropFirst())))
        do {
            let result = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    let r = try await Subprocess.run(config, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
                    if case .exited(0) = r.terminationStatus { return nil }
                    return "\(argv[0]) \(r.terminationStatus): " + String(r.standardError.suffix(400))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return "\(argv[0]) took longer than \(timeout)"
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            return result
        } catch {
            return "\(argv[0]): \(error)"
        }
    }
}
