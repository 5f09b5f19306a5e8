import Foundation
import PGDRTestSupport
import Testing

/// The failover function's bootstrap, run as Lambda runs it (the Runtime
/// API stand-in), against moto_server with signature checking on: the
/// alarm plans and asks for approval and changes nothing; no approval, or
/// an approval of an expired plan, changes nothing; an approval runs fence,
/// promotion, and only then DNS; a second delivery of the approval runs
/// nothing twice.
@Suite(.serialized) struct FailoverFunctionTests {
    static let mutating = RDSMotoTests.mutating.subtracting(["Publish"])

    /// Lambda's environment for the function, from the zip `pgdr package` wrote for this spec.
    func functionEnvironment(_ moto: MotoBed, config: String) async throws -> [String: String] {
        let task = try await FunctionBed.package(config: config, folder: moto.dir)
        return moto.pgdrEnvironment.merging(["PGDR_FUNCTION": "failover", "LAMBDA_TASK_ROOT": task, "AWS_REGION": "us-east-2",
                                             "PGDR_TOPIC": "arn:aws:sns:us-east-2:123456789012:orders-alerts-prod"]) { $1 }
    }

    @Test func alarmPlansApprovalRunsExpiredAndMissingApprovalsChangeNothing() async throws {
        let moto = try await MotoBed()
        defer { moto.stop() }
        let env = moto.pgdrEnvironment
        let alarm = "orders-primary-unreachable-prod"

        // A plan that expires before its run: refused, nothing changed.
        let short = try moto.spec(approvalTimeout: "10s")
        let early = try await FunctionBed(environment: try await functionEnvironment(moto, config: short), folder: moto.dir)
        defer { early.stop() }
        // No lag datapoint yet: the loss is unknown, and the RPO guard refuses (said on SNS).
        let unknown = try await early.invoke(FunctionBed.alarmEvent(alarm))
        #expect(unknown.body["action"] as? String == "refused" && unknown.text.contains("maxDataLoss"), "\(unknown.text)")
        try await moto.bed(["lag", "3"])
        let planned = try await early.invoke(FunctionBed.alarmEvent(alarm))
        #expect(planned.kind == "response", "\(planned.text)\n\(early.logText)")
        #expect(planned.body["action"] as? String == "planned", "\(planned.text)\n\(early.logText)")
        let expiring = try #require(planned.body["operation"] as? String)
        let approved = try await CLI.run(["approve", expiring, "--config", short], environment: env)
        #expect(approved.status == 0, "\(approved.stdout)\(approved.stderr)")
        #expect(approved.stdout.contains("approved \(expiring)"), "\(approved.stdout)")
        let twice = try await CLI.run(["approve", expiring, "--config", short], environment: env)
        #expect(twice.status == 3 && twice.stderr.contains("approved already"), "\(twice.stdout)\(twice.stderr)")
        try await Task.sleep(for: .seconds(10.5))
        let late = try await early.invoke(FunctionBed.parameterEvent("/pgdr/orders-prod/approvals/\(expiring)"))
        #expect(late.body["action"] as? String == "refused" && (late.body["detail"] as? String)?.contains("expired") == true, "\(late.text)")
        let lateCLI = try await CLI.run(["approve", expiring, "--config", short], environment: env)
        #expect(lateCLI.status == 3 && lateCLI.stderr.contains("expired"), "\(lateCLI.stdout)\(lateCLI.stderr)")
        #expect(try await moto.pgdrRequests().filter { Self.mutating.contains($0.action) }.isEmpty,
                "an expired plan must change nothing")
        early.stop()

        // The alarm: a plan and a request for approval on SNS, nothing changed.
        let config = try moto.spec()
        let function = try await FunctionBed(environment: try await functionEnvironment(moto, config: config), folder: moto.dir)
        defer { function.stop() }
        let plan = try await function.invoke(FunctionBed.alarmEvent(alarm))
        #expect(plan.body["action"] as? String == "planned", "\(plan.text)\n\(function.logText)")
        let id = try #require(plan.body["operation"] as? String)
        #expect(id != expiring)
        // The alarm fires again (EventBridge delivers at least once): the same plan, not a second one.
        let again = try await function.invoke(FunctionBed.alarmEvent(alarm))
        #expect(again.body["action"] as? String == "pending" && again.body["operation"] as? String == id, "\(again.text)")
        // An alarm leaving ALARM needs nothing.
        let ok = try await function.invoke(FunctionBed.alarmEvent(alarm, state: "OK"))
        #expect(ok.body["action"] as? String == "ignored", "\(ok.text)")
        let inspected = try #require(try await moto.json(["inspect"]) as? [String: Any])
        let messages = (inspected["messages"] as? [String: [String?]])?["us-east-2"] ?? []
        #expect(messages.contains { $0?.contains("pgdr approve \(id)") == true }, "the approval request names the command: \(messages)")

        // Approved in name only (no record): refused, nothing changed.
        let unapproved = try await function.invoke(["pgdr": ["approved": id]])
        #expect(unapproved.body["action"] as? String == "refused" && unapproved.text.contains("no approval record"), "\(unapproved.text)")
        #expect(try await moto.pgdrRequests().filter { Self.mutating.contains($0.action) }.isEmpty, "nothing may change before approval")

        // An event that is not for this function is an error for that invocation; the function serves the next.
        let foreign = try await function.invoke(["source": "aws.s3", "detail-type": "Object Created", "detail": [:]])
        #expect(foreign.kind == "error" && foreign.errorType == "pgdr.Event", "\(foreign.text)")

        // Approved: fence, promote, then DNS, then SNS.
        let approval = try await CLI.run(["approve", id, "--config", config], environment: env)
        #expect(approval.status == 0, "\(approval.stdout)\(approval.stderr)")
        let run = Task { try await function.invoke(FunctionBed.parameterEvent("/pgdr/orders-prod/approvals/\(id)")) }
        try await moto.finishPromotionOnceAsked()
        let executed = try await run.value
        #expect(executed.body["action"] as? String == "executed", "\(executed.text)\n\(function.logText)")
        let outcome = executed.body["outcome"] as? [String: Any] ?? [:]
        #expect(["done", "degraded"].contains(outcome["outcome"] as? String), "\(executed.text)")
        let order = try await moto.pgdrRequests().map(\.action)
        let fence = try #require(order.firstIndex(of: "ModifyDBInstance"), "\(order)")
        let promote = try #require(order.firstIndex(of: "PromoteReadReplica"))
        let dns = try #require(order.firstIndex(of: "ChangeResourceRecordSets"))
        #expect(fence < promote && promote < dns, "fence, then promote, then DNS: \(order)")
        #expect(order.filter { $0 == "PromoteReadReplica" }.count == 1)

        // The approval delivered again: nothing runs twice.
        let repeated = try await function.invoke(FunctionBed.parameterEvent("/pgdr/orders-prod/approvals/\(id)"))
        #expect(repeated.body["action"] as? String == "already", "\(repeated.text)")
        #expect(try await moto.pgdrRequests().filter { $0.action == "PromoteReadReplica" }.count == 1)
        let after = try #require(try await moto.json(["inspect"]) as? [String: Any])
        let records = after["records"] as? [[String: Any]] ?? []
        #expect(records.contains { $0["failover"] as? String == "PRIMARY" && ($0["value"] as? String)?.hasPrefix("orders-replica-prod.") == true },
                "\(records)")
        let notices = (after["messages"] as? [String: [String?]])?["us-east-2"] ?? []
        #expect(notices.contains { $0?.contains("orders-replica-prod is the primary") == true }, "\(notices)")
    }

    @Test func aBadSettingIsAnInitError() async throws {
        let folder = try CLI.tempDirectory()
        let bed = try await FunctionBed(environment: ["PGDR_FUNCTION": "lag-monitor", "PGDR_CONFIG": "\(folder)/missing.yaml",
                                                      "AWS_REGION": "us-east-2"], folder: folder)
        defer { bed.stop() }
        var error: [String: Any] = [:]
        for _ in 0..<100 where error.isEmpty {
            error = try await bed.initError()
            if error.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(error["errorType"] as? String == "pgdr.Settings", "\(error)")
        #expect((error["body"] as? String)?.contains("missing.yaml") == true, "\(error)")
    }
}
