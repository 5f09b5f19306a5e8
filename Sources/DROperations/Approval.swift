import DROrchestrator
import DRSpec
import Foundation

/// `pgdr approve ID` and `POST /operations/ID/approve`: checks the id, looks
/// at the servers again, and runs the plan (or resumes it when an earlier
/// run was interrupted).
public enum Approval {
    public static func approve(id: String, ctx: OperationContext, now: Date = Date()) async throws -> OperationRunner.Outcome {
        let history = ctx.store.entries(of: id)
        let started = history.contains { $0.phase == .approved }
        guard var plan = ctx.store.approval(id) else {
            let refusal = Refusal("no pending operation \(id)", hint: "see `pgdr operations`; plan a new one with `pgdr failover`")
            if !history.isEmpty {
                try? ctx.store.append(.init(operation: id, kind: history.last!.kind, phase: .refused, detail: refusal.description))
            }
            throw OperationError.refused(refusal)
        }
        if !started {
            if let expires = plan.expiresAt, expires < now {
                ctx.store.removeApproval(id)
                let refusal = Refusal("approval \(id) expired at \(expires.formatted(.iso8601))",
                                      hint: "plan again with `pgdr failover`: the servers may have changed")
                try? ctx.store.append(.init(operation: id, kind: plan.kind, phase: .refused, detail: refusal.description))
                throw OperationError.refused(refusal)
            }
            // The plan was made minutes ago: decide again on what is true now.
            switch FailoverPlanner.plan(report: await ctx.observe(), spec: ctx.spec, id: id, now: plan.createdAt,
                                        acceptDataLoss: plan.acceptedDataLoss,
                                        lastKnownPrimary: PrimaryPosition.load(directory: ctx.baseDirectory)) {
            case .failure(let refusal):
                try? ctx.store.append(.init(operation: id, kind: plan.kind, phase: .refused, detail: refusal.description))
                throw OperationError.refused(refusal)
            case .success(let fresh):
                guard fresh.to == plan.to else {
                    let refusal = Refusal("the servers changed since the plan (the candidate is now \(fresh.to))",
                                          hint: "plan again with `pgdr failover`")
                    try? ctx.store.append(.init(operation: id, kind: plan.kind, phase: .refused, detail: refusal.description))
                    throw OperationError.refused(refusal)
                }
                plan = fresh
                try ctx.store.saveApproval(plan)
            }
        }
        return try await OperationRunner(context: ctx).execute(plan)
    }
}
