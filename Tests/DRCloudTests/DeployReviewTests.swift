import DRSpec
import Foundation
import PGDRTestSupport
import Testing
@testable import DRCloud

/// The defects an AWS review found in templates that passed cfn-lint but
/// would not deploy, or would not do what the architecture promises. Each
/// test fails on the templates as they were.
@Suite struct DeployReviewTests {
    let specs = [try! parse(fullSpecText), try! parse(minimalSpecText)]

    func statements(_ key: [String: Any]) -> [[String: Any]] {
        ((key["Properties"] as? [String: Any])?["KeyPolicy"] as? [String: Any])?["Statement"] as? [[String: Any]] ?? []
    }

    /// CloudWatch Logs may use the key only through a statement for its
    /// regional principal, limited to this account's log groups; alarms and
    /// EventBridge publish to the encrypted topic.
    @Test func theKeyPolicyLetsEveryServiceThatUsesTheKeyUseIt() throws {
        for spec in specs {
            for role in [RegionStack.Role.primary, .dr] {
                let all = try resources(RegionStack.build(spec, role: role))
                let policy = statements(try #require(all["DataKey"]))
                let encryptedLogs = all.filter { $0.value["Type"] as? String == "AWS::Logs::LogGroup" && ($0.value["Properties"] as? [String: Any])?["KmsKeyId"] != nil }
                #expect(!encryptedLogs.isEmpty)
                let logs = policy.first { String(describing: $0["Principal"] ?? "").contains("logs.${AWS::Region}.amazonaws.com") }
                let logsStatement = try #require(logs, "\(role): no statement for logs.REGION.amazonaws.com, yet \(encryptedLogs.keys.sorted()) use the key")
                let condition = String(describing: logsStatement["Condition"] ?? "")
                #expect(condition.contains("kms:EncryptionContext:aws:logs:arn") && condition.contains(":log-group:*"), "\(condition)")
                let actions = logsStatement["Action"] as? [String] ?? []
                #expect(actions.contains("kms:GenerateDataKey*") && actions.contains("kms:Decrypt*"))
                // Publishers to the encrypted topic: every alarm and the RDS events rule.
                let publishers = policy.filter { ($0["Action"] as? [String])?.contains("kms:GenerateDataKey*") == true }
                    .map { String(describing: $0["Principal"] ?? "") }.joined()
                #expect(publishers.contains("cloudwatch.amazonaws.com") && publishers.contains("events.amazonaws.com"))
            }
        }
    }

    /// Lambda takes code only from a bucket in its own region.
    @Test func eachRegionsFunctionsComeFromABucketInThatRegion() throws {
        let spec = try parse(fullSpecText)
        let plan = DeployPlan.make(spec)
        for step in plan.steps {
            let own = DeployPlan.codeBucketVariable(step.region)
            #expect(step.command.contains("LambdaCodeBucket=\"$\(own)\""), "step \(step.number): \(step.command)")
            let other = DeployPlan.codeBucketVariable(step.region == spec.primary.region ? spec.dr.region : spec.primary.region)
            #expect(!step.command.contains(other), "step \(step.number) uses the other region's bucket")
        }
        #expect(DeployPlan.codeBucketVariable("us-east-2") == "CODE_BUCKET_US_EAST_2")
    }

    /// Route 53 CLOUDWATCH_METRIC health checks follow metric alarms only, and
    /// the signal must survive the primary region: a metric alarm in the DR region.
    @Test func theHealthCheckFollowsAMetricAlarmTheDRRegionStillHas() throws {
        let spec = try parse(fullSpecText)
        #expect(try resources(RegionStack.build(spec, role: .primary)).values.allSatisfy { $0["Type"] as? String != "AWS::Route53::HealthCheck" },
                "no health check depends on the primary region")
        let dr = try resources(RegionStack.build(spec, role: .dr))
        let check = try #require(dr["PrimaryHealthCheck"]?["Properties"] as? [String: Any])
        let identifier = try #require((check["HealthCheckConfig"] as? [String: Any])?["AlarmIdentifier"] as? [String: Any])
        #expect(identifier["Region"] as? String == spec.dr.region)
        let named = dr.values.filter { ($0["Properties"] as? [String: Any])?["AlarmName"] as? String == identifier["Name"] as? String }
        #expect(named.count == 1 && named.first?["Type"] as? String == "AWS::CloudWatch::Alarm",
                "the health check names a metric alarm of the DR template, not a composite: \(named.map { $0["Type"] ?? "" })")
        // Its id is an output, for dns.healthCheckId (pgdr status reports the checkers' verdict).
        let outputs = try #require(try JSONSerialization.jsonObject(with: Data(RegionStack.build(spec, role: .dr).json().utf8)) as? [String: Any])["Outputs"] as? [String: Any]
        let output = try #require(outputs?["PrimaryHealthCheckId"] as? [String: Any], "\(outputs ?? [:])")
        #expect(String(describing: output["Value"] ?? "") .contains("PrimaryHealthCheck") && output["Condition"] as? String == "HasPrimary", "\(output)")
        // And the failover function starts on that alarm.
        let rule = try #require(dr["PrimaryDownRule"]?["Properties"] as? [String: Any])
        #expect(String(describing: rule["EventPattern"] ?? "").contains("PrimaryUnreachableAlarm"))
        #expect(String(describing: rule["Targets"] ?? "").contains("FailoverFunction"))
    }

    /// No record carries a health check: Route 53 never sends clients to a
    /// read-only replica before promotion; the records change after it.
    @Test func dnsChangesOnlyAfterPromotion() throws {
        let spec = try parse(fullSpecText)
        for role in [RegionStack.Role.primary, .dr] {
            for (id, resource) in try resources(RegionStack.build(spec, role: role)) where resource["Type"] as? String == "AWS::Route53::RecordSet" {
                let properties = resource["Properties"] as? [String: Any] ?? [:]
                #expect(properties["HealthCheckId"] == nil, "\(role) \(id) would fail over by itself, before any promotion")
            }
        }
        // The DR failover function may change the records (after promotion) and fence the old primary.
        let dr = try RegionStack.build(spec, role: .dr).json()
        #expect(dr.contains("route53:ChangeResourceRecordSets") && dr.contains("rds:RebootDBInstance"))
    }

    @Test func theMasterSecretIsReplicatedToTheDRRegionAndRotated() throws {
        let spec = try parse(fullSpecText)
        let template = RegionStack.build(spec, role: .primary)
        let all = try resources(template)
        let secret = try #require(all["MasterSecret"]?["Properties"] as? [String: Any])
        let replicas = String(describing: secret["ReplicaRegions"] ?? "")
        #expect(replicas.contains(spec.dr.region) && replicas.contains("DrKeyArn"), "\(replicas)")
        let rotation = try #require(all["MasterSecretRotation"]?["Properties"] as? [String: Any])
        #expect(String(describing: rotation["HostedRotationLambda"] ?? "").contains("PostgreSQLSingleUser"))
        #expect(try decoded(template)["Transform"] as? [String] == ["AWS::SecretsManager-2020-07-23"])
        #expect(DeployPlan.make(spec).steps.allSatisfy { $0.command.contains("CAPABILITY_AUTO_EXPAND") })
        // The rotation function and pgdr's functions reach PostgreSQL.
        let ingress = String(describing: (all["DatabaseSecurityGroup"]?["Properties"] as? [String: Any])?["SecurityGroupIngress"] ?? "")
        #expect(ingress.contains("EndpointSecurityGroup"))
    }

    /// RDS creates the exported-logs group itself, outside the stack (and
    /// keeps it forever) unless the stack owns it first.
    @Test func theStackOwnsTheDatabaseLogGroup() throws {
        for spec in specs {
            for role in [RegionStack.Role.primary, .dr] {
                let all = try resources(RegionStack.build(spec, role: role))
                let logs = try #require(all["DatabaseLogs"]?["Properties"] as? [String: Any])
                #expect(logs["LogGroupName"] as? String == "/aws/rds/instance/\(AWSRules.instanceIdentifier(spec, dr: role == .dr))/postgresql")
                #expect((all["Database"]?["DependsOn"] as? [String])?.contains("DatabaseLogs") == true)
            }
        }
    }

    /// Step 3 with the primary's ARN output empty (its region down, its stack
    /// gone) would drop the replica: the step stops before deploying. Run by
    /// /bin/sh with an `aws` on PATH that answers describe-stacks with "None".
    /// A script written a moment ago can fail to start with ETXTBSY while
    /// another test's child, forked in that moment, still holds the writing
    /// descriptor until its own exec (a Linux race, not pgdr's): run it again.
    static func runAvoidingTextFileBusy(_ arguments: [String]) async throws -> CLI.Result {
        var result = try await CLI.program("/usr/bin/env", arguments)
        for _ in 0..<5 where result.stderr.contains("Text file busy") {
            try await Task.sleep(for: .milliseconds(200))
            result = try await CLI.program("/usr/bin/env", arguments)
        }
        return result
    }

    @Test func aStepStopsBeforeDeployingWhenAnOutputIsEmpty() async throws {
        let spec = try parse(fullSpecText)
        let dir = try CLI.tempDirectory()
        let calls = "\(dir)/calls"
        try """
            #!/bin/sh
            echo "$*" >> \(calls)
            case "$*" in *describe-stacks*) echo "${FAKE_OUTPUT:-None}";; esac
            """.write(toFile: "\(dir)/aws", atomically: true, encoding: .utf8)
        chmod("\(dir)/aws", 0o755)
        let step = DeployPlan.make(spec).steps[2]
        let script = "\(dir)/step3.sh"
        try step.command.write(toFile: script, atomically: true, encoding: .utf8)
        let path = "\(dir):/usr/bin:/bin"
        let empty = try await Self.runAvoidingTextFileBusy(["PATH=\(path)", "CODE_BUCKET_US_EAST_2=code-us-east-2", "/bin/sh", "-e", script])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("has no DBInstanceArn output: refusing to deploy"), "\(empty.stderr)")
        var made = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
        #expect(!made.contains("cloudformation deploy"), "deployed anyway: \(made)")
        // With the outputs present, the same snippet deploys, in its own region, with them.
        try? FileManager.default.removeItem(atPath: calls)
        let present = try await Self.runAvoidingTextFileBusy(["PATH=\(path)", "CODE_BUCKET_US_EAST_2=code-us-east-2",
                                                              "FAKE_OUTPUT=arn:aws:rds:us-east-1:123456789012:db:orders-db-prod", "/bin/sh", "-e", script])
        #expect(present.status == 0, "\(present.stderr)")
        made = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
        #expect(made.contains("cloudformation deploy --region \(spec.dr.region)") && made.contains("PrimaryDBInstanceArn=arn:aws:rds:"), "\(made)")
        #expect(made.contains("LambdaCodeBucket=code-us-east-2"))
        // No code bucket for the region: refused before anything is read.
        let noBucket = try await Self.runAvoidingTextFileBusy(["PATH=\(path)", "/bin/sh", "-e", script])
        #expect(noBucket.status != 0 && noBucket.stderr.contains("set CODE_BUCKET_US_EAST_2"))
    }

    /// RDS cross-region replicas are asynchronous: sync is refused for AWS.
    @Test func synchronousReplicationIsRefusedForAWSAndAutomaticModeExplained() throws {
        let sync = try parse(fullSpecText + "\nreplication: {mode: sync}\n")
        let (errors, _) = AWSRules.synthProblems(sync)
        #expect(errors.map(\.key) == ["replication.mode"])
        #expect(errors.first?.message.contains("asynchronous") == true)
        let automatic = try parse(minimalSpecText + "\nfailover: {mode: automatic}\n")
        let (none, notes) = AWSRules.synthProblems(automatic)
        #expect(none.isEmpty)
        #expect(notes.contains { $0.contains("promotes only after an operator approves") })
        // With target: aws, validation itself refuses sync.
        do {
            _ = try SpecParser.parse(yaml: minimalSpecText + "\ntarget: aws\nreplication: {mode: sync}\n")
            Issue.record("target: aws with replication.mode: sync was accepted")
        } catch {
            #expect(error.diagnostics.contains { $0.path == "replication.mode" && $0.message.contains("asynchronous") }, "\(error.diagnostics)")
        }
    }
}
