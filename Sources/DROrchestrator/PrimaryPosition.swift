import DRStatus
import Foundation

/// The last time the agent saw the primary: its name and flush LSN. When the
/// primary is gone, this is the best evidence of how much the DR replica is
/// missing: the primary's last known flush position minus what the replica
/// received. Written by the agent every round, read by failover planning
/// (the file itself is read and written by DROperations).
public struct PrimaryPosition: Sendable, Hashable, Codable {
    public var node: String
    public var flushLSN: LSN
    /// The last time the primary answered.
    public var at: Date
    /// The agent's last round, whether or not the primary answered: the
    /// record speaks for everything up to here (an agent that stopped
    /// watching leaves an old `checkedAt`, and the record is no evidence).
    public var checkedAt: Date?
    /// Quorum mode: the primary cannot have taken a write after this time
    /// (its leader lease, renewed only after this record was saved, ends by
    /// then). Past it, the record is final evidence however old it is.
    public var writesEndBy: Date?

    public init(node: String, flushLSN: LSN, at: Date, checkedAt: Date? = nil, writesEndBy: Date? = nil) {
        self.node = node
        self.flushLSN = flushLSN
        self.at = at
        self.checkedAt = checkedAt ?? at
        self.writesEndBy = writesEndBy
    }

    public static let fileName = "pgdr-last-primary.json"
}
