import DRMonitor
import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Prometheus

/// Publishes what the agent sees as Prometheus metrics, on a swift-prometheus
/// registry of the agent's own (no global bootstrap, so tests can run several
/// agents in one process), every series with its help text.
public final class MetricsExporter: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Straight on the registry, with its help text (promtool's lint wants one on a counter).
    let rounds: Prometheus.Counter

    public init() {
        rounds = registry.makeCounter(name: "pgdr_agent_rounds_total", help: "Sampling rounds the agent has completed.")
    }

    func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> ExportedGauge {
        ExportedGauge(gauge: registry.makeGauge(name: label, labels: dimensions, help: MetricHelp.of(label)))
    }

    /// A gauge that takes a Double (so `record(1)` is not ambiguous).
    struct ExportedGauge {
        let gauge: Prometheus.Gauge
        func record(_ value: Double) { gauge.set(value) }
    }

    public func update(report: StatusReport, alarms: [AlarmEngine.Entry], hosts: [String: HostReading] = [:]) {
        rounds.increment()
        for node in report.nodes {
            let labels = [("node", node.name), ("region", node.region)]
            gauge("pgdr_node_is_primary", labels).record(node.reachable && node.role == .primary ? 1 : 0)
            if let c = node.connections {
                gauge("pgdr_connections_used", labels).record(Double(c.used))
                gauge("pgdr_connections_max", labels).record(Double(c.max))
            }
            for slot in node.slots {
                gauge("pgdr_slot_retained_bytes", labels + [("slot", slot.name)]).record(Double(slot.retainedBytes ?? 0))
                gauge("pgdr_slot_active", labels + [("slot", slot.name)]).record(slot.active ? 1 : 0)
                // NaN: no limit (max_slot_wal_keep_size = -1), the slot can never be invalidated.
                gauge("pgdr_slot_safe_wal_bytes", labels + [("slot", slot.name)]).record(slot.safeWALBytes.map(Double.init) ?? .nan)
            }
        }
        // Every metric alarms can name, from the same datapoints the alarm
        // engine reads. Unknown values are NaN, never a reassuring 0.
        let points = ClusterMetrics.datapoints(report, hosts: hosts)
        for info in MetricCatalog.all {
            if info.perNode {
                for node in report.nodes {
                    gauge(info.series, [("node", node.name), ("region", node.region)]).record(points["\(info.name)@\(node.name)"] ?? .nan)
                }
            } else if info.name.hasPrefix("Backup") && report.backups == nil {
                continue  // no backups configured: no backup series
            } else {
                gauge(info.series).record(points[info.name] ?? .nan)
            }
        }
        gauge("pgdr_healthy").record(report.healthy ? 1 : 0)
        if let backups = report.backups {
            for repo in backups.repositories {
                // The start of the window a restore from this repository can reach (Unix time; NaN: no backup).
                gauge("pgdr_backup_recoverable_from_timestamp_seconds", [("repo", "\(repo.number)")])
                    .record(repo.recoverableFrom?.timeIntervalSince1970 ?? .nan)
            }
        }
        for alarm in alarms {
            gauge("pgdr_alarm_state", [("alarm", alarm.name)]).record(alarm.state.gaugeValue)
        }
    }

    /// Operations by kind and where they stand (from the operations journal).
    func update(operations entries: [OperationStore.Entry]) {
        let counts = OperationCounts.count(entries)
        for kind in [OperationKind.failover, .switchover, .rejoin] {
            for state in ["pending", "refused", "started", "done", "degraded", "failed", "aborted"] {
                gauge("pgdr_operations", [("kind", kind.rawValue), ("state", state)])
                    .record(Double(counts[.init(kind: kind, state: state)] ?? 0))
            }
        }
    }

    /// Bounded mode: the bound, the unreceived lag against it, whether commits
    /// are held, how many sessions wait, and for how long commits were held in all.
    func update(bound s: BoundEnforcer.Snapshot) {
        gauge("pgdr_rpo_bound_seconds").record(s.bound.time?.seconds ?? .nan)
        gauge("pgdr_rpo_bound_bytes").record(s.bound.bytes.map { Double($0.bytes) } ?? .nan)
        gauge("pgdr_unreceived_lag_seconds").record(s.reading.seconds ?? .nan)
        gauge("pgdr_unreceived_lag_bytes").record(s.reading.bytes.map(Double.init) ?? .nan)
        gauge("pgdr_commits_waiting").record(Double(s.waiting))
        gauge("pgdr_commits_held_seconds").record(s.heldTotal)
        gauge("pgdr_rpo_risk_accepted").record(s.riskAccepted ? 1 : 0)
    }

    /// Quorum mode: the leader key, its lease, whether etcd answers.
    public func update(quorum: HAService.Snapshot) {
        gauge("pgdr_dcs_reachable").record(quorum.dcsReachable ? 1 : 0)
        gauge("pgdr_dcs_lease_seconds_left").record(quorum.leaseLeft.map { Double($0.components.seconds) } ?? .nan)
        for member in quorum.members {
            gauge("pgdr_dcs_leader", [("node", member.node)]).record(quorum.leader?.node == member.node ? 1 : 0)
        }
    }

    /// The Prometheus text exposition format.
    public func render() -> String { registry.emitToString() }
}
