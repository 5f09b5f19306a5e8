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
    public var at: Date

    public init(node: String, flushLSN: LSN, at: Date) {
        self.node = node
        self.flushLSN = flushLSN
        self.at = at
    }

    public static let fileName = "pgdr-last-primary.json"
}
