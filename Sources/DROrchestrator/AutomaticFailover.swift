import DRSpec
import DRStatus
import Foundation

/// Pure: should the agent fail over by itself, now?
///
/// Two sites alone cannot tell a dead primary from a cut link: from the DR
/// side both look like silence (quorum mode, with etcd, is the answer to
/// that; this is the single-agent mode). So automatic mode demands, in order:
/// (1) evidence gathered while holding the operation lock, with no other
/// operation journaled since it was gathered (a view from before a
/// switchover must never fence the switchover's new standby),
/// (2) `failover.detection.probes` consecutive failed probes of the primary,
/// (3) a healthy DR replica and an estimated loss inside `failover.maxDataLoss`
/// (the same planner as a manual failover, never with data loss accepted),
/// and the failover itself fences the old primary before promoting.
public enum AutomaticFailover {
    public struct Evidence: Sendable, Hashable {
        public var consecutiveFailedProbes: Int
        /// The probes and the report were taken after the lock was held.
        public var gatheredUnderLock: Bool
        /// Operations journaled between the start of the evidence and now.
        public var operationsSinceEvidence: Int

        public init(consecutiveFailedProbes: Int, gatheredUnderLock: Bool, operationsSinceEvidence: Int) {
            self.consecutiveFailedProbes = consecutiveFailedProbes
            self.gatheredUnderLock = gatheredUnderLock
            self.operationsSinceEvidence = operationsSinceEvidence
        }
    }

    public enum Decision: Sendable, Hashable {
        case keepWatching(String)
        case failover(OperationPlan)
        case refuse(Refusal)
    }

    public static func decide(spec: Spec, evidence: Evidence, report: StatusReport, lastKnownPrimary: PrimaryPosition?,
                              id: String, now: Date) -> Decision {
        guard spec.failover.mode == .automatic else {
            return .keepWatching("manual mode: a failover waits for an operator's approval")
        }
        guard evidence.gatheredUnderLock else {
            return .keepWatching("evidence gathered without the operation lock cannot decide a failover")
        }
        guard evidence.operationsSinceEvidence == 0 else {
            return .keepWatching("\(evidence.operationsSinceEvidence) operation(s) ran since the evidence was gathered: look again")
        }
        let required = spec.failover.detection.probes
        guard evidence.consecutiveFailedProbes >= required else {
            return .keepWatching("\(evidence.consecutiveFailedProbes) of \(required) probes of the primary failed")
        }
        if report.nodes.contains(where: { $0.reachable && $0.role == .primary }) {
            return .keepWatching("a primary answers: \(report.nodes.filter { $0.reachable && $0.role == .primary }.map(\.name).joined(separator: ", "))")
        }
        switch FailoverPlanner.plan(report: report, spec: spec, id: id, now: now, acceptDataLoss: false,
                                    lastKnownPrimary: lastKnownPrimary) {
        case .failure(let refusal): return .refuse(refusal)
        case .success(var plan):
            plan.origin = .agent
            return .failover(plan)
        }
    }
}
