import DRSpec
import Foundation

/// The verdict over all nodes at one moment: who is primary, how far behind
/// the standby is, and every problem found. This is `pgdr status --json`.
public struct StatusReport: Sendable, Codable, Hashable {
    public var checkedAt: Date
    public var healthy: Bool
    public var problems: [Problem]
    public var replication: Replication?
    public var nodes: [NodeSample]
    /// Quorum mode: the leader key and the agents' records in etcd.
    public var quorum: QuorumView? = nil
    /// `aws` for an RDS deployment (absent: self-managed servers).
    public var target: Target? = nil
    /// The agent's last look at the backups (pgBackRest), when configured.
    public var backups: BackupStatus? = nil
    /// `replication.mode: bounded`: the bound, the unreceived lag, whether commits are held.
    public var bound: BoundStatus? = nil
    /// `target: aws`, from `pgdr status`: the deployment's CloudWatch alarms.
    public var cloudAlarms: CloudAlarmsView? = nil
    /// `target: aws` with `dns.healthCheckId`, from `pgdr status`: Route 53's checkers.
    public var healthCheck: HealthCheckView? = nil

    public struct Problem: Sendable, Codable, Hashable, CustomStringConvertible {
        public var node: String?
        public var message: String
        public init(node: String?, message: String) {
            self.node = node
            self.message = message
        }
        public var description: String { node.map { "\($0): \(message)" } ?? message }
    }

    /// The primary → standby pair and the lag between them.
    public struct Replication: Sendable, Codable, Hashable {
        public enum LagSource: String, Sendable, Codable {
            /// The standby has replayed everything the primary has flushed: lag is 0.
            case caughtUp = "caught-up"
            /// Primary's clock minus the newest heartbeat row the standby has replayed.
            case heartbeat
            /// Behind, and no heartbeat has reached the standby yet: seconds unknown.
            case unknown
            /// RDS: CloudWatch's `ReplicaLag` metric (reads up to 300 s on an idle primary).
            case cloudWatch = "ReplicaLag (CloudWatch)"
            /// RDS: the lag monitor's heartbeat lag (`pgdr/ReplicationLagSeconds` in CloudWatch).
            case heartbeatMetric = "heartbeat (pgdr lag monitor)"
        }
        public var primary: String
        public var standby: String
        public var streaming: Bool
        /// Primary flush LSN minus standby replay LSN.
        public var lagBytes: Int64?
        public var lagSeconds: Double?
        public var lagSource: LagSource
        /// RDS with SQL: the CloudWatch figure beside the one measured over SQL.
        public var metricLagSeconds: Double?
        public var metricLagSource: LagSource?
    }
}
