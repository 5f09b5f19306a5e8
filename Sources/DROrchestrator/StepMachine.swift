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
        case blocked(String)
    }

    public static func next(plan: OperationPlan, finished: Set<Step>, observed: Observation) -> Decision {
        let remaining = plan.steps.filter { !finished.contains($0) }
        guard let step = remaining.first else { return .done }
        if plan.kind == .failover {
            // An old primary that came back after promotion is a second writable
            // primary: fence it again before anything else.
            if finished.contains(.promote), observed.oldPrimaryWritable == true {
                return .run(.fence)
            }
            if step == .promote, observed.candidateIsPrimary {
                return .markDone(.promote, because: "\(plan.to) is already a primary")
            }
            if step == .promote, !observed.candidateReachable {
                return .blocked("\(plan.to) became unreachable before promotion; nothing was promoted")
            }
            // The old primary came back before promotion: the fence step (first) stops it;
            // if fence already ran, run it again rather than promote beside a live primary.
            if step == .promote, observed.oldPrimaryWritable == true {
                return .run(.fence)
            }
        }
        if plan.kind == .switchover, step == .promote, observed.candidateIsPrimary {
            return .markDone(.promote, because: "\(plan.to) is already a primary")
        }
        return .run(step)
    }
}
