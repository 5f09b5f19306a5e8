import DRAWS
import DROperations
import DROrchestrator
import DRRDS
import DRSpec
import DRStatus
import Foundation
import Logging

/// The failover function. On the primary-down signal it plans a failover
/// with the same planner and RPO guard as `pgdr failover`, keeps the plan
/// in Parameter Store and asks for approval on SNS; nothing is promoted.
/// When an approval record appears (`pgdr approve ID`), it checks the plan
/// has not expired, claims the run once, and executes the plan through the
/// same runner as `pgdr approve` on RDS: fence, PromoteReadReplica and wait
/// until RDS reports it standalone and available, verify, then Route 53,
/// then SNS.
public struct FailoverFunction: FunctionHandler {
    let settings: FunctionSettings
    let deployment: RDSDeployment
    let logger: Logger
    let now: @Sendable () -> Date

    public init(settings: FunctionSettings, deployment: RDSDeployment, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.settings = settings
        self.deployment = deployment
        self.logger = logger
        self.now = now
    }

    var records: OperationRecords { OperationRecords(ssm: SSMAPI(client: deployment.client), region: settings.region, spec: settings.spec) }

    struct Answer: Codable {
        var action: String
        var operation: String?
        var detail: String
        var outcome: OperationRunner.Outcome?
    }

    public func handle(_ invocation: Invocation) async throws -> Data {
        let answer: Answer
        switch FunctionEvent.classify(invocation.event, approvals: records.approvalsPath) {
        case .failure(let error): throw error
        case .success(.ignored(let why)): answer = Answer(action: "ignored", detail: why)
        case .success(.primaryDown(let alarm)): answer = try await plan(alarm: alarm)
        case .success(.approved(let id)): answer = try await execute(id, request: invocation.requestID)
        }
        logger.notice("failover function", metadata: ["action": "\(answer.action)", "operation": "\(answer.operation ?? "-")", "detail": "\(answer.detail)"])
        return Data(try ReportJSON.encode(answer, pretty: false).utf8)
    }

    /// A scratch folder for the runner's journal during this invocation (removed
    /// after it); the records in Parameter Store are what lasts.
    func environment(_ id: String) -> OperationEnvironment {
        let folder = NSTemporaryDirectory() + "pgdr-\(id)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return OperationEnvironment.aws(deployment, baseDirectory: folder, stateDirectory: folder, logger: logger)
    }

    // MARK: plan

    func plan(alarm: String) async throws -> Answer {
        let records = self.records
        // Alarms fire again: while a plan is open (not expired, not run), it is the plan.
        for open in try await records.plans() where (open.expiresAt ?? .distantPast) > now() {
            if try await records.run(open.id) == nil {
                return Answer(action: "pending", operation: open.id, detail: "plan \(open.id) already waits for approval")
            }
        }
        let id = OperationStore.newID(.failover)
        let env = environment(id)
        defer { try? FileManager.default.removeItem(atPath: env.baseDirectory) }
        let report = await env.observer.observe()
        switch FailoverPlanner.plan(report: report, spec: env.spec, id: id, now: now(), acceptDataLoss: false) {
        case .failure(let refusal):
            await notify(subject: "pgdr: failover refused (\(alarm))",
                         "\(alarm) is in ALARM, but no failover was planned: \(refusal.reason)\nhint: \(refusal.hint)")
            return Answer(action: "refused", operation: id, detail: refusal.description)
        case .success(var plan):
            plan.target = .aws
            plan.origin = .agent
            try await records.savePlan(plan)
            await notify(subject: "pgdr: failover \(id) waits for approval", ApprovalRequest.message(plan, alarm: alarm, records: records))
            return Answer(action: "planned", operation: id, detail: "\(plan.from) -> \(plan.to), expires \(plan.expiresAt.map { $0.formatted(.iso8601) } ?? "never")")
        }
    }

    // MARK: execute

    func execute(_ id: String, request: String) async throws -> Answer {
        guard OperationStore.isValidID(id) else { throw FunctionError(type: "pgdr.Event", message: "`\(id)` is not an operation id") }
        let records = self.records
        guard let plan = try await records.plan(id) else {
            return Answer(action: "refused", operation: id, detail: "no plan \(id) in \(records.root)plans")
        }
        if let run = try await records.run(id) {
            return Answer(action: "already", operation: id, detail: "run \(id) is \(run.state.rawValue) (since \(run.startedAt.formatted(.iso8601)))")
        }
        guard let approval = try await records.approval(id) else {
            return Answer(action: "refused", operation: id, detail: "plan \(id) has no approval record (\(records.approvalsPath)\(id))")
        }
        let started = now()
        if let expires = plan.expiresAt, expires < approval.at || expires < started {
            let why = "approval of \(id) came after the plan expired (\(expires.formatted(.iso8601))): nothing was changed; plan again"
            _ = try await records.claim(id, .init(state: .refused, startedAt: started, endedAt: started, detail: why, request: request))
            await notify(subject: "pgdr: failover \(id) refused", why)
            return Answer(action: "refused", operation: id, detail: why)
        }
        guard try await records.claim(id, .init(state: .running, startedAt: started, detail: "approved by \(approval.approvedBy)", request: request)) else {
            return Answer(action: "already", operation: id, detail: "another invocation claimed \(id)")
        }
        let env = environment(id)
        defer { try? FileManager.default.removeItem(atPath: env.baseDirectory) }
        do {
            try env.store.savePlan(plan)
            try env.store.append(.init(operation: id, kind: plan.kind, phase: .planned, detail: "\(plan.from) -> \(plan.to), approved by \(approval.approvedBy)"))
            let outcome = try await Approval.approve(id: id, env: env)
            let state: OperationRecords.RunRecord.State = switch outcome.outcome {
            case .done: .done
            case .degraded: .degraded
            default: .failed
            }
            try await records.finish(id, .init(state: state, startedAt: started, endedAt: now(),
                                               detail: ([outcome.outcome.rawValue] + outcome.degraded).joined(separator: "; "), request: request))
            return Answer(action: "executed", operation: id, detail: outcome.outcome.rawValue, outcome: outcome)
        } catch {
            try? await records.finish(id, .init(state: error is OperationError ? .refused : .failed, startedAt: started, endedAt: now(),
                                                detail: "\(error)", request: request))
            await notify(subject: "pgdr: failover \(id) did not run", "\(error)")
            throw FunctionError(type: "pgdr.Failover", message: "\(id): \(error)")
        }
    }

    func notify(subject: String, _ message: String) async {
        do {
            let topic: String
            if let given = settings.topicARN { topic = given } else { topic = try await deployment.topicARN(region: settings.region) }
            try await deployment.sns.publish(topicARN: topic, subject: subject, message: message)
        } catch {
            logger.error("SNS publish failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Pure: the SNS message that asks for approval.
enum ApprovalRequest {
    static func message(_ plan: OperationPlan, alarm: String, records: OperationRecords) -> String {
        var lines = [
            "\(alarm) is in ALARM. pgdr planned failover \(plan.id): \(plan.from) -> \(plan.to).",
            "Estimated data loss: " + (plan.estimatedLossSeconds.map { String(format: "%.1f s", $0) } ?? "unknown")
                + (plan.maxDataLoss.map { " (limit \($0))" } ?? ""),
            "Steps: " + plan.steps.map(\.rawValue).joined(separator: ", "),
        ]
        lines += plan.warnings.map { "warning: \($0)" }
        lines += [
            "Nothing changes until someone approves, before \(plan.expiresAt.map { $0.formatted(.iso8601) } ?? "-"):",
            "  pgdr approve \(plan.id) --config pgdr.yaml",
            "or, with the AWS CLI (the record is created once; CloudTrail keeps who wrote it):",
            "  aws ssm put-parameter --region \(records.region) --type String --name \(records.approvalsPath)\(plan.id) --value '{\"approvedBy\":\"NAME\",\"at\":\"\(Date().formatted(.iso8601))\"}'",
        ]
        return lines.joined(separator: "\n")
    }
}
