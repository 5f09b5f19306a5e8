import DRSpec
import DRStatus
import Foundation

/// What a failover would lose now: the WAL the DR replica has not received
/// and flushed (not replay lag: promotion replays what was received), in
/// bytes and in time. Time, from the primary's flush position recorded every
/// round: once the replica lacks WAL older than the newest round, the loss
/// window began after the last recorded position it has, so `now − that
/// round` bounds it from above (a hold therefore comes at most one round
/// late); while it lacks only the newest round's WAL, PostgreSQL's own
/// `flush_lag` measures it. Pure.
public struct UnreceivedLag: Sendable {
    public struct Reading: Sendable, Hashable, Codable {
        /// nil: unknown (the replica has never been seen).
        public var bytes: Int64?
        public var seconds: Double?
        public var standbyFlush: LSN?
        public var primaryFlush: LSN?
        public var known: Bool { bytes != nil && seconds != nil }

        public init(bytes: Int64? = nil, seconds: Double? = nil, standbyFlush: LSN? = nil, primaryFlush: LSN? = nil) {
            self.bytes = bytes
            self.seconds = seconds
            self.standbyFlush = standbyFlush
            self.primaryFlush = primaryFlush
        }
    }

    struct Sample: Sendable { var at: Date; var lsn: LSN }

    /// How far back positions are kept (at least the bound, so its time can be read).
    public let keep: TimeInterval
    private var history: [Sample] = []
    /// The replica's newest flushed position seen (kept while it cannot be reached).
    public private(set) var standbyFlush: LSN?

    public init(keep: TimeInterval) { self.keep = max(keep, 60) }

    /// One round: the primary's flush position, and the replica's when known
    /// (from the replica itself or from the primary's pg_stat_replication).
    public mutating func record(primary: LSN?, standby: LSN?, at: Date) {
        if let primary {
            if let last = history.last, primary < last.lsn { history.removeAll() }  // a new primary: a new WAL history
            history.append(Sample(at: at, lsn: primary))
            let horizon = at.addingTimeInterval(-keep)
            if let first = history.firstIndex(where: { $0.at >= horizon }), first > 1 { history.removeFirst(first - 1) }
        }
        if let standby { standbyFlush = max(standbyFlush ?? standby, standby) }
    }

    /// Forgets the replica's position (after a failover the positions start over).
    public mutating func reset() {
        history.removeAll()
        standbyFlush = nil
    }

    /// `flushLag`: pg_stat_replication's flush_lag for the replica while it is
    /// connected; `fallbackSeconds`: an upper estimate (the heartbeat's replay
    /// lag) for when the recorded positions do not reach back to the replica's.
    public func reading(now: Date, flushLag: Double? = nil, fallbackSeconds: Double? = nil) -> Reading {
        guard let newest = history.last else { return Reading(standbyFlush: standbyFlush) }
        guard let received = standbyFlush else { return Reading(primaryFlush: newest.lsn) }
        let bytes = max(0, newest.lsn.bytesAhead(of: received))
        var reading = Reading(bytes: bytes, seconds: 0, standbyFlush: received, primaryFlush: newest.lsn)
        guard bytes > 0 else { return reading }
        let measured = flushLag ?? 0
        guard let firstBeyond = history.firstIndex(where: { $0.lsn > received }) else { return reading }
        if firstBeyond == 0 {
            // Every recorded position is beyond the replica's: it has lagged at least that long.
            reading.seconds = max(now.timeIntervalSince(history[0].at), fallbackSeconds ?? 0, measured)
        } else if firstBeyond == history.count - 1 {
            reading.seconds = measured  // only the newest round's WAL is missing: in flight
        } else {
            reading.seconds = max(now.timeIntervalSince(history[firstBeyond - 1].at), measured)
        }
        return reading
    }
}

/// Bounded-lag mode's decision, round by round: hold commits (make the DR
/// replica synchronous) when the unreceived lag reaches the bound or cannot
/// be known; let them go once it is back under half the bound in every
/// dimension given (hysteresis, so it does not flap). An operator's accepted
/// risk suspends holding until the replica is back under half the bound. Pure.
public enum LagBound {
    public enum Decision: Sendable, Hashable {
        case hold(String)
        case release(String)
        /// The operator's acceptance ends: the replica is back inside the bound.
        case rearm(String)
        case keep
    }

    public static func decide(_ reading: UnreceivedLag.Reading, bound: DataLossLimit, holding: Bool,
                              riskAccepted: Bool) -> Decision {
        let over = breach(reading, bound)
        let inside = wellInside(reading, bound)
        if riskAccepted {
            if inside { return .rearm("the DR replica is back under half the bound (\(describe(reading)))") }
            return holding ? .release("the operator accepted the risk") : .keep
        }
        if !holding, let over { return .hold(over) }
        if holding, inside { return .release("the DR replica is back under half the bound (\(describe(reading)))") }
        return .keep
    }

    /// Why the bound is reached, or nil.
    static func breach(_ r: UnreceivedLag.Reading, _ bound: DataLossLimit) -> String? {
        guard r.known, let bytes = r.bytes, let seconds = r.seconds else {
            return "the DR replica's position is unknown: commits wait until it is known (fail closed)"
        }
        if let limit = bound.bytes, bytes >= limit.bytes {
            return "the DR replica has not received \(ByteSize(bytes: bytes)), at the bound of \(limit)"
        }
        if let limit = bound.time, seconds >= limit.seconds {
            return String(format: "the DR replica has not received the last %.1f s of WAL, at the bound of %@", seconds, limit.description)
        }
        return nil
    }

    static func wellInside(_ r: UnreceivedLag.Reading, _ bound: DataLossLimit) -> Bool {
        guard r.known, let bytes = r.bytes, let seconds = r.seconds else { return false }
        if let limit = bound.bytes, bytes * 2 > limit.bytes { return false }
        if let limit = bound.time, seconds * 2 > limit.seconds { return false }
        return true
    }

    static func describe(_ r: UnreceivedLag.Reading) -> String {
        guard let bytes = r.bytes, let seconds = r.seconds else { return "unknown" }
        return String(format: "%@ and %.1f s unreceived", ByteSize(bytes: bytes).description, seconds)
    }
}
