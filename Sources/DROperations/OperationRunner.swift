import DRControl
import DROrchestrator
import DRSpec
import DRStatus
import Foundation

/// Executes a plan step by step under the operation lock, journaling each
/// step before and after it runs, and consulting the step machine between
/// steps with a fresh look at the two nodes involved. The same path runs a
/// new operation and resumes an interrupted one: finished steps are skipped.
public struct OperationRunner: Sendable {
    public struct Outcome: Sendable, Codable {
        public var operation: String
        public var kind: OperationKind
        public var outcome: OperationOutcome
        public var steps: [StepReport]
        /// Why the operation is degraded (empty when done).
        public var degraded: [String]
        /// Switchover: from the moment writes stopped until the new primary took one.
        public var writeGapSeconds: Double?
        public var totalSeconds: Double
    }

    public struct StepReport: Sendable, Codable {
        public var step: Step
        public var outcome: StepOutcome
        public var seconds: Double
    }

    let env: OperationEnvironment

    public init(environment: OperationEnvironment) { env = environment }

    /// Runs (or resumes) the plan. `lockHeld`: the caller took the operation
    /// lock for this plan's id already (the agent does, before it looks).
    public func execute(_ plan: OperationPlan, lockHeld: Bool = false) async throws -> Outcome {
        if !lockHeld { try env.store.acquire(plan.id) }
        defer { env.store.release(plan.id) }
        if env.store.plan(plan.id) == nil { try env.store.savePlan(plan) }
        let resuming = env.store.standing(of: plan.id) == .started
        try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .approved,
                                   detail: resuming ? "resumed from the journal" : plan.acceptedDataLoss ? "data loss accepted by the operator" : nil))
        let clock = ContinuousClock()
        let started = clock.now
        let actions = StepActions(env: env, plan: plan)
        var reports: [StepReport] = []
        var writesStopped: ContinuousClock.Instant?
        var writeGap: Double?
        if plan.kind == .switchover, !env.store.finishedSteps(of: plan.id).contains(.stopWrites) {
            // While writes still flow: makes the shutdown checkpoint, inside the write gap, short.
            try? await env.sql(plan.from).checkpoint()
        }
        for _ in 0..<(plan.steps.count * 3) {
            let decision = StepMachine.next(plan: plan, finished: env.store.finishedSteps(of: plan.id),
                                            observed: await observation(plan))
            switch decision {
            case .done:
                let degraded = env.store.entries(of: plan.id).filter { $0.phase == .end }.compactMap(\.reason)
                let outcome: OperationOutcome = degraded.isEmpty ? .done : .degraded
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .done,
                                           outcome: outcome, reason: degraded.isEmpty ? nil : degraded.joined(separator: "; ")))
                return Outcome(operation: plan.id, kind: plan.kind, outcome: outcome, steps: reports, degraded: degraded,
                               writeGapSeconds: writeGap, totalSeconds: seconds(clock.now - started))
            case .markDone(let step, let why):
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .end, step: step,
                                           detail: why, outcome: .done))
                reports.append(StepReport(step: step, outcome: .done(why), seconds: 0))
            case .blocked(let reason):
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .failed, detail: reason))
                throw OperationError.failed("\(plan.id) stopped: \(reason). `pgdr operations` shows where; `pgdr approve \(plan.id)` tries again")
            case .rollBack(let reason):
                let undo = await actions.rollBackSwitchover()
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .aborted,
                                           detail: "\(reason); \(undo)", outcome: .aborted))
                throw OperationError.failed("switchover \(plan.id) rolled back: \(reason); \(undo)")
            case .run(let step):
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .begin, step: step))
                let stepStart = clock.now
                if step == .stopWrites { writesStopped = stepStart }
                let outcome: StepOutcome
                do {
                    outcome = try await actions.perform(step)
                } catch {
                    try? env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .failed,
                                                step: step, detail: "\(error)"))
                    if plan.kind == .switchover, !env.store.finishedSteps(of: plan.id).contains(.promote) {
                        let undo = await actions.rollBackSwitchover()
                        try? env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .aborted,
                                                    detail: undo, outcome: .aborted))
                        throw OperationError.step(operation: plan.id, step: step, cause: error,
                                                  next: "Rolled back: \(undo)")
                    }
                    throw OperationError.step(operation: plan.id, step: step, cause: error,
                                              next: "`pgdr operations` shows where it stopped; `pgdr approve \(plan.id)` retries from there")
                }
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: plan.kind, phase: .end, step: step,
                                           detail: outcome.detail, outcome: outcome.degradedReason == nil ? .done : .degraded,
                                           reason: outcome.degradedReason))
                reports.append(StepReport(step: step, outcome: outcome, seconds: seconds(clock.now - stepStart)))
                if step == .verify, let stopped = writesStopped { writeGap = seconds(clock.now - stopped) }
            }
        }
        throw OperationError.failed("\(plan.id) made no progress after \(plan.steps.count * 3) rounds; see `pgdr operations`")
    }

    /// A quick look at the two nodes involved: who answers, who takes writes.
    func observation(_ plan: OperationPlan) async -> StepMachine.Observation {
        var roles = await env.observer.roles(of: [plan.from, plan.to], timeout: .milliseconds(500))
        // A candidate that missed one quick probe is asked again, with more time, before the
        // plan treats it as gone: a blip or a loaded machine must not roll a switchover back
        // (seen: a 600 ms probe with TLS and SCRAM on a machine at load 20).
        for patience in [Duration.seconds(1), .seconds(2)] where (roles[plan.to] ?? nil) == nil {
            roles[plan.to] = await env.observer.roles(of: [plan.to], timeout: patience)[plan.to] ?? nil
        }
        let old = roles[plan.from] ?? nil, candidate = roles[plan.to] ?? nil
        return .init(oldPrimaryWritable: old == .writablePrimary, candidateReachable: candidate != nil,
                     candidateIsPrimary: candidate?.isPrimary == true)
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
