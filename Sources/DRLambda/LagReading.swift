import DRStatus
import Foundation

/// Pure: the lag monitor's metrics from what one run saw. The function
/// stamps the heartbeat on the primary, then watches the replica until the
/// stamp arrives (or a short wait ends): lag in time is how old the newest
/// stamp the replica has replayed is, so an idle primary reads near zero
/// (RDS's own ReplicaLag reads an idle primary as growing lag), and a
/// replica that stopped replaying reads the time since its last stamp.
public struct LagReading: Sendable, Hashable, Codable {
    public var primaryReachable: Bool
    public var lagSeconds: Double?
    public var lagBytes: Int64?

    /// - stampedAt / primaryLSN: the primary's stamp and its WAL position just after (nil: unreachable).
    /// - replayedBeatAt / replayLSN: the newest stamp the replica replayed and its replay position (nil: no answer).
    public static func from(stampedAt: Date?, primaryLSN: LSN?, replayedBeatAt: Date?, replayLSN: LSN?, now: Date) -> LagReading {
        var reading = LagReading(primaryReachable: stampedAt != nil && primaryLSN != nil)
        if let replayedBeatAt {
            reading.lagSeconds = max(0, now.timeIntervalSince(replayedBeatAt))
        }
        if let primaryLSN, let replayLSN {
            reading.lagBytes = primaryLSN.bytesAhead(of: replayLSN)
        }
        return reading
    }

    /// The CloudWatch datapoints (namespace pgdr): name, value, unit.
    public var datapoints: [(name: String, value: Double, unit: String)] {
        var out: [(String, Double, String)] = [("PrimaryReachable", primaryReachable ? 1 : 0, "Count")]
        if let lagSeconds { out.append(("ReplicationLagSeconds", (lagSeconds * 1000).rounded() / 1000, "Seconds")) }
        if let lagBytes { out.append(("ReplicationLagBytes", Double(lagBytes), "Bytes")) }
        return out
    }
}
