import DRSpec

/// The CloudWatch twin of each alarm in the agent's default set: same name,
/// same threshold and datapoints, on the RDS metric that means the same
/// thing. RDS metrics come per minute, so periods are at least 60 s.
public enum CloudWatchAlarms {
    public struct Twin: Sendable, Hashable {
        public var alarm: String
        public var region: RegionStack.Role
        public var metric: String
        public var statistic: String
        public var comparison: String
        public var threshold: Double
        public var evaluationPeriods: Int
        public var datapointsToAlarm: Int
        public var treatMissingData: String
        /// The replica's metrics, not the primary's.
        public var onReplica: Bool
        public var note: String?
        /// `AWS/RDS` (per DB instance), or `pgdr` (the lag monitor's metrics, per deployment).
        public var namespace: String = "AWS/RDS"
    }

    /// Approximate max_connections RDS derives from an instance class's memory.
    static func maxConnections(_ instanceClass: String) -> Double {
        let parts = instanceClass.split(separator: ".")
        guard parts.count == 3 else { return 100 }
        let perSize: [String: Double] = ["micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
                                         "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256, "24xlarge": 384, "32xlarge": 512]
        let memoryFactor: Double = parts[1].hasPrefix("r") || parts[1].hasPrefix("x") ? 2 : 1
        let gib = (perSize[String(parts[2])] ?? 8) * (parts[1].hasPrefix("t") ? 0.5 : memoryFactor)
        return min(5000, (gib * 1_073_741_824 / 9_531_392).rounded(.down))
    }

    /// Default alarms with no CloudWatch counterpart, and why.
    public static let withoutTwin: [String: String] = [
        "slot-lost": "RDS does not expose an invalidated slot; its ReplicaLag alarms and dr-at-risk cover a replica that stops receiving WAL",
    ]

    public static func twins(_ spec: Spec) -> [Twin] {
        spec.effectiveAlarms.compactMap { alarm -> Twin? in
            guard let m = alarm.metric else { return nil }
            let evaluation = m.evaluationPeriods, datapoints = m.datapointsToAlarm
            let missing = m.treatMissingData.rawValue
            func twin(_ region: RegionStack.Role, _ metric: String, _ statistic: String, _ threshold: Double,
                      comparison: String? = nil, onReplica: Bool = false, note: String? = nil) -> Twin {
                Twin(alarm: alarm.name, region: region, metric: metric, statistic: statistic, comparison: comparison ?? m.comparison.rawValue,
                     threshold: threshold, evaluationPeriods: evaluation, datapointsToAlarm: datapoints,
                     treatMissingData: missing, onReplica: onReplica, note: note)
            }
            switch (alarm.name, m.metric) {
            case (_, "CPUPercent"): return twin(.primary, "CPUUtilization", "Average", m.threshold)
            case (_, "FreeStorage") where m.target == "standby":
                return twin(.dr, "FreeStorageSpace", "Minimum", m.threshold, onReplica: true)
            case (_, "FreeStorage"): return twin(.primary, "FreeStorageSpace", "Minimum", m.threshold)
            case (_, "ConnectionsPercent"):
                return twin(.primary, "DatabaseConnections", "Maximum",
                            (maxConnections(spec.primary.instanceClass) * m.threshold / 100).rounded(),
                            note: "percent of an estimated max_connections for \(spec.primary.instanceClass)")
            case (_, "ProbeLatency"): return twin(.primary, "WriteLatency", "Average", m.threshold)
            case (_, "ReplicationLagSeconds"):
                // The lag monitor's heartbeat lag (pgdr/ReplicationLagSeconds): RDS's own ReplicaLag
                // reads an idle primary as growing lag; missing data is the dr-at-risk alarms' business.
                var lag = twin(.dr, "ReplicationLagSeconds", "Maximum", m.threshold, onReplica: true,
                               note: "the lag monitor's heartbeat lag, not RDS's ReplicaLag (which grows on an idle primary)")
                lag.namespace = "pgdr"
                return lag
            case (_, "StandbyStreaming"), (_, "StandbyUp"):
                // A replica that stops reporting lag is not replicating.
                return twin(.dr, "ReplicaLag", "SampleCount", 1, comparison: "LessThanThreshold", onReplica: true)
            case (_, "PrimaryUp"):
                return twin(.primary, "DatabaseConnections", "SampleCount", 1, comparison: "LessThanThreshold")
            case (_, "SlotSafeWAL"):
                // RDS reports no safe_wal_size: watch the oldest slot's WAL against 1 GiB less the margin.
                return twin(.primary, "OldestReplicationSlotLag", "Maximum", max(0, 1_073_741_824 - m.threshold),
                            comparison: "GreaterThanThreshold",
                            note: "RDS reports no safe_wal_size; the oldest slot's lag stands in for it")
            case (_, "ArchiverFailing"):
                // RDS archives WAL itself; what failing WAL shipping looks like there is WAL piling up.
                return twin(.primary, "OldestReplicationSlotLag", "Maximum", 1_073_741_824, comparison: "GreaterThanThreshold",
                            note: "RDS archives WAL itself; the twin watches WAL held back by a slot")
            default: return nil
            }
        }
    }

    /// Composite rules per region; CloudWatch composites see only their region's alarms.
    public static func composites(_ spec: Spec, region: RegionStack.Role, alarmName: (String) -> String) -> [(name: String, rule: String, summary: String)] {
        let here = Set(twins(spec).filter { $0.region == region }.map(\.alarm))
        return spec.effectiveAlarms.compactMap { alarm in
            guard let rule = alarm.rule else { return nil }
            let refs = Set(rule.references)
            if refs.isSubset(of: here) {
                return (alarm.name, render(rule, alarmName), alarm.summary)
            }
            if alarm.name == DefaultAlarms.primaryDown && region == .primary {
                // The standby half lives in the other region; here the primary half stands alone.
                return (alarm.name, "ALARM(\"\(alarmName("primary-unreachable"))\")", alarm.summary + " (primary-region half)")
            }
            return nil
        }
    }

    static func render(_ rule: AlarmRule, _ name: (String) -> String) -> String {
        switch rule {
        case .state(let state, let alarm): "\(state.rawValue)(\"\(name(alarm))\")"
        case .constant(let value): value ? "TRUE" : "FALSE"
        case .not(let inner): "NOT (\(render(inner, name)))"
        case .and(let a, let b): "(\(render(a, name))) AND (\(render(b, name)))"
        case .or(let a, let b): "(\(render(a, name))) OR (\(render(b, name)))"
        }
    }
}
