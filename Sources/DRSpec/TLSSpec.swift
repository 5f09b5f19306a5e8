/// `tls:` in pgdr.yaml, globally or per node: how pgdr's own sessions (and
/// the streaming replication it configures) protect the connection to a
/// server. The modes are libpq's `sslmode` names, without the unsafe ones:
/// there is no `prefer` (a server that offers no TLS would silently get the
/// password exchange in the clear).
public struct TLSSpec: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// No TLS at all: only for servers reached on a trusted local path.
        case disable
        /// TLS, without checking who answers (no CA given).
        case require
        /// TLS, and the server's certificate must be signed by `ca`.
        case verifyCA = "verify-ca"
        /// As verify-ca, and the certificate must name the host pgdr connects to.
        case verifyFull = "verify-full"

        public var verifiesChain: Bool { self == .verifyCA || self == .verifyFull }
    }

    public var mode: Mode
    /// PEM file of the certificate authority the servers' certificates come
    /// from (a lab's own CA, your company's, or the RDS CA bundle); relative
    /// to pgdr.yaml.
    public var ca: String?

    public init(mode: Mode, ca: String? = nil) {
        self.mode = mode
        self.ca = ca
    }

    /// Without `tls:`: TLS required, the server unverified (pgdr says so).
    public static let unsaid = TLSSpec(mode: .require)

    /// `ca` given and no mode: the strictest.
    static func defaultMode(ca: String?) -> Mode { ca == nil ? .require : .verifyFull }

    /// libpq's keywords for the same protection (`sslmode`, `sslrootcert`),
    /// for connection strings pgdr prints or writes into primary_conninfo.
    public func libpqParameters(resolvingAgainst baseDirectory: String) -> [(String, String)] {
        var parameters = [("sslmode", mode.rawValue)]
        if let ca, mode != .disable { parameters.append(("sslrootcert", Self.resolve(ca, against: baseDirectory))) }
        return parameters
    }

    /// The CA file as an absolute path.
    public func caPath(resolvingAgainst baseDirectory: String) -> String? {
        ca.map { Self.resolve($0, against: baseDirectory) }
    }

    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : "\(base)/\(path)")
    }
}
