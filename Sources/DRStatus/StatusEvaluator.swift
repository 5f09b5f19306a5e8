import DRSpec
import Foundation

/// Pure: turns the samples of one round into a `StatusReport`.
public enum StatusEvaluator {
    public static func evaluate(_ samples: [NodeSample], thresholds: Thresholds, at now: Date = Date()) -> StatusReport {
        var problems: [StatusReport.Problem] = []
        for sample in samples where !sample.reachable {
            problems.append(.init(node: sample.name, message: "unreachable: \(sample.error ?? "no answer")"))
        }
        let reachable = samples.filter(\.reachable)
        let primaries = reachable.filter { $0.role == .primary }
        let standbys = reachable.filter { $0.role == .standby }

        if primaries.count > 1 {
            problems.append(.init(node: nil, message:
                "\(primaries.count) writable primaries (\(primaries.map(\.name).joined(separator: ", "))): split brain, stop writes to all but one"))
        } else if primaries.isEmpty {
            problems.append(.init(node: nil, message: "no reachable primary: writes are not being taken"))
        }
        if standbys.isEmpty {
            problems.append(.init(node: nil, message: "no reachable standby: the DR region is not protected"))
        }

        for standby in standbys {
            let status = standby.walReceiver.map { "\($0.status)" } ?? "not running"
            if status != "streaming" {
                problems.append(.init(node: standby.name, message: "standby is not streaming (WAL receiver: \(status))"))
            }
            if standby.replayPaused == true {
                problems.append(.init(node: standby.name, message: "WAL replay is paused (pg_wal_replay_resume() resumes it)"))
            }
        }
        for sample in reachable {
            if let archiver = sample.archiver, archiver.isFailing, sample.role == .primary {
                problems.append(.init(node: sample.name, message:
                    "WAL archiving is failing (last failed: \(archiver.lastFailedWAL ?? "?"))"))
            }
            for slot in sample.slots where !slot.active && sample.role == .primary {
                let kept = slot.retainedBytes.map { ByteSize.human(Double($0)) } ?? "unknown"
                problems.append(.init(node: sample.name, message:
                    "replication slot \(slot.name) is inactive and retains \(kept) of WAL"))
            }
            if let connections = sample.connections, connections.max > 0,
               Double(connections.used) * 100 / Double(connections.max) >= thresholds.connectionsPercent {
                problems.append(.init(node: sample.name, message:
                    "\(connections.used) of \(connections.max) connections in use"))
            }
        }

        var replication: StatusReport.Replication?
        if let primary = primaries.first, let standby = standbys.first {
            replication = measureLag(primary: primary, standby: standby)
            if let seconds = replication?.lagSeconds, let bytes = replication?.lagBytes, bytes > 0,
               seconds > thresholds.replicationLag.seconds {
                problems.append(.init(node: standby.name, message:
                    "replication lag \(formatSeconds(seconds)) is over the \(thresholds.replicationLag) threshold"))
            }
        }
        return StatusReport(checkedAt: now, healthy: problems.isEmpty, problems: problems,
                            replication: replication, nodes: samples)
    }

    /// Lag two ways (docs/agent.md): bytes from LSNs, seconds from the
    /// heartbeat. When the standby has replayed everything the primary has
    /// flushed, the lag is 0 however long the primary has been idle; that is
    /// the case `now() - pg_last_xact_replay_timestamp()` gets wrong.
    public static func measureLag(primary: NodeSample, standby: NodeSample) -> StatusReport.Replication {
        let streaming = standby.isStreaming
        let primaryPosition = primary.flushLSN ?? primary.currentLSN
        let standbyPosition = standby.replayLSN ?? standby.receiveLSN
        var bytes: Int64?
        if let primaryPosition, let standbyPosition {
            bytes = primaryPosition.bytesAhead(of: standbyPosition)
        }
        var seconds: Double?
        var source = StatusReport.Replication.LagSource.unknown
        if bytes == 0 {
            seconds = 0
            source = .caughtUp
        } else if let beat = standby.heartbeatAt, let primaryNow = primary.serverTime {
            seconds = max(0, primaryNow.timeIntervalSince(beat))
            source = .heartbeat
        } else if let replicaLag = standby.replicaLagSeconds {
            seconds = replicaLag
            source = .cloudWatch
        }
        return .init(primary: primary.name, standby: standby.name, streaming: streaming,
                     lagBytes: bytes, lagSeconds: seconds, lagSource: source)
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.1fs", seconds) : "\(Int(seconds.rounded()))s"
    }
}
