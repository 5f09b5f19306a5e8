import DRPostgres
import DRSpec
import Foundation

/// The detection probe of automatic mode: can a fresh connection to the
/// primary write? Each probe is bounded by `failover.detection.interval`.
/// Used by the agent and by drills, so both detect a loss the same way.
public struct PrimaryProbe: Sendable {
    let target: ConnectionTarget
    let detection: Failover.Detection

    public init(node: NodeSpec, baseDirectory: String, detection: Failover.Detection) throws {
        var target = try ConnectionTarget(node: node, baseDirectory: baseDirectory, applicationName: "pgdr-detect")
        target.connectTimeout = detection.interval.duration
        target.statementTimeout = detection.interval.duration
        self.target = target
        self.detection = detection
    }

    /// True when the node answers and is not in recovery.
    public func isWritable() async -> Bool {
        (try? await PostgresSession.with(target) { session in
            try await !session.rows("SELECT pg_is_in_recovery()").first!.decode(Bool.self)
        }) ?? false
    }

    /// Probes up to `detection.probes` times, `interval` apart; 0 at the
    /// first success, else the number of consecutive failures.
    public func consecutiveFailures() async -> Int {
        for attempt in 0..<detection.probes {
            if attempt > 0 { try? await Task.sleep(for: detection.interval.duration) }
            if await isWritable() { return 0 }
        }
        return detection.probes
    }
}
