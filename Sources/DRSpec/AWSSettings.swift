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

    public init() {}
}
