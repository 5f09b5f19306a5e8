import DRSpec
import Foundation

/// `pgdr config grafana`: a Grafana dashboard (JSON model, schema 39) over
/// the series the agent exports, with a Prometheus data source picked at
/// import (`${datasource}`). Pure: JSON from the spec.
public enum GrafanaDashboard {
    public struct Query: Sendable, Hashable {
        public var metric: String
        /// After the selector: a comparison such as `> 0`.
        public var condition: String = ""
        public var legend: String
    }

    public struct Panel: Sendable, Hashable {
        public enum Kind: String, Sendable { case timeseries, stat, stateTimeline = "state-timeline", table }
        public var title: String
        public var kind: Kind
        public var unit: String
        /// Each query: a series the agent exports, with its legend.
        public var queries: [Query]
        public var width: Int

    }

    public static func panels(_ spec: Spec) -> [Panel] {
        var panels: [Panel] = [
            Panel(title: "Node up", kind: .stat, unit: "bool_yes_no",
                  queries: [.init(metric: "pgdr_node_up", legend: "{{node}} ({{region}})")], width: 8),
            Panel(title: "Primary", kind: .stat, unit: "bool_yes_no",
                  queries: [.init(metric: "pgdr_node_is_primary", legend: "{{node}} ({{region}})")], width: 8),
            Panel(title: "DR standby streaming", kind: .stat, unit: "bool_yes_no",
                  queries: [.init(metric: "pgdr_standby_streaming", legend: "streaming")], width: 8),
            Panel(title: "Replication lag (seconds)", kind: .timeseries, unit: "s",
                  queries: [.init(metric: "pgdr_replication_lag_seconds", legend: "lag")], width: 12),
            Panel(title: "Replication lag (bytes)", kind: .timeseries, unit: "bytes",
                  queries: [.init(metric: "pgdr_replication_lag_bytes", legend: "lag")], width: 12),
            Panel(title: "Alarm states (0 OK, 1 ALARM, 2 INSUFFICIENT_DATA)", kind: .stateTimeline, unit: "none",
                  queries: [.init(metric: "pgdr_alarm_state", legend: "{{alarm}}")], width: 24),
            Panel(title: "Connections", kind: .timeseries, unit: "short",
                  queries: [.init(metric: "pgdr_connections_used", legend: "{{node}} used"), .init(metric: "pgdr_connections_max", legend: "{{node}} max")], width: 12),
            Panel(title: "Probe latency", kind: .timeseries, unit: "s",
                  queries: [.init(metric: "pgdr_probe_latency_seconds", legend: "{{node}}")], width: 12),
            Panel(title: "WAL kept by replication slots", kind: .timeseries, unit: "bytes",
                  queries: [.init(metric: "pgdr_slot_retained_bytes", legend: "{{node}} {{slot}}"),
                            .init(metric: "pgdr_slot_safe_wal_bytes", legend: "{{node}} {{slot}} safe before invalidation")], width: 12),
            Panel(title: "Free storage", kind: .timeseries, unit: "bytes",
                  queries: [.init(metric: "pgdr_free_storage_bytes", legend: "{{node}}")], width: 12),
            Panel(title: "Operations", kind: .table, unit: "none",
                  queries: [.init(metric: "pgdr_operations", condition: " > 0", legend: "{{kind}} {{state}}")], width: 24),
        ]
        if spec.backup.pgbackrest != nil {
            panels.append(Panel(title: "Newest backup age", kind: .timeseries, unit: "s",
                                queries: [.init(metric: "pgdr_backup_age_seconds", legend: "age"),
                                          .init(metric: "pgdr_backup_repositories_failing", legend: "repositories failing")], width: 24))
        }
        if spec.dcs != nil {
            panels.append(Panel(title: "Leader key (etcd)", kind: .timeseries, unit: "s",
                                queries: [.init(metric: "pgdr_dcs_lease_seconds_left", legend: "lease left ({{instance}})"),
                                          .init(metric: "pgdr_dcs_leader", legend: "{{node}} leads")], width: 24))
        }
        return panels
    }

    /// The dashboard's JSON model.
    public static func render(_ spec: Spec) throws -> String {
        let name = spec.resourceName(spec.name)
        let datasource: [String: Any] = ["type": "prometheus", "uid": "${datasource}"]
        var x = 0, y = 0
        var models: [[String: Any]] = []
        for (index, panel) in panels(spec).enumerated() {
            if x + panel.width > 24 { x = 0; y += 8 }
            let targets: [[String: Any]] = panel.queries.enumerated().map { i, query in
                ["refId": String(UnicodeScalar(UInt8(65 + i))), "expr": query.metric + selector(name) + query.condition,
                 "legendFormat": query.legend, "datasource": datasource]
            }
            models.append([
                "id": index + 1, "type": panel.kind.rawValue, "title": panel.title, "datasource": datasource,
                "gridPos": ["h": 8, "w": panel.width, "x": x, "y": y],
                "fieldConfig": ["defaults": ["unit": panel.unit], "overrides": [] as [Any]],
                "options": [:] as [String: Any], "targets": targets,
            ])
            x += panel.width
        }
        let dashboard: [String: Any] = [
            "title": "pgdr: \(name)", "uid": "pgdr-\(name)".prefix(40).description, "schemaVersion": 39, "version": 1,
            "editable": true, "refresh": "10s", "time": ["from": "now-1h", "to": "now"], "timezone": "",
            "tags": ["pgdr", "postgresql", "disaster-recovery"],
            "templating": ["list": [[
                "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                "current": [:] as [String: Any], "hide": 0,
            ] as [String: Any]]],
            "annotations": ["list": [] as [Any]],
            "panels": models,
        ]
        let data = try JSONSerialization.data(withJSONObject: dashboard, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Only this deployment's series (the scrape job labels them `deployment`).
    static func selector(_ name: String) -> String { "{deployment=\"\(name)\"}" }
}
