import Foundation

/// Where everything of a lab lives. One folder per region, as if each were
/// its own site: data directory, WAL archive, server log, and the password
/// file the servers use to reach each other.
public struct LabLayout: Sendable {
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var stateFile: String { "\(root)/lab.json" }
    public var specFile: String { "\(root)/pgdr.yaml" }
    public var secrets: String { "\(root)/secrets" }
    /// A libpq password file for the person running the lab (admin role).
    public var clientPassfile: String { "\(root)/pgpass" }
    public func secret(_ role: String) -> String { "\(secrets)/\(role).password" }

    public func regionDirectory(_ region: String) -> String { "\(root)/\(region)" }
    public func dataDirectory(_ region: String) -> String { "\(regionDirectory(region))/data" }
    public func archive(_ region: String) -> String { "\(regionDirectory(region))/archive" }
    public func logFile(_ region: String) -> String { "\(regionDirectory(region))/postgres.log" }
    /// libpq password file the server itself reads (replication connections).
    public func serverPassfile(_ region: String) -> String { "\(regionDirectory(region))/pgpass" }
    /// The lab's certificate authority (`ca.crt`, `ca.key`).
    public var tls: String { "\(root)/tls" }
    public var certificateAuthority: String { "\(tls)/ca.crt" }
    /// A node's server certificate and key (owned by the server's user).
    public func serverCertificate(_ region: String) -> String { "\(regionDirectory(region))/server.crt" }
    public func serverKey(_ region: String) -> String { "\(regionDirectory(region))/server.key" }
    /// Labs made before TLS have no CA: they keep running without it.
    public var hasTLS: Bool { FileManager.default.fileExists(atPath: certificateAuthority) }
}
