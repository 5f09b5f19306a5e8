import DRSpec
import Foundation

/// Pure: the verdict over the two RDS instances (`target: aws`), with the
/// same lag rules as on self-managed servers where the data allows: with SQL
/// to both instances (`aws.database`), bytes from their positions and
/// seconds from the heartbeat (`StatusEvaluator.measureLag`), the CloudWatch
/// figure beside them; without SQL, CloudWatch's heartbeat metric or
/// `ReplicaLag` is the source of seconds and bytes are unknown. The report
/// says which source each figure comes from.
public enum RDSEvaluator {
    public static func evaluate(_ samples: [NodeSample], thresholds: Thresholds, at now: Date = Date()) -> StatusReport {
        var problems: [StatusReport.Problem] = []
        for s in samples {
            if let problem = s.sqlProblem {
                problems.append(.init(node: s.name, message: "no SQL session (aws.database): \(problem)"))
            }
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
                let metricSource = replica.replicaLagSeconds == nil ? nil : (replica.replicaLagSource ?? .cloudWatch)
                var pair = StatusReport.Replication(primary: primary.name, standby: replica.name, streaming: streaming, lagBytes: nil,
                                                    lagSeconds: replica.replicaLagSeconds, lagSource: metricSource ?? .unknown)
                if primary.flushLSN != nil, replica.replayLSN != nil {
                    let measured = StatusEvaluator.measureLag(primary: primary, standby: replica)
                    pair.lagBytes = measured.lagBytes
                    if let seconds = measured.lagSeconds {
                        pair.lagSeconds = seconds
                        pair.lagSource = measured.lagSource
                        pair.metricLagSeconds = replica.replicaLagSeconds
                        pair.metricLagSource = metricSource
                    }
                }
                replication = pair
                if !streaming {
                    problems.append(.init(node: replica.name, message: "read replication is \(status ?? "?")"
                                          + (replica.rds?.replicationMessage.map { ": \($0)" } ?? "")))
                }
                if let lag = pair.lagSeconds, lag > thresholds.replicationLag.seconds {
                    problems.append(.init(node: replica.name, message: "replication lag \(Int(lag))s (\(pair.lagSource.rawValue)) exceeds \(thresholds.replicationLag)"))
                }
                if pair.lagSeconds == nil {
                    problems.append(.init(node: replica.name, message: "no lag datapoint in CloudWatch for the last 10 minutes (neither the lag monitor's heartbeat nor ReplicaLag) and none over SQL: lag unknown"))
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
