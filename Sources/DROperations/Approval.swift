import DRJournal
import DROrchestrator
import DRSpec
import Foundation

/// `pgdr approve ID` and `POST /operations/ID/approve`: the one command that
/// moves any operation on. A plan waiting for approval is checked against
/// the servers again and run; an operation that was interrupted (its
/// process died holding the lock) resumes from its journal, or rolls back
/// when going on is not safe.
public enum Approval {
    public static func approve(id: String, env: OperationEnvironment) async throws -> OperationRunner.Outcome {
        let store = env.store
        let kind = OperationKind(rawValue: String(id.prefix { $0 != "-" })) ?? .failover
        func refuse(_ refusal: Refusal) -> OperationError {
            if store.standing(of: id) != .unknown {
                try? store.append(.init(at: env.clock.now(), operation: id, kind: kind, phase: .refused, detail: refusal.description))
            }
            return OperationError.refused(refusal)
        }
        guard OperationStore.isValidID(id) else {
            throw OperationError.badInput("`\(id)` is not an operation id (they look like failover-1a2b3c4d); see `pgdr operations`")
        }
        switch store.standing(of: id) {
        case .unknown, .refused:
            throw refuse(Refusal("no pending operation \(id)", hint: "see `pgdr operations`; plan a new one with `pgdr failover`"))
        case .finished(let outcome):
            throw refuse(Refusal("operation \(id) has ended (\(outcome.rawValue))", hint: "an approval is used once; see `pgdr operations`"))
        case .started:
            guard let plan = store.plan(id) else {
                throw OperationError.failed("operation \(id) was interrupted but its plan (pgdr-plans/\(id).json) is gone: it cannot be resumed")
            }
            return try await OperationRunner(environment: env).execute(plan)
        case .pending:
            guard let plan = store.plan(id) else {
                throw refuse(Refusal("no pending operation \(id)", hint: "see `pgdr operations`"))
            }
            if let expires = plan.expiresAt, expires < env.clock.now() {
                throw refuse(Refusal("approval \(id) expired at \(expires.formatted(.iso8601))",
                                     hint: "plan again with `pgdr failover`: the servers may have changed"))
            }
            // The plan was made minutes ago: decide again on what is true now.
            let report = await env.observer.observe()
            let fresh: Result<OperationPlan, Refusal>
            switch plan.kind {
            case .failover:
                fresh = FailoverPlanner.plan(report: report, spec: env.spec, id: id, now: env.clock.now(),
                                             acceptDataLoss: plan.acceptedDataLoss,
                                             lastKnownPrimary: PrimaryPositionFile.load(directory: env.baseDirectory),
                                             boundSuspended: BoundLog.riskAccepted(BoundLog(directory: env.store.directory).entries()))
            case .switchover:
                fresh = SwitchoverPlanner.plan(report: report, spec: env.spec, id: id, now: env.clock.now())
            case .rejoin:
                fresh = RejoinPlanner.plan(node: plan.from, report: report, spec: env.spec, id: id, now: env.clock.now(),
                                           demotedBy: env.store.lastPromotion())
            }
            switch fresh {
            case .failure(let refusal):
                throw refuse(refusal)
            case .success(var replanned):
                guard replanned.to == plan.to, replanned.from == plan.from else {
                    throw refuse(Refusal("the servers changed since the plan (now \(replanned.from) -> \(replanned.to))",
                                         hint: "plan again"))
                }
                replanned.createdAt = plan.createdAt
                replanned.expiresAt = plan.expiresAt
                replanned.origin = plan.origin
                replanned.target = plan.target
                if plan.target == .aws { replanned.steps = plan.steps }
                try store.savePlan(replanned)
                return try await OperationRunner(environment: env).execute(replanned)
            }
        }
    }
}

/// The agent's record of the primary's last position, on disk beside pgdr.yaml.
public enum PrimaryPositionFile {
    public static func load(directory: String) -> PrimaryPosition? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(PrimaryPosition.fileName)") else { return nil }
        return try? JSONLines.decoder.decode(PrimaryPosition.self, from: data)
    }

    public static func save(_ position: PrimaryPosition, directory: String) throws {
        try JSONLines.encoder.encode(position)
            .write(to: URL(fileURLWithPath: "\(directory)/\(PrimaryPosition.fileName)"), options: .atomic)
    }
}
