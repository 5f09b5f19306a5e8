import DRAWS
import DROrchestrator
import Foundation

/// `pgdr approve ID` for a plan the failover function made (it is in
/// Parameter Store, not in the local operation store): checks the plan is
/// there and has not expired, then writes the approval record once, naming
/// the caller's identity (STS). The function runs the plan when the record
/// appears (EventBridge on the Parameter Store change).
public enum FunctionApproval {
    public struct Approved: Sendable {
        public var plan: OperationPlan
        public var region: String
        public var approvedBy: String
        public var record: String
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case notFound(String)
        case expired(String)
        case alreadyApproved(String)

        public var description: String {
            switch self {
            case .notFound(let s), .expired(let s), .alreadyApproved(let s): s
            }
        }
    }

    /// Looks in the DR region first (where the failover function plans), then in the primary's.
    public static func approve(id: String, deployment: RDSDeployment, now: Date = Date()) async throws -> Approved {
        let ssm = SSMAPI(client: deployment.client)
        for region in [deployment.spec.dr.region, deployment.spec.primary.region] {
            let records = OperationRecords(ssm: ssm, region: region, spec: deployment.spec)
            guard let plan = try await records.plan(id) else { continue }
            if let expires = plan.expiresAt, expires < now {
                throw Failure.expired("approval \(id) expired at \(expires.formatted(.iso8601)): the failover function will not run it; it plans again when the alarm fires again")
            }
            if let existing = try await records.approval(id) {
                throw Failure.alreadyApproved("\(id) was approved already by \(existing.approvedBy) at \(existing.at.formatted(.iso8601))")
            }
            let identity = try await deployment.sts.callerIdentity(region: region)
            do {
                try await records.approve(id, by: identity.arn, at: now)
            } catch let error as AWSError where error.code == "ParameterAlreadyExists" {
                throw Failure.alreadyApproved("\(id) was approved already (by someone else, just now)")
            }
            return Approved(plan: plan, region: region, approvedBy: identity.arn, record: records.approvalsPath + id)
        }
        throw Failure.notFound("no pending operation \(id): not in this folder's journal, nor among the failover function's plans in \(deployment.spec.dr.region) or \(deployment.spec.primary.region)")
    }
}
