import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Decides whether a remote server's URL may be contacted: only http(s), no credentials in the URL, and, unless
/// explicitly allowed, only public addresses. The name is resolved here and the connection is then pinned to the
/// address that was checked, so a second DNS answer (rebinding) cannot redirect it.
public struct AddressGuard: Sendable {
    /// Allows loopback, private and link-local addresses (tests, or scanning one's own network on purpose). Cloud
    /// metadata services stay refused even then: no MCP server lives there, and their answers are credentials.
    public var allowPrivate: Bool

    public init(allowPrivate: Bool = false) { self.allowPrivate = allowPrivate }

    public enum Verdict: Sendable, Equatable {
        /// Contact `host` at `address` (nil: let the client resolve it, when private addresses are allowed).
        case allowed(host: String, address: String?)
        case refused(String)
        case unreachable(String)
    }

    /// The scheme, host and port of a URL, as the client will use them.
    public struct Origin: Sendable, Hashable {
        public var scheme: String
        public var host: String
        public var port: Int
    }

    public static func origin(of url: String) -> Origin? {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = c.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return Origin(scheme: scheme, host: host.lowercased(), port: c.port ?? (scheme == "https" ? 443 : 80))
    }

    /// Host names of cloud metadata services, whatever they resolve to.
    static let metadataNames: Set<String> = ["metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"]

    public func check(_ url: String) async -> Verdict {
        guard let c = URLComponents(string: url) else { return .refused("\(url.prefix(200)) is not a URL") }
        guard let origin = AddressGuard.origin(of: url) else {
            return .refused("only http and https URLs with a host are contacted, not \(url.prefix(200))")
        }
        if c.user != nil || c.password != nil { return .refused("the URL carries credentials in its authority part; refused") }
        let name = origin.host.hasSuffix(".") ? String(origin.host.dropLast()) : origin.host
        if AddressGuard.metadataNames.contains(name) { return .refused("\(origin.host) names a cloud metadata service") }
        if !allowPrivate && (name == "localhost" || name.hasSuffix(".localhost")) {
            return .refused("\(origin.host) names this machine (allow private addresses to scan it)")
        }
        let addresses: [[UInt8]]
        switch await AddressGuard.resolve(origin.host) {
        case .failure(let why): return .unreachable("cannot resolve \(origin.host): \(why)")
        case .success(let a): addresses = a
        }
        guard let first = addresses.first else { return .unreachable("\(origin.host) has no address") }
        for a in addresses {
            guard let why = AddressGuard.nonPublicReason(a) else { continue }
            if why == AddressGuard.metadata { return .refused("\(origin.host) resolves to \(AddressGuard.text(a)), \(why)") }
            if !allowPrivate { return .refused("\(origin.host) resolves to \(AddressGuard.text(a)), \(why) (allow private addresses to scan it)") }
        }
        return .allowed(host: origin.host, address: AddressGuard.text(first))
    }

    static let metadata = "a cloud metadata address"

    /// Why an address (4 or 16 bytes) is not a public unicast address, or nil when it is one.
    public static func nonPublicReason(_ a: [UInt8]) -> String? {
        if a.count == 4 {
            let (x, y) = (a[0], a[1])
            switch true {
            case x == 0: return "a 'this network' address"
            case x == 10, x == 172 && (16...31).contains(y), x == 192 && y == 168: return "a private address"
            case x == 100 && (64...127).contains(y): return "a shared (carrier-grade NAT) address"
            case x == 127: return "a loopback address"
            case x == 169 && y == 254: return a[2] == 169 && a[3] == 254 ? AddressGuard.metadata : "a link-local address"
            case x == 192 && y == 0 && a[2] == 0: return "an IETF protocol address"
            case x == 198 && (18...19).contains(y): return "a benchmarking address"
            case x >= 224: return "a multicast or reserved address"
            default: return nil
            }
        }
        guard a.count == 16 else { return "not an IP address" }
        if a[0..<15].allSatisfy({ $0 == 0 }) { return a[15] == 1 ? "a loopback address" : "the unspecified address" }
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address that decides.
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF { return nonPublicReason(Array(a[12..<16])) }
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B && a[4..<12].allSatisfy({ $0 == 0 }) {
            return nonPublicReason(Array(a[12..<16]))
        }
        if a[0] == 0xFE && (a[1] & 0xC0) == 0x80 { return "a link-local address" }
        if (a[0] & 0xFE) == 0xFC { return a[0] == 0xFD && a[1] == 0x00 && a[2] == 0x0E && a[3] == 0xC2 ? AddressGuard.metadata : "a unique local (private) address" }
        if a[0] == 0xFF { return "a multicast address" }
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8 { return "a documentation address" }
        return nil
    }

    static func text(_ a: [UInt8]) -> String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        a.withUnsafeBytes { raw in _ = inet_ntop(a.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &buf, socklen_t(buf.count)) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Every address `host` resolves to (IP literals included), off the cooperative threads: getaddrinfo blocks.
    static func resolve(_ host: String) async -> Result<[[UInt8]], ResolveError> {
        await withCheckedContinuation { cont in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_family = AF_UNSPEC
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let rc = getaddrinfo(host, nil, &hints, &list)
                guard rc == 0 else { cont.resume(returning: .failure(ResolveError(String(cString: gai_strerror(rc))))); return }
                defer { freeaddrinfo(list) }
                var out: [[UInt8]] = []
                var p = list
                while let ai = p {
                    if let sa = ai.pointee.ai_addr {
                        if ai.pointee.ai_family == AF_INET {
                            var v4 = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                            out.append(withUnsafeBytes(of: &v4) { Array($0) })
                        } else if ai.pointee.ai_family == AF_INET6 {
                            var v6 = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                            out.append(withUnsafeBytes(of: &v6) { Array($0) })
                        }
                    }
                    p = ai.pointee.ai_next
                }
                var seen = Set<[UInt8]>()
                cont.resume(returning: .success(out.filter { seen.insert($0).inserted }))
            }
        }
    }

    public struct ResolveError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }
}
