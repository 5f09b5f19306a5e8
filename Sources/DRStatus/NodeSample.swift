import Foundation

/// Everything one probe of one server observed, at one moment. Field names
/// are the stable `--json` names; optional fields are absent when the server
/// could not say (unreachable, or the field does not apply to its role).
public struct NodeSample: Sendable, Codable, Hashable {
    public enum Role: String, Sendable, Codable { case primary, standby }

    public var name: String
    public var region: String
    public var host: String
    public var port: Int
    public var reachable: Bool
    /// Why the node could not be probed (connection refused, authentication, timeout).
    public var error: String?
    public var probeLatencyMs: Double?
    public var serverVersion: String?
    public var role: Role?
    public var timeline: Int?
    public var serverTime: Date?
    /// Primary: `pg_current_wal_lsn()`.
    public var currentLSN: LSN?
    /// Primary: `pg_current_wal_flush_lsn()`.
    public var flushLSN: LSN?
    /// Standby: `pg_last_wal_receive_lsn()`.
    public var receiveLSN: LSN?
    /// Standby: `pg_last_wal_replay_lsn()`.
    public var replayLSN: LSN?
    public var replayPaused: Bool?
    /// Standby: commit time of the last replayed transaction (not used for alarms).
    public var lastReplayedCommitAt: Date?
    /// The newest heartbeat row visible on this node.
    public var heartbeatAt: Date?
    public var walReceiver: WalReceiver?
    /// True when the standby's WAL receiver streams from its upstream.
    public var isStreaming: Bool { walReceiver?.status == .streaming }
    public var slots: [ReplicationSlot]
    public var replicas: [ReplicaConnection]
    public var archiver: Archiver?
    public var connections: Connections?
    public var databaseSizeBytes: Int64?
    /// Primaries: `synchronous_standby_names` as the server runs with it, and
    /// how many sessions wait for a synchronous standby right now (SyncRep).
    public var synchronousStandbyNames: String?
    public var syncWaiters: Int?
    /// RDS replicas: CloudWatch's `ReplicaLag` (seconds) and when it was measured.
    public var replicaLagSeconds: Double?
    public var replicaLagAt: Date?
    /// Which metric that lag came from (`cloudWatch` or `heartbeatMetric`).
    public var replicaLagSource: StatusReport.Replication.LagSource?
    /// `target: aws`: what the RDS API says of the instance.
    public var rds: RDSDetails?
    /// RDS with `aws.database`: why the SQL session to this instance failed
    /// (its API view stands; lag in bytes and the heartbeat are then missing).
    public var sqlProblem: String?

    public init(name: String, region: String, host: String, port: Int, reachable: Bool, error: String? = nil) {
        self.name = name
        self.region = region
        self.host = host
        self.port = port
        self.reachable = reachable
        self.error = error
        self.slots = []
        self.replicas = []
    }

    public struct WalReceiver: Sendable, Codable, Hashable {
        public var status: WalReceiverState
        public var senderHost: String?
        public var senderPort: Int?
        public var slotName: String?
        public var lastMessageAt: Date?
        public init(status: WalReceiverState, senderHost: String?, senderPort: Int?, slotName: String?, lastMessageAt: Date?) {
            self.status = status
            self.senderHost = senderHost
            self.senderPort = senderPort
            self.slotName = slotName
            self.lastMessageAt = lastMessageAt
        }
    }

    public struct ReplicationSlot: Sendable, Codable, Hashable {
        public var name: String
        public var type: String
        public var active: Bool
        /// WAL kept for this slot: current LSN minus the slot's restart LSN.
        public var retainedBytes: Int64?
        /// `reserved`, `extended`, `unreserved` or `lost` (pg_replication_slots.wal_status).
        public var walStatus: String?
        /// `safe_wal_size`: WAL that can still be written before the slot is
        /// invalidated; nil when `max_slot_wal_keep_size` is unlimited.
        public var safeWALBytes: Int64?
        public init(name: String, type: String, active: Bool, retainedBytes: Int64?, walStatus: String?, safeWALBytes: Int64? = nil) {
            self.name = name
            self.type = type
            self.active = active
            self.retainedBytes = retainedBytes
            self.walStatus = walStatus
            self.safeWALBytes = safeWALBytes
        }
    }

    /// One row of the primary's `pg_stat_replication`.
    public struct ReplicaConnection: Sendable, Codable, Hashable {
        public var applicationName: String
        public var clientAddress: String?
        public var state: String
        public var syncState: String?
        public var sentLSN: LSN?
        public var replayLSN: LSN?
        /// What the standby has written and flushed: what a failover would keep.
        public var flushLSN: LSN?
        /// PostgreSQL's own measure of how long the standby takes to flush what
        /// the primary flushed (`flush_lag`, seconds); nil when it has caught up.
        public var flushLagSeconds: Double?
        public init(applicationName: String, clientAddress: String?, state: String, syncState: String?,
                    sentLSN: LSN?, replayLSN: LSN?, flushLSN: LSN? = nil, flushLagSeconds: Double? = nil) {
            self.flushLSN = flushLSN
            self.flushLagSeconds = flushLagSeconds
            self.applicationName = applicationName
            self.clientAddress = clientAddress
            self.state = state
            self.syncState = syncState
            self.sentLSN = sentLSN
            self.replayLSN = replayLSN
        }
    }

    public struct Archiver: Sendable, Codable, Hashable {
        public var archivedCount: Int64
        public var lastArchivedWAL: String?
        public var lastArchivedAt: Date?
        public var failedCount: Int64
        public var lastFailedWAL: String?
        public var lastFailedAt: Date?
        public init(archivedCount: Int64, lastArchivedWAL: String?, lastArchivedAt: Date?,
                    failedCount: Int64, lastFailedWAL: String?, lastFailedAt: Date?) {
            self.archivedCount = archivedCount
            self.lastArchivedWAL = lastArchivedWAL
            self.lastArchivedAt = lastArchivedAt
            self.failedCount = failedCount
            self.lastFailedWAL = lastFailedWAL
            self.lastFailedAt = lastFailedAt
        }

        /// Failing now: the newest failure is newer than the newest success.
        public var isFailing: Bool {
            guard let failed = lastFailedAt else { return false }
            guard let archived = lastArchivedAt else { return true }
            return failed > archived
        }
    }

    public struct Connections: Sendable, Codable, Hashable {
        public var used: Int
        public var max: Int
        public init(used: Int, max: Int) {
            self.used = used
            self.max = max
        }
    }
}
