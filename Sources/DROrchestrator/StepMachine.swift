import Foundation

/// Pure: given an operation's plan, the steps its journal shows finished,
/// and what is observed now, what happens next. A controller that died
/// mid-operation resumes here from the journal: finished steps are not
/// repeated, and a step that began but never ended runs again (every step
/// is written to be safe to repeat).
public enum StepMachine {
    public struct Observation: Sendable, Hashable {
        /// The old primary answers and takes writes (nil: unknown).
        public var oldPrimaryWritable: Bool?
        /// The candidate answers, and whether it is already a primary.
        public var candidateReachable: Bool
        public var candidateIsPrimary: Bool

        public init(oldPrimaryWritable: Bool?, candidateReachable: Bool, candidateIsPrimary: Bool) {
            self.oldPrimaryWritable = oldPrimaryWritable
            self.candidateReachable = candidateReachable
            self.candidateIsPrimary = candidateIsPrimary
        }
    }

    public enum Decision: Sendable, Hashable {
        case run(Step)
        /// A step's effect is already there (e.g. the candidate was promoted
        /// by a run that died before journaling the end): record it as done.
        case markDone(Step, because: String)
        case done
        /// Nothing safe to do: stop, leave the journal saying why.
        case blocked(String)
        /// A switchover that cannot go on before promotion: give the old
        /// primary its role back (nothing was lost, nothing promoted).
        case rollBack(String)
    }

    public static func next(plan: OperationPlan, finished: Set<Step>, observed: Observation) -> Decision {
        let remaining = plan.steps.filter { !finished.contains($0) }
        guard let step = remaining.first else { return .done }
        switch plan.kind {
        case .failover: return failover(plan, step, finished, observed)
        case .switchover: return switchover(plan, step, finished, observed)
        case .rejoin: return rejoin(plan, step, observed)
        }
    }

    static func failover(_ plan: OperationPlan, _ step: Step, _ finished: Set<Step>, _ observed: Observation) -> Decision {
        // An old primary that came back after promotion is a second writable
        // primary: fence it again before anything else.
        if finished.contains(.promote), observed.oldPrimaryWritable == true {
            return .run(.fence)
        }
        guard step == .promote else { return .run(step) }
        if observed.candidateIsPrimary {
            return .markDone(.promote, because: "\(plan.to) is already a primary")
        }
        if !observed.candidateReachable {
            return .blocked("\(plan.to) became unreachable before promotion; nothing was promoted")
        }
        // The old primary came back before promotion: fence it again rather
        // than promote beside a live primary.
        if observed.oldPrimaryWritable == true {
            return .run(.fence)
        }
        return .run(.promote)
    }

    static func switchover(_ plan: OperationPlan, _ step: Step, _ finished: Set<Step>, _ observed: Observation) -> Decision {
        if finished.contains(.promote) {
            // After promotion the old primary must never be writable again.
            if observed.oldPrimaryWritable == true { return .run(.fence) }
            return .run(step)
        }
        // Before promotion: the old primary still holds the role.
        if observed.candidateIsPrimary {
            return .markDone(.promote, because: "\(plan.to) is already a primary")
        }
        if finished.contains(.stopWrites) || step != .stopWrites {
            if !observed.candidateReachable {
                return .rollBack("\(plan.to) became unreachable before promotion")
            }
            if observed.oldPrimaryWritable == true {
                return .rollBack("\(plan.from) takes writes again (restarted by someone else?)")
            }
        }
        return .run(step)
    }

    static func rejoin(_ plan: OperationPlan, _ step: Step, _ observed: Observation) -> Decision {
        // `from` is the rejoining node here: it must not be a writable primary,
        // unless the plan fences a demoted one (split brain) as its first step.
        if observed.oldPrimaryWritable == true, step != .waitStreaming, step != .waitReplica,
           !(plan.acceptedDataLoss && (step == .stopNode || step == .rebuildReplica)) {
            return .blocked("\(plan.from) takes writes: rejoining it would throw its writes away; fail over or switch over first")
        }
        if step == .createSlot || step == .resync || step == .rebuildReplica, !observed.candidateIsPrimary {
            return .blocked("\(plan.to), which \(plan.from) should follow, is not a reachable primary")
        }
        return .run(step)
    }
}
