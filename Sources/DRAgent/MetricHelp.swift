import DRSpec

/// The `# HELP` line of every series the agent exports (Prometheus's own
/// lint, `promtool check metrics`, wants one on each).
enum MetricHelp {
    static let text: [String: String] = [
        "pgdr_node_up": "1 while the node answers pgdr's probe, else 0.",
        "pgdr_node_is_primary": "1 while the node answers as a primary, else 0.",
        "pgdr_probe_latency_seconds": "How long the node's probe took; NaN when it did not answer.",
        "pgdr_connections_used": "Connections in use on the node.",
        "pgdr_connections_max": "The node's max_connections.",
        "pgdr_database_size_bytes": "Size of the node's database.",
        "pgdr_free_storage_bytes": "Free space on the filesystem of the node's data directory.",
        "pgdr_slot_retained_bytes": "WAL a replication slot keeps on the node.",
        "pgdr_slot_active": "1 while a standby streams through the slot.",
        "pgdr_slot_safe_wal_bytes": "WAL the slot may still fall behind before it is invalidated; NaN: no limit.",
        "pgdr_replication_lag_seconds": "Replication lag of the DR standby, from the heartbeat; NaN when unknown.",
        "pgdr_replication_lag_bytes": "WAL the DR standby has not replayed; NaN when unknown.",
        "pgdr_standby_streaming": "1 while the DR standby streams WAL.",
        "pgdr_healthy": "1 while both regions are up and the standby streams.",
        "pgdr_backup_repositories_failing": "Backup repositories that fail their check.",
        "pgdr_backup_age_seconds": "Age of the newest backup; NaN when there is none.",
        "pgdr_backup_recoverable_from_timestamp_seconds": "Start of the window a restore from the repository can reach (Unix time).",
        "pgdr_alarm_state": "Each alarm's state: 0 OK, 1 ALARM, 2 INSUFFICIENT_DATA.",
        "pgdr_operations": "Operations of each kind by where they stand (pending, refused, started, done, degraded, failed, aborted).",
        "pgdr_rpo_bound_seconds": "Bounded mode: the bound on unreceived WAL, as time; NaN when given only as a size.",
        "pgdr_rpo_bound_bytes": "Bounded mode: the bound on unreceived WAL, as bytes; NaN when given only as a time.",
        "pgdr_unreceived_lag_seconds": "WAL the DR replica has not received and flushed, as time (what a failover would lose); NaN when unknown.",
        "pgdr_unreceived_lag_bytes": "WAL the DR replica has not received and flushed, in bytes; NaN when unknown.",
        "pgdr_commits_waiting": "Sessions whose commit waits for the DR replica right now (SyncRep).",
        "pgdr_commits_held_seconds": "Seconds commits have been held by the RPO bound, in all (finished holds and the current one).",
        "pgdr_rpo_risk_accepted": "1 while an operator's release-commits --accept-risk stands.",
        "pgdr_dcs_reachable": "1 while this agent reaches etcd.",
        "pgdr_dcs_leader": "1 for the node that holds the leader key.",
        "pgdr_dcs_lease_seconds_left": "Seconds left on the leader key's lease.",
    ]

    /// The series' own line, else the alarm catalog's description of the metric it exports.
    static func of(_ name: String) -> String {
        text[name] ?? MetricCatalog.all.first { $0.series == name }.map { "\($0.help) (alarm metric \($0.name))." } ?? "pgdr metric \(name)."
    }
}
