import AtlasModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder a site is written into, with a manifest of what the last build left there (each file's content digest
/// and, for tool pages, the fingerprint of their inputs), so that a rebuild reads nothing back and touches only what
/// changed. The manifest is cleared when a build starts and written when it ends: a build that stops halfway (a full
/// disk) leaves no manifest to trust, and the next build rewrites everything.
struct SiteFolder: Sendable {
    static let marker = ".toolatlas-site"
    static let header = "ToolAtlas writes and prunes this folder. Each line: content digest, inputs fingerprint, path."

    let out: String
    private var old = Manifest()
    /// For each file of the last build (by its number in `old`), whether this build produced it again.
    private var produced: [Bool] = []
    /// For each folder of the last build (by its number in `Listed`), whether it is as that build left it.
    private var intact: [Bool] = []
    /// What this build produced, in the order it produced it (the same inputs give the same order).
    private var new: [(path: String, content: UInt64, inputs: UInt64)] = []
    /// How many paths of the last build this one produced again: when all were, nothing is stale.
    private var reproduced = 0
    private let hadManifest: Bool
    /// Nothing was there before this build: nothing can be stale.
    private let startedEmpty: Bool
    private var report = SiteReport()

    init(_ out: String) throws(SiteError) {
        self.out = out
        let fm = FileManager.default
        let markerPath = out + "/" + SiteFolder.marker
        if fm.fileExists(atPath: out) {
            let contents = (try? fm.contentsOfDirectory(atPath: out)) ?? []
            if !contents.isEmpty && !fm.fileExists(atPath: markerPath) {
                throw SiteError(step: "writing the site", path: out, message: "folder is not empty and was not made by ToolAtlas; choose another --out")
            }
        }
        var manifest = false
        startedEmpty = ((try? fm.contentsOfDirectory(atPath: out)) ?? []).allSatisfy { $0 == SiteFolder.marker }
        // When the last build finished: a folder not changed since holds every file the manifest lists in it.
        var finished = stat()
        if let data = FileManager.default.contents(atPath: markerPath), stat(markerPath, &finished) == 0 {
            (old, intact) = SiteFolder.parseManifest(data, root: out, finished: finished.st_mtim)
            manifest = old.count > 0
        }
        hadManifest = manifest
        produced = Array(repeating: false, count: old.count)
    }

    /// Clears the manifest before anything is written (reading the folder changes nothing in it).
    func begin() throws(SiteError) {
        let markerPath = out + "/" + SiteFolder.marker
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try SiteFolder.writeFile(markerPath, Array((SiteFolder.header + "\n").utf8))
        } catch { throw SiteError(step: "writing the site", path: markerPath, message: "\(error)") }
    }

    /// What workers may use while the build runs: the last manifest, read only.
    var writer: Writer { Writer(out: out, old: old, intact: intact) }

    /// A file of the last build: its content digest, the fingerprint of its inputs, and its folder's number.
    struct Listed: Sendable {
        var content: UInt64
        var inputs: UInt64
        var folder: Int32
    }

    /// The last build's manifest, read in place: each file's path stays in the manifest's own bytes and is found by a
    /// table of FNV-1a hashes, confirmed byte for byte (no string is made per file; one is made only for a file to
    /// remove).
    struct Manifest: Sendable {
        fileprivate(set) var bytes: [UInt8] = []
        struct Entry: Sendable {
            var start: Int32
            var count: Int32
            var hash: UInt64
            var listed: Listed
        }
        private var entries: [Entry] = []
        /// Open addressing by the hash's low bits: an entry's number plus one, 0 for an empty slot.
        private var slots: [Int32] = []

        init() {}
        init(bytes: [UInt8]) { self.bytes = bytes }

        var count: Int { entries.count }
        func listed(_ i: Int) -> Listed { entries[i].listed }
        func path(_ i: Int) -> String { String(decoding: bytes[Int(entries[i].start)..<Int(entries[i].start + entries[i].count)], as: UTF8.self) }

        /// Makes the table; a path listed twice keeps its last line.
        mutating func index(_ all: [Entry]) {
            var size = 16
            while size < all.count * 2 { size <<= 1 }
            slots = Array(repeating: 0, count: size)
            entries = []
            entries.reserveCapacity(all.count)
            bytes.withUnsafeBufferPointer { b in
                for e in all {
                    let path = UnsafeBufferPointer(rebasing: b[Int(e.start)..<Int(e.start + e.count)])
                    if let i = find(path, e.hash, b) { entries[i].listed = e.listed; continue }
                    var k = Int(truncatingIfNeeded: e.hash) & (size - 1)
                    while slots[k] != 0 { k = (k + 1) & (size - 1) }
                    entries.append(e)
                    slots[k] = Int32(entries.count)
                }
            }
        }

        private func find(_ path: UnsafeBufferPointer<UInt8>, _ hash: UInt64, _ b: UnsafeBufferPointer<UInt8>) -> Int? {
            guard !slots.isEmpty else { return nil }
            var k = Int(truncatingIfNeeded: hash) & (slots.count - 1)
            while slots[k] != 0 {
                let i = Int(slots[k] - 1)
                let e = entries[i]
                if e.hash == hash, Int(e.count) == path.count,
                   path.count == 0 || memcmp(b.baseAddress! + Int(e.start), path.baseAddress!, path.count) == 0 { return i }
                k = (k + 1) & (slots.count - 1)
            }
            return nil
        }

        /// The number of the file at `path`, if the last build made it.
        func index(of path: String) -> Int? {
            guard !entries.isEmpty else { return nil }
            var path = path
            return path.withUTF8 { p in bytes.withUnsafeBufferPointer { b in find(p, Hashing.fnv1a64(bytes: p), b) } }
        }

        subscript(_ path: String) -> Listed? { index(of: path).map { entries[$0].listed } }
    }

    struct Writer: Sendable {
        let out: String
        let old: Manifest
        let intact: [Bool]

        /// Whether a file of the last build is still there: its folder is as that build left it (no entry added or
        /// removed since), or, failing that, the file itself is found.
        func exists(_ o: Listed, _ path: String) -> Bool { intact[Int(o.folder)] || access(out + "/" + path, F_OK) == 0 }

        /// Whether a page can stay: same inputs as last time, and still on disk.
        func canKeep(_ path: String, inputs: UInt64) -> Bool {
            guard inputs != 0, let o = old[path], o.inputs == inputs else { return false }
            return exists(o, path)
        }

        /// Writes a file unless the same bytes are already there (from any thread: files never share a path).
        func store(_ path: String, _ bytes: [UInt8], inputs: UInt64) throws(SiteError) -> SiteGenerator.Output {
            let digest = Hashing.digest64(bytes)
            let full = out + "/" + path
            if let o = old[path], o.content == digest, exists(o, path) {
                return .stored(path, content: digest, inputs: inputs, written: false)
            }
            do { try SiteFolder.writeFile(full, bytes) } catch { throw SiteError(step: "writing", path: full, message: "\(error)") }
            return .stored(path, content: digest, inputs: inputs, written: true)
        }
    }

    mutating func take(_ output: SiteGenerator.Output) {
        let path = output.path
        if path.hasSuffix(".html") { report.pages += 1 }
        let index = old.index(of: path)
        let before = index.map { old.listed($0) }
        if let index, !produced[index] { produced[index] = true; reproduced += 1 }
        switch output {
        case .kept(_, let inputs):
            new.append((path, before?.content ?? 0, inputs))
            report.unchanged += 1
        case .stored(_, let content, let inputs, let written):
            new.append((path, content, inputs))
            if written { report.written += 1 } else { report.unchanged += 1 }
        case .file(_, let bytes, let inputs):
            new.append((path, Hashing.digest64(bytes), inputs))
        }
    }

    /// Removes what this build no longer produces, then records the manifest.
    mutating func finish() throws(SiteError) -> SiteReport {
        let fm = FileManager.default
        var stale: [String] = []
        if hadManifest {
            if reproduced < old.count {
                stale = (0..<old.count).filter { !produced[$0] }.map { old.path($0) }
            }
        } else if !startedEmpty, let walker = fm.enumerator(atPath: out) {
            let produced = Set(new.map(\.path))
            while let p = walker.nextObject() as? String {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: out + "/" + p, isDirectory: &isDir), !isDir.boolValue, !produced.contains(p), p != SiteFolder.marker { stale.append(p) }
            }
        }
        for p in stale.sorted() where fm.fileExists(atPath: out + "/" + p) {
            try? fm.removeItem(atPath: out + "/" + p)
            report.removed += 1
        }
        var text = Array((SiteFolder.header + "\n").utf8)
        text.reserveCapacity(new.count * 80)
        for e in new {
            SiteFolder.hex(e.content, into: &text); text.append(0x09)
            SiteFolder.hex(e.inputs, into: &text); text.append(0x09)
            text += e.path.utf8; text.append(0x0A)
        }
        do { try SiteFolder.writeFile(out + "/" + SiteFolder.marker, text) } catch {
            throw SiteError(step: "writing the site manifest", path: out + "/" + SiteFolder.marker, message: "\(error)")
        }
        return report
    }

    /// The manifest's lines, read as bytes (a line per file of the site; lines that do not parse are skipped), and
    /// whether each of their folders (under `root`) is intact: last changed before the manifest was written
    /// (`finished`), as deleting or adding a file changes its folder's time. Equal times count as changed (file times
    /// are coarser than the clock), so a file removed just after the build is still noticed; a clock set back between
    /// two builds could hide a removed file until the manifest is lost. Folders are looked at on every core, once each
    /// (a few thousand look-ups instead of one per file).
    static func parseManifest(_ data: Data, root: String, finished: timespec) -> (files: Manifest, intact: [Bool]) {
        var out = Manifest(bytes: Array(data))
        var folders: [String] = [], numbers: [String: Int32] = [:]
        var number: Int32 = -1
        var entries: [Manifest.Entry] = []
        entries.reserveCapacity(data.count / 80)
        out.bytes.withUnsafeBufferPointer { bytes in
            var folder = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
            var start = (bytes.firstIndex(of: 0x0A) ?? bytes.count) + 1
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                let line = bytes[start..<end]
                start = end + 1
                guard line.count > 34, line[line.startIndex + 16] == 0x09, line[line.startIndex + 33] == 0x09,
                      let c = SiteFolder.unhex(line.prefix(16)), let i = SiteFolder.unhex(line.dropFirst(17).prefix(16)) else { continue }
                let path = UnsafeBufferPointer(rebasing: line.dropFirst(34))
                // Lines of one folder mostly come together: the folder is looked up when it changes (compared in place).
                let dir = UnsafeBufferPointer(rebasing: path[..<(path.lastIndex(of: 0x2F) ?? path.startIndex)])
                if number < 0 || !dir.elementsEqual(folder) {
                    folder = dir
                    let name = String(decoding: dir, as: UTF8.self)
                    if let n = numbers[name] { number = n } else { number = Int32(folders.count); numbers[name] = number; folders.append(name) }
                }
                entries.append(Manifest.Entry(start: Int32(path.baseAddress! - bytes.baseAddress!), count: Int32(path.count),
                                              hash: Hashing.fnv1a64(bytes: path), listed: Listed(content: c, inputs: i, folder: number)))
            }
        }
        out.index(entries)
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if rootFD >= 0 { close(rootFD) } }
        let intact = folders.concurrentMap(chunk: 256) { dir -> Bool in
            var st = stat()
            guard rootFD >= 0, fstatat(rootFD, dir.isEmpty ? "." : dir, &st, 0) == 0, st.st_mode & S_IFMT == S_IFDIR else { return false }
            let t = st.st_mtim
            return t.tv_sec < finished.tv_sec || (t.tv_sec == finished.tv_sec && t.tv_nsec < finished.tv_nsec)
        }
        return (out, intact)
    }

    static func unhex(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        guard digits.count == 16 else { return nil }
        var v: UInt64 = 0
        for d in digits {
            switch d {
            case 0x30...0x39: v = v << 4 | UInt64(d - 0x30)
            case 0x61...0x66: v = v << 4 | UInt64(d - 0x61 + 10)
            default: return nil
            }
        }
        return v
    }

    /// Sixteen lower-case hex digits.
    static func hex(_ v: UInt64, into out: inout [UInt8]) {
        for shift in stride(from: 60, through: 0, by: -4) {
            let d = UInt8((v >> UInt64(shift)) & 0xF)
            out.append(d < 10 ? 0x30 + d : 0x61 + d - 10)
        }
    }

    struct WriteError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }

    /// `mkdir -p`, safe when two workers make the same folder at once.
    static func makeFolders(_ dir: String) throws {
        if mkdir(dir, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw WriteError(errno: errno) }
        try makeFolders((dir as NSString).deletingLastPathComponent)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw WriteError(errno: errno) }
    }

    /// Writes in place with plain system calls: a site file is rebuilt from the database whenever needed, so the
    /// temporary-file-and-rename dance (five times slower on this file system) buys nothing. A short write
    /// (a full disk) is an error that names the file.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        var fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            // The folder is missing: made on first use (by whichever worker gets there first).
            try makeFolders((path as NSString).deletingLastPathComponent)
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw WriteError(errno: errno) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw WriteError(errno: errno) }
            done += n
        }
    }
}
