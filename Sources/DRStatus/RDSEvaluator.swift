import DRSpec
import Foundation

/// Pure: the verdict over the two RDS instances (`target: aws`), with the
/// same lag rules as on self-managed servers where the data allows:
/// CloudWatch's `ReplicaLag` is the source of seconds (bytes are not known
/// without SQL), and the report says so.
public enum RDSEvaluator {
    public static func evaluate(_ samples: [NodeSample], thresholds: Thresholds, at now: Date = Date()) -> StatusReport {
        var problems: [StatusReport.Problem] = []
        for s in samples {
            if !s.reachable {
                problems.append(.init(node: s.name, message: s.error ?? "the RDS API did not describe it"))
            } else if let rds = s.rds, !rds.serving {
                problems.append(.init(node: s.name, message: "instance status is \(rds.status)"))
            }
            if let rds = s.rds, rds.fenced {
                problems.append(.init(node: s.name, message: "fenced: parameter group \(rds.parameterGroup ?? "?") makes it read-only"))
            }
        }
        let primaries = samples.filter { $0.reachable && $0.role == .primary }
        let replicas = samples.filter { $0.reachable && $0.role == .standby }
        var replication: StatusReport.Replication?
        if primaries.count > 1 {
            problems.append(.init(node: nil, message: "both instances are standalone (no replica): "
                                  + primaries.map(\.name).joined(separator: ", ") + "; after a failover, `pgdr rejoin` rebuilds the old primary as a replica"))
        }
        if let primary = primaries.first {
            if let rds = primary.rds, (rds.backupRetentionDays ?? 0) == 0 {
                problems.append(.init(node: primary.name, message: "automated backups are off (retention 0): no point-in-time recovery"))
            }
            if let replica = replicas.first {
                let status = replica.rds?.replicationStatus
                let streaming = (status ?? "replicating") == "replicating"
                replication = .init(primary: primary.name, standby: replica.name, streaming: streaming, lagBytes: nil,
                                    lagSeconds: replica.replicaLagSeconds, lagSource: replica.replicaLagSeconds == nil ? .unknown : (replica.replicaLagSource ?? .cloudWatch))
                if !streaming {
                    problems.append(.init(node: replica.name, message: "read replication is \(status ?? "?")"
                                          + (replica.rds?.replicationMessage.map { ": \($0)" } ?? "")))
                }
                if let lag = replica.replicaLagSeconds, lag > thresholds.replicationLag.seconds {
                    problems.append(.init(node: replica.name, message: "replication lag \(Int(lag))s (\((replica.replicaLagSource ?? .cloudWatch).rawValue)) exceeds \(thresholds.replicationLag)"))
                }
                if replica.replicaLagSeconds == nil {
                    problems.append(.init(node: replica.name, message: "no lag datapoint in CloudWatch for the last 10 minutes (neither the lag monitor's heartbeat nor ReplicaLag): lag unknown"))
                }
            } else if primaries.count == 1 {
                problems.append(.init(node: nil, message: "no read replica: the DR region is not protected"))
            }
        } else if samples.contains(where: \.reachable) {
            problems.append(.init(node: nil, message: "no standalone instance: nothing takes writes"))
        }
        return StatusReport(checkedAt: now, healthy: problems.isEmpty, problems: problems, replication: replication, nodes: samples,
                            target: .aws)
    }
}
