import DRLocal
import DRNotify
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation

/// Executes a plan step by step under the operation lock, journaling each
/// step before and after it runs, and consulting the step machine between
/// steps with a fresh look at the servers.
public struct OperationRunner: Sendable {
    public struct Outcome: Sendable, Codable {
        public var operation: String
        public var kind: OperationKind
        public var steps: [StepReport]
        /// Switchover: from the moment writes stopped until the new primary took one.
        public var writeGapSeconds: Double?
        public var totalSeconds: Double
    }

    public struct StepReport: Sendable, Codable {
        public var step: Step
        public var detail: String
        public var seconds: Double
    }

    let ctx: OperationContext

    public init(context: OperationContext) { ctx = context }

    public func execute(_ plan: OperationPlan) async throws -> Outcome {
        try ctx.store.acquire(plan.id)
        defer { ctx.store.release(plan.id) }
        let clock = ContinuousClock()
        let started = clock.now
        try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .approved,
                                   detail: plan.acceptedDataLoss ? "data loss accepted by the operator" : nil))
        var reports: [StepReport] = []
        if plan.kind == .switchover, !ctx.store.finishedSteps(of: plan.id).contains(.stopWrites) {
            // While writes still flow: makes the shutdown checkpoint, inside the write gap, short.
            _ = try? await PostgresSession.with(try ctx.admin(plan.from)) { _ = try await $0.rows("CHECKPOINT") }
        }
        var writesStopped: ContinuousClock.Instant?
        var writeGap: Double?
        for _ in 0..<(plan.steps.count * 3) {
            let report = await ctx.observe()
            let decision = StepMachine.next(plan: plan, finished: ctx.store.finishedSteps(of: plan.id),
                                            observed: observation(report, plan))
            switch decision {
            case .done:
                try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .done))
                ctx.store.removeApproval(plan.id)
                return Outcome(operation: plan.id, kind: plan.kind, steps: reports, writeGapSeconds: writeGap,
                               totalSeconds: seconds(clock.now - started))
            case .markDone(let step, let why):
                try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .end, step: step, detail: why))
                reports.append(StepReport(step: step, detail: why, seconds: 0))
            case .blocked(let reason):
                try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .failed, detail: reason))
                throw OperationError.failed("\(plan.id) stopped: \(reason)")
            case .run(let step):
                try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .begin, step: step))
                let stepStart = clock.now
                if step == .stopWrites { writesStopped = stepStart }
                do {
                    let detail = try await perform(step, plan: plan)
                    try ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .end, step: step, detail: detail))
                    reports.append(StepReport(step: step, detail: detail, seconds: seconds(clock.now - stepStart)))
                    if step == .verify, let stopped = writesStopped { writeGap = seconds(clock.now - stopped) }
                } catch {
                    try? ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .failed, step: step, detail: "\(error)"))
                    if plan.kind == .switchover, !ctx.store.finishedSteps(of: plan.id).contains(.promote) {
                        let undo = await rollBackSwitchover(plan)
                        try? ctx.store.append(.init(operation: plan.id, kind: plan.kind, phase: .aborted, detail: undo))
                        throw OperationError.failed("switchover \(plan.id) failed at \(step.rawValue): \(error); \(undo)")
                    }
                    throw OperationError.failed("\(plan.id) failed at step \(step.rawValue): \(error). "
                        + "`pgdr operations` shows where it stopped; `pgdr approve \(plan.id)` retries from there")
                }
            }
        }
        throw OperationError.failed("\(plan.id) made no progress after \(plan.steps.count * 3) rounds; see `pgdr operations`")
    }

    func observation(_ report: StatusReport, _ plan: OperationPlan) -> StepMachine.Observation {
        let old = report.nodes.first { $0.name == plan.from }
        let candidate = report.nodes.first { $0.name == plan.to }
        let oldWritable: Bool? = old.map { $0.reachable ? $0.role == .primary : false }
        return .init(oldPrimaryWritable: plan.kind == .rejoin ? nil : oldWritable,
                     candidateReachable: candidate?.reachable ?? false,
                     candidateIsPrimary: candidate?.reachable == true && candidate?.role == .primary)
    }

    func perform(_ step: Step, plan: OperationPlan) async throws -> String {
        switch step {
        case .fence:
            return try await StepActions.fence(plan.from, ctx: ctx, operation: plan.id)
        case .promote:
            return try await StepActions.promote(plan.to, ctx: ctx)
        case .verify:
            let relaxed = try await StepActions.relaxSynchronous(on: plan.to, ctx: ctx)
            let wrote = try await StepActions.verifyWrite(plan.to, ctx: ctx)
            return [relaxed, wrote].compactMap { $0 }.joined(separator: "; ")
        case .repoint:
            return try await StepActions.repoint(to: plan.to, ctx: ctx, operation: plan.id)
        case .notify:
            return await notify(plan)
        case .stopWrites:
            // A fast shutdown ends sessions, and the walsender ships every last
            // WAL record to the standby before the postmaster exits.
            _ = try await ctx.local(plan.from).stop(node: plan.from)
            let (location, state) = try await ctx.local(plan.from).checkpointLocation(node: plan.from)
            guard state == "shut down" else {
                throw OperationError.failed("\(plan.from) did not shut down cleanly (\(state))")
            }
            return "writes stopped; final checkpoint at \(location)"
        case .waitCatchUp:
            let (location, _) = try await ctx.local(plan.from).checkpointLocation(node: plan.from)
            guard let final = LSN(location) else { throw OperationError.failed("unreadable checkpoint location \(location)") }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                // Replay past the start of the shutdown checkpoint record means the
                // record, the primary's last, has been replayed.
                if let replay = try? await StepActions.replayLSN(plan.to, ctx: ctx), replay > final {
                    return "\(plan.to) replayed to \(replay), past \(plan.from)'s final checkpoint \(final): nothing is lost"
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            throw OperationError.failed("\(plan.to) did not replay \(plan.from)'s final WAL (\(final)) within 30 s")
        case .restartOldAsStandby:
            let slot = try await StepActions.ensureSlot(for: plan.from, on: plan.to, ctx: ctx)
            let lab = try ctx.local(plan.from)
            try lab.configureStandby(node: plan.from, following: plan.to)
            try await lab.start(node: plan.from)
            let streaming = try await StepActions.waitStreaming(plan.from, ctx: ctx)
            let restored = try await StepActions.restoreSynchronous(on: plan.to, ctx: ctx)
            return ([slot, streaming] + [restored].compactMap { $0 }).joined(separator: "; ")
        case .stopNode:
            let stopped = try await ctx.local(plan.from).stop(node: plan.from)
            return stopped ? "\(plan.from) stopped" : "\(plan.from) was not running"
        case .resync:
            let lab = try ctx.local(plan.from)
            // A just-promoted primary's control file still names the old timeline
            // until its first checkpoint; pg_rewind reads the timeline from there
            // and would wrongly find nothing to rewind.
            _ = try await PostgresSession.with(try ctx.admin(plan.to)) { _ = try await $0.rows("CHECKPOINT") }
            do {
                let said = try await lab.rewind(node: plan.from, from: plan.to)
                return "pg_rewind: \(said)"
            } catch {
                let rebuilt = try await lab.rebuild(node: plan.from, from: plan.to)
                return "pg_rewind was impossible (\(error)); \(rebuilt)"
            }
        case .configureStandby:
            try ctx.local(plan.from).configureStandby(node: plan.from, following: plan.to)
            return "\(plan.from) set to follow \(plan.to)"
        case .createSlot:
            return try await StepActions.ensureSlot(for: plan.from, on: plan.to, ctx: ctx)
        case .startStandby:
            try await ctx.local(plan.from).start(node: plan.from)
            return "\(plan.from) started"
        case .waitStreaming:
            let streaming = try await StepActions.waitStreaming(plan.from, ctx: ctx)
            let restored = try await StepActions.restoreSynchronous(on: plan.to, ctx: ctx)
            return ([streaming] + [restored].compactMap { $0 }).joined(separator: "; ")
        }
    }

    /// A switchover that failed before promotion gives the primary back.
    func rollBackSwitchover(_ plan: OperationPlan) async -> String {
        do {
            try await ctx.local(plan.from).start(node: plan.from)
            return "\(plan.from) restarted as the primary; nothing was lost"
        } catch {
            return "could not restart \(plan.from): \(error); start it with `pgdr lab up`"
        }
    }

    /// Tells the notification sinks; a failed delivery does not fail the operation.
    func notify(_ plan: OperationPlan) async -> String {
        let payload: [String: String] = [
            "kind": "operation", "operation": plan.id, "type": plan.kind.rawValue, "from": plan.from, "to": plan.to,
            "deployment": ctx.spec.resourceName(ctx.spec.name), "at": Date().formatted(.iso8601),
            "message": "\(plan.kind.rawValue): \(plan.to) is the primary" + (plan.acceptedDataLoss ? " (data loss accepted)" : ""),
        ]
        guard let body = try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]) else { return "no payload" }
        var results: [String] = []
        for sink in ctx.spec.notifications {
            let notifier = NotifierFactory.make(sink, baseDirectory: ctx.baseDirectory)
            do {
                try await notifier.deliver(body)
                results.append("\(notifier.label): delivered")
            } catch {
                results.append("\(notifier.label): FAILED (\(error))")
            }
        }
        return results.isEmpty ? "no notification sinks" : results.joined(separator: "; ")
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
