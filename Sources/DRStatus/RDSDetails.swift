import Foundation

/// What the RDS API says of one DB instance (`target: aws`): the parts
/// `pgdr status` shows beside the role and the lag.
public struct RDSDetails: Sendable, Hashable, Codable {
    public var status: String
    public var instanceClass: String?
    public var multiAZ: Bool?
    public var allocatedStorageGiB: Int?
    public var engineVersion: String?
    public var backupRetentionDays: Int?
    /// The newest point a point-in-time restore can reach.
    public var latestRestorableTime: Date?
    /// A replica's source (an ARN when cross-region).
    public var replicaSource: String?
    /// RDS's `read replication` status: replicating, error, stopped, terminated.
    public var replicationStatus: String?
    public var replicationMessage: String?
    public var parameterGroup: String?
    /// True when the parameter group is pgdr's fence (read-only).
    public var fenced: Bool

    public init(status: String, instanceClass: String?, multiAZ: Bool?, allocatedStorageGiB: Int?, engineVersion: String?,
                backupRetentionDays: Int?, latestRestorableTime: Date?, replicaSource: String?, replicationStatus: String?,
                replicationMessage: String?, parameterGroup: String?, fenced: Bool) {
        self.status = status
        self.instanceClass = instanceClass
        self.multiAZ = multiAZ
        self.allocatedStorageGiB = allocatedStorageGiB
        self.engineVersion = engineVersion
        self.backupRetentionDays = backupRetentionDays
        self.latestRestorableTime = latestRestorableTime
        self.replicaSource = replicaSource
        self.replicationStatus = replicationStatus
        self.replicationMessage = replicationMessage
        self.parameterGroup = parameterGroup
        self.fenced = fenced
    }

    /// Statuses in which the database serves connections.
    public var serving: Bool {
        ["available", "backing-up", "modifying", "storage-optimization", "configuring-enhanced-monitoring",
         "configuring-log-exports", "upgrading", "maintenance", "storage-full"].contains(status)
    }
}
