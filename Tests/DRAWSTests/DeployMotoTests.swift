import Foundation
import PGDRTestSupport
import Testing

/// `pgdr deploy` and `pgdr destroy` with the real templates against moto_server
/// (moto_cfn.py: moto's CloudFormation with its gaps filled as AWS documents
/// them), signatures and IAM checked, the deploying user holding exactly the
/// policy docs/deploy.md lists. What exists is read with boto3 (deploy_bed.py).
@Suite(.serialized) struct DeployMotoTests {
    static var folder: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().path }

    final class Bed: @unchecked Sendable {
        let process: Process
        let port: Int
        let dir: String
        var state: [String: Any] = [:]
        var url: String { "http://127.0.0.1:\(port)" }

        init() async throws {
            port = try MotoBed.freePort()
            dir = try CLI.tempDirectory()
            process = try MotoServer.startScript("\(DeployMotoTests.folder)/moto_cfn.py", ["\(port)"], log: "\(dir)/moto_cfn.log")
            let up = await MotoServer.waitUntilUp("\(url)/moto-api/", process: process)
            try #require(up, "moto_cfn.py did not start on \(url) (pip install 'moto[server]'):\n\(MotoServer.logTail("\(dir)/moto_cfn.log"))")
            state = try #require(try JSONSerialization.jsonObject(with: Data(try await bed(["setup"]).utf8)) as? [String: Any])
        }

        func stop() {
            MotoServer.terminate(process)
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: "/tmp/pgdr-deploy-bed-\(port).json")
        }

        @discardableResult
        func bed(_ arguments: [String]) async throws -> String {
            let result = try await CLI.program("/usr/bin/nice", ["-n", "19", "python3", "\(DeployMotoTests.folder)/deploy_bed.py", arguments[0], url]
                                               + arguments.dropFirst())
            try #require(result.status == 0, "deploy_bed.py \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }

        /// What exists, by region.
        func inventory() async throws -> [String: [String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(try await bed(["inventory"]).utf8)) as? [String: [String: Any]])
        }

        var environment: [String: String] {
            let deployer = state["deployer"] as? [String: String] ?? [:]
            return ["AWS_ACCESS_KEY_ID": deployer["key"] ?? "", "AWS_SECRET_ACCESS_KEY": deployer["secret"] ?? "", "HOME": dir,
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": ""]
        }

        func spec() throws -> String {
            let path = "\(dir)/pgdr.yaml"
            try """
                \(AWSTestSpec.base)
                dns: {hostedZoneId: \(state["zone"] as? String ?? ""), recordName: db.example.com}
                aws: {endpoint: \(url)}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    static func keys(_ value: Any?) -> Set<String> { Set((value as? [String: Any])?.keys.map { $0 } ?? []) }
    static func list(_ value: Any?) -> [String] { value as? [String] ?? [] }

    @Test func deployThenDestroyLeavesNothingBehind() async throws {
        let bed = try await Bed()
        defer { bed.stop() }
        let config = try bed.spec(), zip = "\(bed.dir)/pgdr-functions.zip"
        try await bed.bed(["zip", zip])
        let buckets = ["--code-bucket", "us-east-1=pgdr-code-us-east-1", "--code-bucket", "us-east-2=pgdr-code-us-east-2"]
        let deploy = ["deploy", "--config", config, "--functions", zip, "--poll", "0.2"] + buckets

        // Bad input: refused before any call, nothing made.
        let oneBucket = try await CLI.run(["deploy", "--config", config, "--functions", zip, "--code-bucket", "us-east-1=pgdr-code-us-east-1"],
                                          environment: bed.environment)
        #expect(oneBucket.status == 2 && oneBucket.stderr.contains("no Lambda code bucket for us-east-2"), "\(oneBucket.stderr)")
        let notZip = try await CLI.run(["deploy", "--config", config, "--functions", config] + buckets, environment: bed.environment)
        #expect(notZip.status == 2 && notZip.stderr.contains("not a zip file"), "\(notZip.stderr)")
        #expect(Self.keys(try await bed.inventory()["us-east-2"]?["stacks"]).isEmpty)

        let first = try await CLI.run(deploy, environment: bed.environment)
        try #require(first.status == 0, "deploy: \(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("step 3/3: orders-dr-prod in us-east-2"))
        #expect(first.stdout.contains("CREATE_COMPLETE AWS::CloudFormation::Stack orders-primary-prod"))
        #expect(first.stdout.contains("orders-primary-prod DBInstanceArn = arn:aws:rds:us-east-1:"))
        var now = try await bed.inventory()
        let east1 = try #require(now["us-east-1"]), east2 = try #require(now["us-east-2"])
        #expect(Self.keys(east1["stacks"]) == ["orders-primary-prod"] && Self.keys(east2["stacks"]) == ["orders-dr-prod"])
        // Step 3 made the replica, from the primary's ARN (an output of step 2).
        let replicaSource = (east2["instances"] as? [String: Any])?["orders-replica-prod"] as? String
        #expect(replicaSource?.hasSuffix(":db:orders-db-prod") == true, "\(east2["instances"] ?? "")")
        #expect(Self.list(east2["alarms"]).contains("orders-replication-lag-prod"))
        #expect(Self.list(east1["functions"]).count == 2 && Self.list(east2["functions"]).count == 2)
        #expect((east1["buckets"] as? [String: Int])?["pgdr-code-us-east-1"] == 1)

        // Again: nothing to change, the code is already there.
        let again = try await CLI.run(deploy, environment: bed.environment)
        #expect(again.status == 0 && again.stdout.contains("no changes") && again.stdout.contains("is already there"),
                "\(again.stdout)\n\(again.stderr)")

        // Without --yes, nothing is deleted.
        try await bed.bed(["fill"])
        let unsure = try await CLI.run(["destroy", "--config", config], environment: bed.environment)
        #expect(unsure.status == 2 && unsure.stderr.contains("--yes"))
        #expect(Self.keys(try await bed.inventory()["us-east-1"]?["stacks"]) == ["orders-primary-prod"])

        let destroy = try await CLI.run(["destroy", "--config", config, "--poll", "0.2", "--yes"], environment: bed.environment)
        try #require(destroy.status == 0, "destroy: \(destroy.stdout)\n\(destroy.stderr)")
        #expect(destroy.stdout.contains("emptied s3://orders-backup-us-east-1-prod"))
        now = try await bed.inventory()
        for region in ["us-east-1", "us-east-2"] {
            let left = try #require(now[region])
            #expect(Self.keys(left["stacks"]).isEmpty, "\(region): \(left)")
            // moto's CloudFormation keeps a bucket that still holds versions: gone only because pgdr emptied it.
            #expect(Self.keys(left["buckets"]) == ["pgdr-code-\(region)"], "\(region): \(left["buckets"] ?? "")")
            #expect(Self.list(left["alarms"]).isEmpty && Self.list(left["logGroups"]).isEmpty && Self.list(left["functions"]).isEmpty,
                    "\(region): \(left)")
            #expect(Self.list(left["records"]).isEmpty && Self.list(left["vpcs"]).isEmpty && Self.list(left["peerings"]).isEmpty,
                    "\(region): \(left)")
            // The primary goes with its stack; the DR database is retained by its stack: gone because pgdr deleted it.
            #expect((left["instances"] as? [String: Any])?.isEmpty == true, "\(region): \(left["instances"] ?? "")")
        }

        // What RDS and the function leave after a destroy raced them; running destroy again removes it.
        try await bed.bed(["leftovers"])
        let rerun = try await CLI.run(["destroy", "--config", config, "--poll", "0.2", "--yes"], environment: bed.environment)
        #expect(rerun.status == 0 && rerun.stdout.contains("orders-primary-prod in us-east-1: no such stack"), "\(rerun.stdout)\n\(rerun.stderr)")
        #expect(rerun.stdout.contains("deleted log group /aws/rds/instance/orders-replica-prod/postgresql in us-east-2"))
        now = try await bed.inventory()
        #expect(Self.list(now["us-east-2"]?["logGroups"]).isEmpty && Self.list(now["us-east-2"]?["records"]).isEmpty, "\(now)")
    }
}
