import DRSpec
import DRStatus
import Foundation

/// Host readings the agent adds for servers on this machine.
public struct HostReading: Sendable, Hashable {
    public var cpuPercent: Double?
    public var freeStorageBytes: Double?
    public init(cpuPercent: Double? = nil, freeStorageBytes: Double? = nil) {
        self.cpuPercent = cpuPercent
        self.freeStorageBytes = freeStorageBytes
    }
}

/// Turns one round's report into datapoints keyed as alarms name them:
/// per-node metrics under `Metric@node` and `Metric@role`, pair metrics bare.
/// A node that did not answer contributes only `NodeUp = 0`: its other
/// series go missing, which is what `treatMissingData` is for.
public enum ClusterMetrics {
    public static func datapoints(_ report: StatusReport, hosts: [String: HostReading] = [:]) -> [String: Double] {
        var out: [String: Double] = [:]
        for node in report.nodes {
            var values: [String: Double] = ["NodeUp": node.reachable ? 1 : 0]
            if node.reachable {
                values["ProbeLatency"] = node.probeLatencyMs.map { $0 / 1000 }
                if let c = node.connections, c.max > 0 { values["ConnectionsPercent"] = Double(c.used) * 100 / Double(c.max) }
                values["DatabaseSize"] = node.databaseSizeBytes.map(Double.init)
                values["SlotRetainedWAL"] = node.slots.compactMap(\.retainedBytes).max().map(Double.init) ?? 0
                values["SlotSafeWAL"] = node.slots.compactMap(\.safeWALBytes).min().map(Double.init)
                values["SlotsLost"] = Double(node.slots.filter { $0.walStatus == "lost" || $0.walStatus == "unreserved" }.count)
                if let archiver = node.archiver {
                    values["ArchiverFailing"] = archiver.isFailing ? 1 : 0
                    if let last = archiver.lastArchivedAt, let now = node.serverTime {
                        values["ArchiveAge"] = max(0, now.timeIntervalSince(last))
                    }
                }
                values["CPUPercent"] = hosts[node.name]?.cpuPercent
                values["FreeStorage"] = hosts[node.name]?.freeStorageBytes
            }
            for (metric, value) in values {
                out["\(metric)@\(node.name)"] = value
                if let role = node.role, node.reachable { out["\(metric)@\(role.rawValue)"] = value }
            }
        }
        let reachable = report.nodes.filter(\.reachable)
        let primaries = reachable.filter { $0.role == .primary }
        let standbys = reachable.filter { $0.role == .standby }
        out["WritablePrimaries"] = Double(primaries.count)
        out["PrimaryUp"] = primaries.count == 1 ? 1 : 0
        if primaries.count == 1, let names = primaries[0].synchronousStandbyNames {
            out["CommitsHeld"] = names.isEmpty ? 0 : 1
        }
        out["StandbyUp"] = standbys.isEmpty ? 0 : 1
        // RDS replicas have no WAL receiver to read: RDS's own replication status stands in.
        out["StandbyStreaming"] = standbys.contains { $0.isStreaming || ($0.rds != nil && report.replication?.streaming == true) } ? 1 : 0
        out["ReplayPaused"] = standbys.contains { $0.replayPaused == true } ? 1 : 0
        if let backups = report.backups {
            out["BackupRepositoriesFailing"] = Double(backups.failing)
            if let age = backups.newestBackupAge(now: report.checkedAt) { out["BackupAge"] = age }
        }
        if let replication = report.replication {
            if let bytes = replication.lagBytes { out["ReplicationLagBytes"] = Double(bytes) }
            if let seconds = replication.lagSeconds { out["ReplicationLagSeconds"] = seconds }
        }
        return out
    }
}
