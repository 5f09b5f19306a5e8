import DRSpec
import DRStatus
import Foundation

/// Pure: should the agent fail over by itself, now?
///
/// Two sites alone cannot tell a dead primary from a cut link: from the DR
/// side both look like silence. So automatic mode demands, in order:
/// (1) `failover.detection.probes` consecutive failed probes of the primary,
/// (2) the agreement of every witness configured (a third vantage point; the
/// parameter is here so a witness or quorum plugs in without a rewrite;
/// none exists yet, which the README says plainly),
/// (3) a healthy DR replica and an estimated loss inside `failover.maxDataLoss`
/// (the same planner as a manual failover, never with data loss accepted),
/// and the failover itself fences the old primary before promoting.
public enum AutomaticFailover {
    public struct Evidence: Sendable, Hashable {
        public var consecutiveFailedProbes: Int
        /// One vote per witness: true when it, too, cannot reach the primary.
        /// Empty: no witness configured.
        public var witnessVotes: [Bool]
        public init(consecutiveFailedProbes: Int, witnessVotes: [Bool] = []) {
            self.consecutiveFailedProbes = consecutiveFailedProbes
            self.witnessVotes = witnessVotes
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
        let required = spec.failover.detection.probes
        guard evidence.consecutiveFailedProbes >= required else {
            return .keepWatching("\(evidence.consecutiveFailedProbes) of \(required) probes of the primary failed")
        }
        if evidence.witnessVotes.contains(false) {
            return .refuse(Refusal("a witness still reaches the primary", hint: "the link from this site is cut, not the primary: no failover"))
        }
        switch FailoverPlanner.plan(report: report, spec: spec, id: id, now: now, acceptDataLoss: false,
                                    lastKnownPrimary: lastKnownPrimary) {
        case .failure(let refusal): return .refuse(refusal)
        case .success(let plan): return .failover(plan)
        }
    }
}
