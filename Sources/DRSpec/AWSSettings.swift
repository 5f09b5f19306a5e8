import Foundation

/// What pgdr.yaml describes: servers pgdr reaches directly, or the RDS
/// deployment that `pgdr synth` writes.
public enum Target: String, Sendable, Hashable, Codable, CaseIterable {
    case selfManaged = "self-managed"
    case aws
}

/// `aws:` in pgdr.yaml: how pgdr reaches the AWS APIs for `target: aws`.
/// Credentials never live here: they come from the environment, the shared
/// files (`AWS_PROFILE`) or the instance's role.
public struct AWSSettings: Sendable, Hashable, Codable {
    /// One endpoint for every service (moto_server, a proxy); `AWS_ENDPOINT_URL` does the same.
    public var endpoint: String?
    /// Where failover notices go (default: the DR region's topic that synth creates, `NAME-alerts-ENV`).
    public var snsTopicArn: String?
    /// A DB parameter group with `default_transaction_read_only = 1`: the
    /// fence for a reachable old primary (applied, then the instance rebooted).
    public var fenceParameterGroup: String?
    /// How long a promotion may take before the step fails.
    public var promotionTimeout: TimeSpan = .minutes(30)
    /// How long `pgdr rejoin` follows the creation of the new replica.
    public var replicaTimeout: TimeSpan = .hours(2)
    /// SQL to the instances, where this machine reaches them: the heartbeat
    /// and lag in bytes in `status`, and the write that proves a promotion.
    public var database: RDSDatabaseAccess?

    public init() {}
}

/// `aws.database:` how pgdr opens SQL sessions to the RDS instances: TLS
/// verified against the RDS CA bundle (verify-full), the master user's
/// name and password from the Secrets Manager secret (each instance's own
/// region's copy, so a session to the DR instance needs nothing from the
/// primary's region), each instance at the endpoint RDS reports unless
/// `addresses` names another (a tunnel, a proxy).
public struct RDSDatabaseAccess: Sendable, Hashable, Codable {
    /// A PEM bundle: AWS's `global-bundle.pem`, or the CA of what stands in.
    public var caFile: String
    /// Default: synth's `NAME-master` (with the environment suffix rules of resource names).
    public var secretId: String?
    /// Instance identifier -> where to reach it instead of its RDS endpoint.
    public var addresses: [String: HostAndPort] = [:]
    /// How long the verify step of a failover tries to write on the new primary.
    public var writeTimeout: TimeSpan = .minutes(2)

    public init(caFile: String) { self.caFile = caFile }
}

/// `host:port`.
public struct HostAndPort: Sendable, Hashable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT` (a bracketed IPv6 host too); nil when it is not one.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
