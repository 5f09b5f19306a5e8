import DRSpec
import Foundation

/// `replication.mode: bounded` as `pgdr status` sees it in one look: the
/// bound, the WAL the DR replica has not received (bytes exactly; time at
/// most the heartbeat's replay lag, since what is replayed was received),
/// and whether commits are held. Pure.
public struct BoundStatus: Sendable, Codable, Hashable {
    public var boundBytes: Int64?
    public var boundSeconds: Double?
    public var unreceivedBytes: Int64?
    /// An upper estimate; the agent measures it to within a round (pgdr_unreceived_lag_seconds).
    public var unreceivedSecondsAtMost: Double?
    public var held: Bool
    public var waiting: Int

    /// What the DR replica has received and flushed: the newer of what the
    /// primary's pg_stat_replication says and what the replica itself says.
    public static func received(primary: NodeSample, standby: NodeSample?) -> LSN? {
        [primary.replicas.first { $0.applicationName == standby?.name }?.flushLSN,
         standby?.reachable == true && standby?.role == .standby ? standby?.receiveLSN : nil].compactMap { $0 }.max()
    }

    public static func from(_ report: StatusReport, bound: DataLossLimit) -> BoundStatus? {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        guard primaries.count == 1, let primary = primaries.first else { return nil }
        let standby = report.nodes.first { $0.name != primary.name }
        let received = received(primary: primary, standby: standby)
        let head = primary.flushLSN ?? primary.currentLSN
        let bytes = head.flatMap { head in received.map { max(0, head.bytesAhead(of: $0)) } }
        return BoundStatus(boundBytes: bound.bytes?.bytes, boundSeconds: bound.time?.seconds, unreceivedBytes: bytes,
                           unreceivedSecondsAtMost: bytes == 0 ? 0 : report.replication?.lagSeconds,
                           held: !(primary.synchronousStandbyNames ?? "").isEmpty, waiting: primary.syncWaiters ?? 0)
    }

    public var rendered: String {
        let limit = [boundBytes.map { ByteSize.human(Double($0)) }, boundSeconds.map { StatusEvaluator.formatSeconds($0) }]
            .compactMap { $0 }.joined(separator: " or ")
        let lag = (unreceivedBytes.map { ByteSize.human(Double($0)) } ?? "unknown")
            + (unreceivedSecondsAtMost.map { ", at most \(StatusEvaluator.formatSeconds($0))" } ?? "")
        return "bounded mode: max lag \(limit); unreceived by the DR replica \(lag); commits "
            + (held ? "HELD (\(waiting) waiting) until it catches up" : "flow (asynchronous)") + "\n"
    }
}
