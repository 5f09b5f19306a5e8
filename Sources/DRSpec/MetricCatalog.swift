/// The metrics the agent samples, with their units. Alarms name a metric from
/// here; a threshold must be written in the metric's unit (`300s` for a
/// duration, `64MB` for bytes, a plain number for percents and counts).
public enum MetricUnit: String, Sendable, Hashable, Codable {
    case seconds, bytes, percent, count
}

public struct MetricInfo: Sendable, Hashable {
    public let name: String
    public let unit: MetricUnit
    /// True when the metric belongs to one server (`target` picks which);
    /// false for the pair as a whole.
    public let perNode: Bool
    public let help: String

    /// The series the agent's `/metrics` exports it as (labels `node` and
    /// `region` when per node), so Prometheus rules read the same values
    /// the agent's alarms do.
    public var series: String { MetricCatalog.series[name] ?? "pgdr_\(name.lowercased())" }
}

public enum MetricCatalog {
    public static let all: [MetricInfo] = [
        .init(name: "NodeUp", unit: .count, perNode: true, help: "1 when the node answered its probe, else 0"),
        .init(name: "ProbeLatency", unit: .seconds, perNode: true, help: "round trip of a trivial query"),
        .init(name: "CPUPercent", unit: .percent, perNode: true, help: "host CPU busy, local nodes only"),
        .init(name: "FreeStorage", unit: .bytes, perNode: true, help: "free space on the data directory's filesystem, local nodes only"),
        .init(name: "ConnectionsPercent", unit: .percent, perNode: true, help: "connections used of max_connections"),
        .init(name: "DatabaseSize", unit: .bytes, perNode: true, help: "size of the monitored database"),
        .init(name: "SlotRetainedWAL", unit: .bytes, perNode: true, help: "largest WAL kept by a replication slot"),
        .init(name: "SlotSafeWAL", unit: .bytes, perNode: true,
              help: "least WAL that can still be written before a slot is invalidated (max_slot_wal_keep_size); missing when unlimited"),
        .init(name: "SlotsLost", unit: .count, perNode: true,
              help: "replication slots whose WAL is gone or about to go (wal_status lost or unreserved)"),
        .init(name: "ArchiverFailing", unit: .count, perNode: true, help: "1 when the newest archive attempt failed"),
        .init(name: "BackupAge", unit: .seconds, perNode: false, help: "age of the newest backup in the stalest pgBackRest repository"),
        .init(name: "BackupRepositoriesFailing", unit: .count, perNode: false, help: "pgBackRest repositories whose check failed"),
        .init(name: "ArchiveAge", unit: .seconds, perNode: true, help: "age of the last archived WAL segment"),
        .init(name: "PrimaryUp", unit: .count, perNode: false, help: "1 when exactly one writable primary answers"),
        .init(name: "StandbyUp", unit: .count, perNode: false, help: "1 when a standby answers"),
        .init(name: "StandbyStreaming", unit: .count, perNode: false, help: "1 when the standby's WAL receiver streams"),
        .init(name: "ReplayPaused", unit: .count, perNode: false, help: "1 when WAL replay is paused on the standby"),
        .init(name: "ReplicationLagSeconds", unit: .seconds, perNode: false,
              help: "heartbeat lag; 0 whenever the standby has replayed all flushed WAL"),
        .init(name: "ReplicationLagBytes", unit: .bytes, perNode: false, help: "primary flush LSN minus standby replay LSN"),
        .init(name: "WritablePrimaries", unit: .count, perNode: false, help: "reachable nodes that take writes"),
        .init(name: "CommitsHeld", unit: .count, perNode: false,
              help: "1 while the primary makes commits wait for a synchronous standby (bounded mode: the RPO bound holds them)"),
    ]

    public static func info(_ name: String) -> MetricInfo? { all.first { $0.name == name } }

    static let series: [String: String] = [
        "NodeUp": "pgdr_node_up", "ProbeLatency": "pgdr_probe_latency_seconds", "CPUPercent": "pgdr_cpu_percent",
        "FreeStorage": "pgdr_free_storage_bytes", "ConnectionsPercent": "pgdr_connections_percent",
        "DatabaseSize": "pgdr_database_size_bytes", "SlotRetainedWAL": "pgdr_slot_retained_max_bytes",
        "SlotSafeWAL": "pgdr_slot_safe_wal_min_bytes", "SlotsLost": "pgdr_slots_lost",
        "ArchiverFailing": "pgdr_archiver_failing", "BackupAge": "pgdr_backup_age_seconds",
        "BackupRepositoriesFailing": "pgdr_backup_repositories_failing", "ArchiveAge": "pgdr_archive_age_seconds",
        "PrimaryUp": "pgdr_primary_up", "StandbyUp": "pgdr_standby_up", "StandbyStreaming": "pgdr_standby_streaming",
        "ReplayPaused": "pgdr_replay_paused", "ReplicationLagSeconds": "pgdr_replication_lag_seconds",
        "ReplicationLagBytes": "pgdr_replication_lag_bytes", "WritablePrimaries": "pgdr_writable_primaries", "CommitsHeld": "pgdr_commits_held",
    ]

    /// Which node a per-node metric is read from: a role or a node's name.
    public static let roleTargets = ["primary", "standby"]
}
