import DRSpec
import Foundation

/// The compact, human table of `pgdr status`.
public enum StatusTable {
    public static func render(_ report: StatusReport) -> String {
        if report.target == .aws { return renderRDS(report) }
        var rows: [[String]] = [["NODE", "REGION", "ADDRESS", "ROLE", "TL", "LSN (flush/replay)", "WAL RECEIVER",
                                 "CONNS", "SIZE", "ARCHIVER"]]
        for node in report.nodes {
            let address = "\(node.host):\(node.port)"
            guard node.reachable else {
                rows.append([node.name, node.region, address, "DOWN", "-", "-", "-", "-", "-", "-"])
                continue
            }
            let position = node.role == .primary ? node.flushLSN : node.replayLSN
            let archiver = node.archiver.map { a in
                a.isFailing ? "FAILING \(a.lastFailedWAL ?? "")" : (a.lastArchivedWAL.map { "ok \($0)" } ?? "idle")
            } ?? "-"
            rows.append([
                node.name, node.region, address, node.role?.rawValue ?? "?",
                node.timeline.map(String.init) ?? "-",
                position?.description ?? "-",
                node.role == .standby ? (node.walReceiver.map { "\($0.status)" } ?? "not running") : "-",
                node.connections.map { "\($0.used)/\($0.max)" } ?? "-",
                node.databaseSizeBytes.map { ByteSize.human(Double($0)) } ?? "-",
                archiver,
            ])
        }
        var out = table(rows)
        if let r = report.replication {
            let bytes = r.lagBytes.map { ByteSize.human(Double($0)) } ?? "unknown"
            let seconds = r.lagSeconds.map { StatusEvaluator.formatSeconds($0) } ?? "unknown"
            out += "\nreplication \(r.primary) -> \(r.standby): \(r.streaming ? "streaming" : "NOT streaming"), "
                + "lag \(bytes), \(seconds) (\(r.lagSource.rawValue))\n"
        }
        if let bound = report.bound { out += bound.rendered }
        let slots = report.nodes.flatMap { node in node.slots.map { (node.name, $0) } }
        for (node, slot) in slots {
            out += "slot \(slot.name) on \(node): \(slot.active ? "active" : "INACTIVE"), retains "
                + (slot.retainedBytes.map { ByteSize.human(Double($0)) } ?? "?") + "\n"
        }
        if let quorum = report.quorum { out += quorum.rendered }
        if report.problems.isEmpty {
            out += "healthy: both regions up, standby streaming\n"
        } else {
            out += report.problems.map { "PROBLEM \($0)" }.joined(separator: "\n") + "\n"
        }
        return out
    }

    /// `target: aws`: the instances as the RDS API describes them.
    static func renderRDS(_ report: StatusReport) -> String {
        var rows: [[String]] = [["INSTANCE", "REGION", "STATUS", "ROLE", "CLASS", "MULTI-AZ", "STORAGE", "BACKUPS", "LATEST RESTORABLE"]]
        for node in report.nodes {
            guard let rds = node.rds else {
                rows.append([node.name, node.region, "UNKNOWN", "-", "-", "-", "-", "-", "-"])
                continue
            }
            rows.append([
                node.name, node.region, rds.status + (rds.fenced ? " (fenced)" : ""),
                node.role == .standby ? "replica" : (node.role?.rawValue ?? "?"),
                rds.instanceClass ?? "-", rds.multiAZ.map { $0 ? "yes" : "no" } ?? "-",
                rds.allocatedStorageGiB.map { "\($0) GiB" } ?? "-",
                rds.backupRetentionDays.map { $0 == 0 ? "off" : "\($0) days" } ?? "-",
                rds.latestRestorableTime.map { $0.formatted(.iso8601) } ?? "-",
            ])
        }
        var out = table(rows)
        if let r = report.replication {
            let seconds = r.lagSeconds.map { StatusEvaluator.formatSeconds($0) } ?? "unknown"
            let status = report.nodes.first { $0.name == r.standby }?.rds?.replicationStatus ?? "not reported by the API"
            let bytes = r.lagBytes.map { ByteSize.human(Double($0)) + ", " } ?? ""
            let source = r.lagSource.rawValue + (r.lagBytes == nil ? "; bytes need SQL (aws.database)" : ", over SQL")
            let metric = r.metricLagSeconds.map { "; CloudWatch: \(StatusEvaluator.formatSeconds($0)) (\(r.metricLagSource?.rawValue ?? "?"))" } ?? ""
            out += "\nreplication \(r.primary) -> \(r.standby): \(status), lag \(bytes)\(seconds) (\(source))\(metric)\n"
        }
        if let alarms = report.cloudAlarms { out += alarms.rendered }
        if let check = report.healthCheck { out += check.rendered }
        if report.problems.isEmpty {
            out += "healthy: both instances available, the replica replicating\n"
        } else {
            out += report.problems.map { "PROBLEM \($0)" }.joined(separator: "\n") + "\n"
        }
        return out
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
