import Foundation
import PGDRTestSupport
import Testing

/// The verbs on RDS, against moto_server with SigV4 checking on. What moto
/// does not model is said where it matters: it never finishes a promotion
/// (the test plays RDS's part), it evaluates no alarms and computes no
/// ReplicaLag (the test puts datapoints), and it fails SigV4 on every
/// Route 53 GET, whoever signs it (botocore too), so GetChange cannot
/// confirm INSYNC here.
@Suite(.serialized) struct RDSMotoTests {
    static let mutating: Set<String> = ["ModifyDBInstance", "RebootDBInstance", "PromoteReadReplica", "CreateDBInstanceReadReplica",
                                        "Publish", "ChangeResourceRecordSets"]

    /// The lag monitor's heartbeat lag wins over RDS's ReplicaLag, which reads an idle primary as lag.
    @Test func theHeartbeatLagIsPreferred() async throws {
        let moto = try await MotoBed()
        defer { moto.stop() }
        let config = try moto.spec()
        try await moto.bed(["lag", "400"])
        let before = try await CLI.run(["status", "--config", config], environment: moto.pgdrEnvironment)
        #expect(before.stdout.contains("lag 400s (ReplicaLag (CloudWatch)"), "\(before.stdout)")
        try await moto.bed(["heartbeat", "2"])
        let after = try await CLI.run(["status", "--config", config], environment: moto.pgdrEnvironment)
        #expect(after.stdout.contains("lag 2.0s (heartbeat (pgdr lag monitor)"), "\(after.stdout)\(after.stderr)")
    }

    @Test func statusFailoverWithApprovalAndRejoin() async throws {
        let moto = try await MotoBed()
        defer { moto.stop() }
        let config = try moto.spec()
        let env = moto.pgdrEnvironment
        try await moto.bed(["lag", "3"])

        // status: both instances, the lag from CloudWatch, said so.
        let status = try await CLI.run(["status", "--config", config], environment: env)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("orders-db-prod") && status.stdout.contains("orders-replica-prod"))
        #expect(status.stdout.contains("lag 3.0s (ReplicaLag (CloudWatch)"), "\(status.stdout)")
        #expect(status.stdout.contains("CloudWatch alarms: none named orders-*-prod"), "\(status.stdout)")
        // The deployment's alarms in both regions, as DescribeAlarms has them; another deployment's are not counted.
        try await moto.bed(["alarm", "orders-replica-lag-prod", "us-east-2", "ALARM", "Threshold Crossed: 1 datapoint [412.0] was greater than 300.0"])
        try await moto.bed(["alarm", "orders-cpu-prod", "us-east-1", "OK"])
        try await moto.bed(["alarm", "orders-replica-lag-staging", "us-east-2", "ALARM"])
        let alarmed = try await CLI.run(["status", "--config", config], environment: env)
        #expect(alarmed.status == 0, "informational: the verdict is pgdr's own. \(alarmed.stdout)\(alarmed.stderr)")
        #expect(alarmed.stdout.contains("CloudWatch alarms: 1 of 2 in ALARM\n"), "\(alarmed.stdout)")
        #expect(alarmed.stdout.contains("  ALARM orders-replica-lag-prod (us-east-2) since 20")
                && alarmed.stdout.contains(": Threshold Crossed: 1 datapoint [412.0] was greater than 300.0\n"), "\(alarmed.stdout)")
        #expect(!alarmed.stdout.contains("staging"), "\(alarmed.stdout)")
        let calls = try await moto.pgdrRequests().map(\.action)
        #expect(calls.filter { $0 == "DescribeAlarms" }.count >= 2, "one per region: \(calls)")
        let json = try await CLI.run(["status", "--json", "--config", config], environment: env)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["target"] as? String == "aws")
        let nodes = report["nodes"] as? [[String: Any]] ?? []
        #expect(nodes.contains { ($0["rds"] as? [String: Any])?["backupRetentionDays"] as? Int == 7 })

        // Credentials that are wrong: AWS's own error codes, exit 1.
        var wrong = env
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let badSecret = try await CLI.run(["status", "--config", config], environment: wrong)
        #expect(badSecret.status == 1)
        #expect(badSecret.stdout.contains("SignatureDoesNotMatch"), "\(badSecret.stdout)")
        #expect(!badSecret.stdout.contains("not-the-secret") && !badSecret.stderr.contains("not-the-secret"))
        wrong["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWN000000000"
        let badKey = try await CLI.run(["status", "--config", config], environment: wrong)
        #expect(badKey.stdout.contains("InvalidClientTokenId"), "\(badKey.stdout)")

        // An approval that expired is refused, and changes nothing.
        let short = try moto.spec(approvalTimeout: "10s")
        let first = try await CLI.run(["failover", "--config", short], environment: env)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let expiredID = try #require(first.stdout.firstMatch(of: /failover-[0-9a-f]{8}/).map { String($0.output) })
        try await Task.sleep(for: .seconds(10.5))
        let late = try await CLI.run(["approve", expiredID, "--config", short], environment: env)
        #expect(late.status == 3, "\(late.stdout)\(late.stderr)")
        #expect(late.stderr.contains("expired"))
        #expect(try await moto.pgdrRequests().filter { Self.mutating.contains($0.action) }.isEmpty,
                "an expired approval must not change anything")

        // The failover, approved: fence, promote, then DNS, then SNS.
        let plan = try await CLI.run(["failover", "--config", config], environment: env)
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("PromoteReadReplica"))
        #expect(plan.stdout.contains("RDS offers no zero-loss switchover"), "the warning for a reachable primary is RDS's: \(plan.stdout)")
        let id = try #require(plan.stdout.firstMatch(of: /failover-[0-9a-f]{8}/).map { String($0.output) })
        let approval = Task { try await CLI.run(["approve", id, "--config", config], environment: env) }
        // moto never finishes a promotion: once pgdr has asked for it, the test plays RDS's part.
        try await moto.finishPromotionOnceAsked()
        let approved = try await approval.value
        // Degraded, and saying why: no SQL write to RDS yet; moto cannot confirm the DNS change INSYNC.
        #expect(approved.status == 4, "\(approved.stdout)\(approved.stderr)")
        #expect(approved.stdout.contains("orders-fence-prod"), "\(approved.stdout)")
        #expect(approved.stdout.contains("no write was tried"))
        #expect(approved.stdout.contains("published to arn:aws:sns:us-east-2:123456789012:orders-alerts-prod"), "\(approved.stdout)")

        let requests = try await moto.pgdrRequests()
        let order = requests.map(\.action)
        let promote = try #require(order.firstIndex(of: "PromoteReadReplica"))
        let dns = try #require(order.firstIndex(of: "ChangeResourceRecordSets"))
        let fence = try #require(order.firstIndex(of: "ModifyDBInstance"))
        #expect(fence < promote && promote < dns, "fence, then promote, then DNS: \(order)")
        #expect(order.contains("RebootDBInstance"))
        let change = requests[dns].body
        #expect(change.contains("orders-replica-prod.") && change.contains("<Failover>PRIMARY</Failover>"), "\(change)")
        let seen = try #require(try await moto.json(["inspect"]) as? [String: Any])
        let instances = seen["instances"] as? [String: [String: Any]] ?? [:]
        #expect(instances["orders-db-prod"]?["parameterGroup"] as? String == "orders-fence-prod", "the old primary is fenced")
        let records = seen["records"] as? [[String: Any]] ?? []
        #expect(records.contains { $0["failover"] as? String == "PRIMARY" && ($0["value"] as? String)?.hasPrefix("orders-replica-prod.") == true },
                "the PRIMARY failover record names the promoted instance: \(records)")
        let messages = (seen["messages"] as? [String: [String?]])?["us-east-2"] ?? []
        #expect(messages.contains { $0?.contains("orders-replica-prod is the primary") == true }, "\(messages)")
        let operations = try await CLI.run(["operations", "--config", config], environment: env)
        #expect(operations.stdout.contains("\(id)  failover"), "\(operations.stdout)")

        // Rejoin: RDS cannot rewind; the old primary is set aside and rebuilt as a replica.
        let rejoin = try await CLI.run(["rejoin", "orders-db-prod", "--config", config], environment: env)
        #expect(rejoin.status == 0, "\(rejoin.stdout)\(rejoin.stderr)")
        #expect(rejoin.stdout.contains("renamed the old instance to orders-db-prod-pre-rejoin-"), "\(rejoin.stdout)")
        let after = try #require(try await moto.json(["inspect"]) as? [String: Any])
        let now = after["instances"] as? [String: [String: Any]] ?? [:]
        #expect((now["orders-db-prod"]?["source"] as? String)?.contains("orders-replica-prod") == true, "\(now)")
        #expect(now.keys.contains { $0.hasPrefix("orders-db-prod-pre-rejoin-") }, "the old instance is kept")
        #expect(now["orders-db-prod"]?["kmsKeyId"] as? String == "arn:aws:kms:us-east-1:123456789012:key/primary",
                "the new replica is encrypted with the old instance's key, in its own region")
        let create = try await moto.pgdrRequests().first { $0.action == "CreateDBInstanceReadReplica" }
        #expect(create?.body.contains("PreSignedUrl=") == true, "a cross-region copy carries a pre-signed URL")
    }

    @Test func refusalsLeaveEverythingAsItWas() async throws {
        let moto = try await MotoBed()
        defer { moto.stop() }
        let config = try moto.spec()
        let env = moto.pgdrEnvironment
        // The RPO guard: ReplicaLag over failover.maxDataLoss.
        try await moto.bed(["lag", "500"])
        let refused = try await CLI.run(["failover", "--config", config], environment: env)
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("exceeds failover.maxDataLoss"), "\(refused.stderr)")
        let journal = try String(contentsOfFile: "\((config as NSString).deletingLastPathComponent)/pgdr-operations.jsonl", encoding: .utf8)
        #expect(journal.contains("\"refused\""), "the refusal is journaled")
        // Unknown instances and bad input: clear errors.
        let unknown = try await CLI.run(["rejoin", "nosuch-db", "--config", config], environment: env)
        #expect(unknown.status == 3 || unknown.status == 2, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("nosuch-db"))
        let missing = try moto.spec(extra: "")
        try String(contentsOfFile: missing, encoding: .utf8).replacingOccurrences(of: "dr: {region: us-east-2, instanceClass: db.r6g.large}",
                                                                                  with: "dr: {region: us-east-2, instanceClass: db.r6g.large, instanceIdentifier: orders-gone-prod}")
            .write(toFile: missing, atomically: true, encoding: .utf8)
        let gone = try await CLI.run(["status", "--config", missing], environment: env)
        #expect(gone.status == 1)
        #expect(gone.stdout.contains("DBInstanceNotFound"), "\(gone.stdout)")
        #expect(try await moto.pgdrRequests().filter { Self.mutating.contains($0.action) }.isEmpty, "nothing was changed")
        // A switchover has no RDS equivalent: said so, exit 2.
        let switchover = try await CLI.run(["switchover", "--config", config], environment: env)
        #expect(switchover.status == 2)
        #expect(switchover.stderr.contains("pgdr failover"))
    }

    @Test func aReplicaThatIsNotAReplicaIsRefused() async throws {
        let moto = try await MotoBed(standalone: true)
        defer { moto.stop() }
        let result = try await CLI.run(["failover", "--config", try moto.spec()], environment: moto.pgdrEnvironment)
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("not a standby"), "\(result.stderr)")
    }

    /// A promotion that does not finish: the step fails after
    /// aws.promotionTimeout, DNS is untouched, and `pgdr approve` can resume.
    @Test func aPromotionThatDoesNotFinishStopsBeforeDNS() async throws {
        let moto = try await MotoBed()
        defer { moto.stop() }
        let config = try moto.spec(promotionTimeout: "5s")
        try await moto.bed(["lag", "2"])
        let env = moto.pgdrEnvironment
        let plan = try await CLI.run(["failover", "--config", config], environment: env)
        let id = try #require(plan.stdout.firstMatch(of: /failover-[0-9a-f]{8}/).map { String($0.output) }, "\(plan.stdout)\(plan.stderr)")
        let approved = try await CLI.run(["approve", id, "--config", config], environment: env)
        #expect(approved.status == 1)
        #expect(approved.stderr.contains("did not finish promoting within aws.promotionTimeout"), "\(approved.stderr)")
        #expect(approved.stderr.contains("pgdr approve \(id)"))
        let actions = try await moto.pgdrRequests().map(\.action)
        #expect(actions.contains("PromoteReadReplica"))
        // What RDS was doing, from DescribeEvents (moto records no events for a read replica).
        #expect(actions.contains("DescribeEvents"), "\(actions)")
        #expect(approved.stderr.contains("; RDS recorded no events for it in that time."), "\(approved.stderr)")
        #expect(!actions.contains("ChangeResourceRecordSets") && !actions.contains("Publish"), "DNS and SNS only after a finished promotion")
    }
}
