/// The alarm set every deployment gets, built from `monitoring.thresholds`.
/// A user alarm with the same name in pgdr.yaml replaces its default.
public enum DefaultAlarms {
    public static let drAtRisk = "dr-at-risk"
    public static let primaryDown = "primary-down"

    /// With backups configured (pgBackRest): a backup older than
    /// `backup.maxAge` in any repository, and a repository that fails its check.
    public static func backups(_ backup: Backup, monitoring: Monitoring) -> [AlarmSpec] {
        guard let settings = backup.pgbackrest else { return [] }
        let p = monitoring.interval
        return [
            AlarmSpec(name: "backup-too-old", summary: "the newest backup of a repository is older than \(settings.maxAge)",
                      kind: .metric(.init(metric: "BackupAge", comparison: .greaterThan, threshold: settings.maxAge.seconds,
                                          period: p, evaluationPeriods: 1))),
            AlarmSpec(name: "backup-repository-failing", summary: "a backup repository fails its check",
                      kind: .metric(.init(metric: "BackupRepositoriesFailing", comparison: .greaterThanOrEqual, threshold: 1,
                                          period: p, evaluationPeriods: 2))),
        ]
    }

    /// In bounded mode: commits held by the RPO bound (the DR replica fell
    /// behind it; they wait for it until it catches up, or an operator accepts the risk).
    public static func bounded(_ replication: Replication, monitoring: Monitoring) -> [AlarmSpec] {
        guard replication.mode == .bounded else { return [] }
        return [
            AlarmSpec(name: "commits-held", summary: "commits wait for the DR replica: it fell behind the RPO bound",
                      kind: .metric(.init(metric: "CommitsHeld", comparison: .greaterThanOrEqual, threshold: 1,
                                          period: monitoring.interval, evaluationPeriods: 1))),
        ]
    }

    public static func make(_ monitoring: Monitoring) -> [AlarmSpec] {
        let t = monitoring.thresholds
        let p = monitoring.interval
        func metric(_ name: String, _ summary: String, _ alarm: MetricAlarm) -> AlarmSpec {
            AlarmSpec(name: name, summary: summary, kind: .metric(alarm))
        }
        return [
            metric("cpu-high", "primary host CPU over \(Int(t.cpuPercent))%",
                   .init(metric: "CPUPercent", target: "primary", statistic: .average, comparison: .greaterThan,
                         threshold: t.cpuPercent, period: p, evaluationPeriods: 5, datapointsToAlarm: 3)),
            metric("storage-low", "primary free storage under \(t.freeStorage)",
                   .init(metric: "FreeStorage", target: "primary", statistic: .minimum, comparison: .lessThan,
                         threshold: Double(t.freeStorage.bytes), period: p, evaluationPeriods: 2)),
            // A standby whose disk fills stops replaying, and its slot makes the
            // primary keep WAL: watched on every node, not only the primary.
            metric("storage-low-standby", "DR standby free storage under \(t.freeStorage)",
                   .init(metric: "FreeStorage", target: "standby", statistic: .minimum, comparison: .lessThan,
                         threshold: Double(t.freeStorage.bytes), period: p, evaluationPeriods: 2)),
            metric("slot-wal-at-risk", "a replication slot on the primary is within \(t.slotSafeWAL) of being invalidated",
                   .init(metric: "SlotSafeWAL", target: "primary", statistic: .minimum, comparison: .lessThan,
                         threshold: Double(t.slotSafeWAL.bytes), period: p, evaluationPeriods: 2)),
            metric("slot-lost", "a replication slot on the primary lost (or is losing) the WAL its standby needs",
                   .init(metric: "SlotsLost", target: "primary", comparison: .greaterThanOrEqual, threshold: 1,
                         period: p, evaluationPeriods: 1)),
            metric("connections-high", "primary connections over \(Int(t.connectionsPercent))% of max_connections",
                   .init(metric: "ConnectionsPercent", target: "primary", comparison: .greaterThan,
                         threshold: t.connectionsPercent, period: p, evaluationPeriods: 3)),
            metric("latency-high", "primary probe latency over \(t.latency)",
                   .init(metric: "ProbeLatency", target: "primary", statistic: .average, comparison: .greaterThan,
                         threshold: t.latency.seconds, period: p, evaluationPeriods: 5, datapointsToAlarm: 3)),
            // Lag seconds are 0 whenever the standby has replayed all flushed
            // WAL, so an idle primary never fires this (byte evidence built in).
            metric("replication-lag", "replication lag over \(t.replicationLag)",
                   .init(metric: "ReplicationLagSeconds", comparison: .greaterThan,
                         threshold: t.replicationLag.seconds, period: p, evaluationPeriods: 3)),
            metric("standby-not-streaming", "the DR standby is not streaming WAL",
                   .init(metric: "StandbyStreaming", statistic: .minimum, comparison: .lessThan, threshold: 1,
                         period: p, evaluationPeriods: 2, treatMissingData: .breaching)),
            metric("standby-unreachable", "the DR standby does not answer",
                   .init(metric: "StandbyUp", statistic: .maximum, comparison: .lessThan, threshold: 1,
                         period: p, evaluationPeriods: 2, treatMissingData: .breaching)),
            metric("primary-unreachable", "no writable primary answers",
                   .init(metric: "PrimaryUp", statistic: .maximum, comparison: .lessThan, threshold: 1,
                         period: p, evaluationPeriods: 2, treatMissingData: .breaching)),
            metric("archiver-failing", "WAL archiving on the primary is failing",
                   .init(metric: "ArchiverFailing", target: "primary", comparison: .greaterThanOrEqual, threshold: 1,
                         period: p, evaluationPeriods: 2)),
            AlarmSpec(name: drAtRisk, summary: "the DR region is not protected: standby down, not streaming or lagging",
                      kind: .composite(.or(.or(.state(.alarm, "standby-unreachable"), .state(.alarm, "standby-not-streaming")),
                                           .state(.alarm, "replication-lag")))),
            // The standby still answering is what tells a dead primary from the
            // agent's own network failing.
            AlarmSpec(name: primaryDown, summary: "the primary is down while the DR standby is reachable",
                      kind: .composite(.and(.state(.alarm, "primary-unreachable"),
                                            .not(.state(.alarm, "standby-unreachable"))))),
        ]
    }
}
