import DRSpec
import DRStatus
import Foundation

/// Pure: a planned switchover needs a healthy primary and a standby that
/// streams and is nearly caught up, so the write pause stays short.
public enum SwitchoverPlanner {
    /// More lag than this and the switchover is refused: waiting for it would
    /// stretch the write pause.
    public static let maxLagBytes: Int64 = 16 << 20

    public static func plan(report: StatusReport, spec: Spec, id: String, now: Date) -> Result<OperationPlan, Refusal> {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        guard primaries.count == 1, let primary = primaries.first else {
            return .failure(Refusal("a switchover needs exactly one reachable primary, found \(primaries.count)",
                                    hint: "with the primary down use `pgdr failover`"))
        }
        guard let standby = report.nodes.first(where: { $0.reachable && $0.role == .standby }) else {
            return .failure(Refusal("no reachable standby", hint: "start the standby (`pgdr lab up`) or `pgdr rejoin` it first"))
        }
        guard standby.isStreaming else {
            return .failure(Refusal("\(standby.name) is not streaming (\(standby.walReceiver.map { "\($0.status)" } ?? "no WAL receiver"))",
                                    hint: "wait until `pgdr status` shows it streaming"))
        }
        guard standby.replayPaused != true else {
            return .failure(Refusal("WAL replay is paused on \(standby.name)", hint: "resume it with pg_wal_replay_resume()"))
        }
        let lag = StatusEvaluator.measureLag(primary: primary, standby: standby)
        if let bytes = lag.lagBytes, bytes > maxLagBytes {
            return .failure(Refusal("\(standby.name) lags \(ByteSize.human(Double(bytes))) behind \(primary.name)",
                                    hint: "a switchover waits for zero lag with writes stopped; retry when the lag is under \(ByteSize(bytes: maxLagBytes))"))
        }
        return .success(OperationPlan(
            id: id, kind: .switchover, createdAt: now, from: primary.name, to: standby.name,
            candidateReplayLSN: standby.replayLSN, estimatedLossBytes: 0, estimatedLossSeconds: 0,
            oldPrimaryReachable: true,
            steps: [.stopWrites, .waitCatchUp, .promote, .verify, .restartOldAsStandby, .repoint, .notify]))
    }
}
