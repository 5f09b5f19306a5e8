import DRSpec
import DRStatus
import Foundation

public enum OperationKind: String, Sendable, Hashable, Codable { case failover, switchover, rejoin }

/// The steps operations are made of. Each is journaled before and after it runs.
public enum Step: String, Sendable, Hashable, Codable, CaseIterable {
    // failover
    case fence, promote, verify, repoint, notify
    // switchover (plus promote, verify, repoint, notify)
    case stopWrites = "stop-writes", waitCatchUp = "wait-catch-up", restartOldAsStandby = "restart-old-as-standby"
    // rejoin
    case stopNode = "stop-node", resync, configureStandby = "configure-standby", createSlot = "create-slot",
         startStandby = "start-standby", waitStreaming = "wait-streaming"
    // rejoin on RDS
    case rebuildReplica = "rebuild-replica", waitReplica = "wait-replica"

    public var summary: String {
        switch self {
        case .fence: "fence the old primary (stop it and mark it so nothing starts it as a primary)"
        case .promote: "promote the DR replica (pg_promote)"
        case .verify: "verify the new primary takes a write"
        case .repoint: "repoint endpoints (run failover.hook)"
        case .notify: "notify the sinks"
        case .stopWrites: "stop writes on the primary (fast shutdown, which sends its last WAL to the standby)"
        case .waitCatchUp: "wait until the standby has replayed the primary's final WAL"
        case .restartOldAsStandby: "restart the old primary as a standby of the new one"
        case .stopNode: "make sure the node is stopped"
        case .resync: "pg_rewind from the new primary (fresh pg_basebackup when rewind is impossible)"
        case .configureStandby: "write standby settings (primary_conninfo, slot, restore_command)"
        case .createSlot: "create the node's replication slot on the primary"
        case .startStandby: "start the node as a standby"
        case .waitStreaming: "wait until it streams"
        case .rebuildReplica: "rename the old instance aside (kept) and create it again as a cross-region read replica of the new primary"
        case .waitReplica: "wait until the new replica is available"
        }
    }

    /// The wording for an RDS deployment, where it differs.
    public func summary(on target: Target) -> String {
        guard target == .aws else { return summary }
        switch self {
        case .fence: return "fence the old primary where its region answers (a read-only parameter group, then a reboot)"
        case .promote: return "promote the DR replica (PromoteReadReplica) and wait until RDS reports it standalone and available"
        case .verify: return "verify the new primary is available (a write needs SQL access: not yet on RDS)"
        case .repoint: return "point the Route 53 failover records at the new primary (only now, after promotion), then failover.hook"
        case .notify: return "notify the sinks and publish to the SNS topic"
        default: return summary
        }
    }
}

/// What an operation will do, computed before it does anything: both sides'
/// state, the estimated data loss, the steps, and what the operator must know.
public struct OperationPlan: Sendable, Hashable, Codable {
    public var id: String
    public var kind: OperationKind
    public var createdAt: Date
    public var expiresAt: Date?
    /// The node losing the primary role (failover, switchover) or rejoining (rejoin).
    public var from: String
    /// The node taking the primary role (failover, switchover) or the one to follow (rejoin).
    public var to: String
    public var candidateReplayLSN: LSN?
    public var estimatedLossBytes: Int64?
    public var estimatedLossSeconds: Double?
    public var maxDataLoss: DataLossLimit?
    public var acceptedDataLoss: Bool
    /// False when the old primary could not be reached: it cannot be fenced.
    public var oldPrimaryReachable: Bool
    public var warnings: [String]
    public var steps: [Step]
    /// When the evidence the plan rests on was gathered (the last sight of
    /// the primary, for a primary that is gone): the operator sees its age.
    public var evidenceAt: Date?
    /// Who asked: `operator`, `agent` (automatic mode), `drill`.
    public var origin: Origin = .operator
    /// The bound on the fence step (failover.fenceTimeout), stated in the plan.
    public var fenceTimeout: TimeSpan?
    /// `aws` when the plan operates RDS instances (nil: self-managed servers).
    public var target: Target? = nil

    public enum Origin: String, Sendable, Hashable, Codable { case `operator`, agent, drill }

    public init(id: String, kind: OperationKind, createdAt: Date, expiresAt: Date? = nil, from: String, to: String,
                candidateReplayLSN: LSN? = nil, estimatedLossBytes: Int64? = nil, estimatedLossSeconds: Double? = nil,
                maxDataLoss: DataLossLimit? = nil, acceptedDataLoss: Bool = false, oldPrimaryReachable: Bool,
                warnings: [String] = [], steps: [Step], evidenceAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.from = from
        self.to = to
        self.candidateReplayLSN = candidateReplayLSN
        self.estimatedLossBytes = estimatedLossBytes
        self.estimatedLossSeconds = estimatedLossSeconds
        self.maxDataLoss = maxDataLoss
        self.acceptedDataLoss = acceptedDataLoss
        self.oldPrimaryReachable = oldPrimaryReachable
        self.warnings = warnings
        self.steps = steps
        self.evidenceAt = evidenceAt
    }
}

/// Why an operation will not run. Always exit 3, nothing changed, journaled.
public struct Refusal: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var reason: String
    public var hint: String
    public init(_ reason: String, hint: String) {
        self.reason = reason
        self.hint = hint
    }
    public var description: String { "refused: \(reason); \(hint)" }
}
