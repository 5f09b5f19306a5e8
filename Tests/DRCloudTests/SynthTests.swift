import DRSpec
import Foundation
import Testing
@testable import DRCloud

/// The full example (`pgdr init`) plus DNS, and the smallest valid spec.
let fullSpecText = ExampleSpec.text + "\ndns: {hostedZoneId: Z0123456789ABCDEFGHIJ, recordName: db.example.com}\n"
let minimalSpecText = """
    name: tiny
    environment: dev
    objectives: {rpo: 5m, rto: 1h}
    engine: {version: "16"}
    """

func parse(_ text: String) throws -> Spec { try SpecParser.parse(yaml: text).spec }

func decoded(_ template: CFTemplate) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(try template.json().utf8)) as! [String: Any]
}

func resources(_ template: CFTemplate) throws -> [String: [String: Any]] {
    try decoded(template)["Resources"] as! [String: [String: Any]]
}

@Suite struct GoldenTemplateTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Byte-for-byte against the committed files; `PGDR_UPDATE_GOLDEN=1 swift test` rewrites them.
    @Test(arguments: [("full", fullSpecText), ("minimal", minimalSpecText)])
    func templatesMatchTheGoldenFiles(name: String, text: String) throws {
        let spec = try parse(text)
        for role in [RegionStack.Role.primary, .dr] {
            let json = try RegionStack.build(spec, role: role).json()
            let file = Self.golden.appendingPathComponent("\(name).\(role.rawValue).template.json")
            if ProcessInfo.processInfo.environment["PGDR_UPDATE_GOLDEN"] != nil {
                try json.write(to: file, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOf: file, encoding: .utf8)
            #expect(json == expected, "\(file.lastPathComponent) differs; review, then PGDR_UPDATE_GOLDEN=1 swift test")
        }
    }

    @Test func outputIsDeterministic() throws {
        let spec = try parse(fullSpecText)
        #expect(try RegionStack.build(spec, role: .primary).json() == RegionStack.build(spec, role: .primary).json())
    }
}

@Suite struct TemplatePropertyTests {
    let specs = [try! parse(fullSpecText), try! parse(minimalSpecText)]

    @Test func everyDatabaseAndBucketIsEncrypted() throws {
        for spec in specs {
            let primary = try resources(RegionStack.build(spec, role: .primary))
            let dr = try resources(RegionStack.build(spec, role: .dr))
            let db = try #require(primary["Database"]?["Properties"] as? [String: Any])
            #expect(db["StorageEncrypted"] as? Bool == true)
            #expect(db["KmsKeyId"] != nil)
            #expect(db["PerformanceInsightsKMSKeyId"] != nil)
            let replica = try #require(dr["Database"]?["Properties"] as? [String: Any])
            #expect(replica["KmsKeyId"] != nil, "the replica is encrypted with the DR region's key")
            for (_, all) in [("primary", primary), ("dr", dr)] {
                let bucket = try #require(all["BackupBucket"]?["Properties"] as? [String: Any])
                let encryption = String(describing: bucket["BucketEncryption"] ?? "")
                #expect(encryption.contains("aws:kms"))
                let topic = try #require(all["AlertTopic"]?["Properties"] as? [String: Any])
                #expect(topic["KmsMasterKeyId"] != nil)
                let key = try #require(all["DataKey"]?["Properties"] as? [String: Any])
                #expect(key["EnableKeyRotation"] as? Bool == true)
            }
        }
    }

    @Test func onlyTheReplicaIsRetainedAndNamesCarryTheSuffix() throws {
        for spec in specs {
            for role in [RegionStack.Role.primary, .dr] {
                for (id, resource) in try resources(RegionStack.build(spec, role: role)) {
                    // The one exception: the DR database (it may be the promoted primary).
                    let policy = role == .dr && id == "Database" ? "Retain" : "Delete"
                    #expect(resource["DeletionPolicy"] as? String == policy, "\(id): \(resource["DeletionPolicy"] ?? "none")")
                    #expect(resource["UpdateReplacePolicy"] as? String == policy, "\(id)")
                    let properties = resource["Properties"] as? [String: Any] ?? [:]
                    // A DNS record's name is the client-facing name from `dns.recordName`.
                    if resource["Type"] as? String == "AWS::Route53::RecordSet" { continue }
                    for key in ["DBInstanceIdentifier", "BucketName", "TopicName", "FunctionName", "AlarmName", "Name", "AliasName"] {
                        if let value = properties[key] as? String {
                            // The environment is one of the name's dash-separated words (`orders-db-prod`, `orders-prod-lag`).
                            #expect(value.split(separator: "-").dropFirst().contains(Substring(spec.environment)),
                                    "\(id).\(key) = \(value) lacks the environment suffix")
                        }
                    }
                }
            }
        }
    }

    @Test func theReplicaIsARealCrossRegionReplica() throws {
        for spec in specs {
            let dr = try resources(RegionStack.build(spec, role: .dr))
            let replica = try #require(dr["Database"]?["Properties"] as? [String: Any])
            #expect(String(describing: replica["SourceDBInstanceIdentifier"] ?? "").contains("PrimaryDBInstanceArn"),
                    "the source is the primary's ARN")
            #expect(replica["SourceRegion"] as? String == spec.primary.region)
            #expect(spec.primary.region != spec.dr.region)
            for forbidden in ["Engine", "MasterUsername", "MasterUserPassword", "StorageEncrypted", "AllocatedStorage"] {
                #expect(replica[forbidden] == nil, "a replica must not carry \(forbidden)")
            }
        }
    }

    @Test func noSecretLiteralInTheTemplates() throws {
        for spec in specs {
            let primary = RegionStack.build(spec, role: .primary)
            let db = try #require(primary.resources["Database"])
            #expect(db.properties["MasterUserPassword"]?.literals.allSatisfy { $0.hasPrefix("{{resolve:secretsmanager:") } == true)
            let json = try primary.json()
            // Every literal password value in the JSON is a Secrets Manager reference.
            let literals = json.matches(of: /"MasterUserPassword" : "([^"]*)"/).map { String($0.1) }
            #expect(literals.allSatisfy { $0.hasPrefix("{{resolve:secretsmanager:") }, "\(literals)")
        }
    }

    /// The functions' wiring: an approval record starts the failover function; the lag alarm reads the
    /// lag monitor's heartbeat metric (not RDS's ReplicaLag); the failover function may wait out a promotion.
    @Test func functionsAreWiredForApprovalAndHeartbeatLag() throws {
        for spec in specs {
            let json = try RegionStack.build(spec, role: .dr).json()
            let template = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            let all = template["Resources"] as! [String: [String: Any]]
            let rule = try #require(all["ApprovalRule"]?["Properties"] as? [String: Any])
            let pattern = rule["EventPattern"] as? [String: Any] ?? [:]
            #expect(pattern["source"] as? [String] == ["aws.ssm"])
            let prefix = (((pattern["detail"] as? [String: Any])?["name"] as? [[String: Any]])?.first?["prefix"] as? String) ?? ""
            #expect(prefix == "/pgdr/\(spec.resourceName(spec.name))/approvals/", "\(prefix)")
            #expect(all["ApprovalPermission"] != nil)
            let failover = all["FailoverFunction"]?["Properties"] as? [String: Any] ?? [:]
            #expect(failover["Timeout"] as? Int == 900)
            #expect(failover["Architectures"] as? [String] == ["x86_64"])
            let lagAlarm = all.values.compactMap { $0["Properties"] as? [String: Any] }
                .first { ($0["AlarmName"] as? String)?.contains("replication-lag") == true || $0["MetricName"] as? String == "ReplicationLagSeconds" }
            #expect(lagAlarm?["Namespace"] as? String == "pgdr", "\(String(describing: lagAlarm))")
            #expect(!all.values.contains { ($0["Properties"] as? [String: Any])?["MetricName"] as? String == "ReplicaLag"
                                           && ($0["Properties"] as? [String: Any])?["Statistic"] as? String == "Maximum" },
                    "no lag alarm reads RDS's ReplicaLag (an idle primary reads as lag there)")
        }
    }

    @Test func iamStatementsNameTheirResources() throws {
        for spec in specs {
            for role in [RegionStack.Role.primary, .dr] {
                let json = try RegionStack.build(spec, role: role).json()
                let template = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
                let all = template["Resources"] as! [String: [String: Any]]
                for (id, resource) in all where resource["Type"] as? String == "AWS::IAM::Role" {
                    let policies = (resource["Properties"] as? [String: Any])?["Policies"] as? [[String: Any]] ?? []
                    for policy in policies {
                        let statements = (policy["PolicyDocument"] as? [String: Any])?["Statement"] as? [Any] ?? []
                        for case let statement as [String: Any] in statements where statement["Resource"] as? String == "*" {
                            let actions = statement["Action"] as? [String] ?? []
                            // Only actions AWS offers no resource for may use "*".
                            let resourceless: Set<String> = ["cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "ec2:CreateNetworkInterface",
                                                             "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"]
                            #expect(Set(actions).isSubset(of: resourceless), "\(id): \(actions) on *")
                            #expect(!actions.contains { $0.hasSuffix(":*") }, "\(id): wildcard action")
                        }
                    }
                }
            }
        }
    }

    @Test func everyDefaultAlarmHasACloudWatchTwin() throws {
        for spec in specs {
            let twins = Set(CloudWatchAlarms.twins(spec).map(\.alarm))
            for alarm in DefaultAlarms.make(spec.monitoring) where alarm.metric != nil {
                if let reason = CloudWatchAlarms.withoutTwin[alarm.name] {
                    #expect(!twins.contains(alarm.name) && !reason.isEmpty)
                } else {
                    #expect(twins.contains(alarm.name), "\(alarm.name) has no CloudWatch twin")
                }
            }
            let primary = try RegionStack.build(spec, role: .primary).json()
            let dr = try RegionStack.build(spec, role: .dr).json()
            for composite in [DefaultAlarms.drAtRisk, DefaultAlarms.primaryDown] {
                #expect((primary + dr).contains("\"\(spec.name)-\(composite)-\(spec.environment)\""), "\(composite) composite")
            }
            #expect(dr.contains("\"ReplicaLag\""))
            #expect(primary.contains("\"OldestReplicationSlotLag\""))
        }
    }

    @Test func everyTagIsValidForRDS() throws {
        for spec in specs {
            for (key, value) in spec.tags { #expect(AWSRules.tagProblems(key: key, value: value).isEmpty) }
        }
    }

    @Test func deployPlanResolvesCrossRegionDependencies() throws {
        let spec = try parse(fullSpecText)
        let plan = DeployPlan.make(spec)
        #expect(plan.steps.map(\.region) == [spec.dr.region, spec.primary.region, spec.dr.region])
        #expect(plan.steps[1].command.contains("DrBucketArn="))
        #expect(plan.steps[2].command.contains("PrimaryDBInstanceArn="))
        #expect(plan.markdown(spec).contains("aws cloudformation deploy"))
    }
}

@Suite struct AWSRuleTests {
    /// The tag value that failed a real deployment of this architecture.
    @Test func theLessThanOneHourTagIsRejectedWithItsHint() throws {
        let yaml = minimalSpecText + "\ntags: {rpo: \"<1hour\"}\n"
        do {
            _ = try SpecParser.parse(yaml: yaml)
            Issue.record("`<1hour` must be rejected")
        } catch {
            let problem = try #require(error.diagnostics.first { $0.path == "tags.rpo" })
            #expect(problem.hint == "write `under-1-hour`")
            #expect(problem.line == 5)
        }
        #expect(AWSRules.suggestTagValue("<1hour") == "under-1-hour")
    }

    @Test(arguments: ["aws:owner", "rds:x", String(repeating: "k", count: 129)])
    func reservedOrLongKeys(key: String) {
        #expect(!AWSRules.tagProblems(key: key, value: "v").isEmpty)
    }

    @Test func identifiersAndBuckets() {
        #expect(AWSRules.rdsIdentifierProblem("orders-db-prod") == nil)
        #expect(AWSRules.rdsIdentifierProblem("1db") != nil)
        #expect(AWSRules.rdsIdentifierProblem("a--b") != nil)
        #expect(AWSRules.rdsIdentifierProblem("a-") != nil)
        #expect(AWSRules.rdsIdentifierProblem(String(repeating: "a", count: 64)) != nil)
        #expect(AWSRules.bucketNameProblem("orders-backup-us-east-1-prod") == nil)
        #expect(AWSRules.bucketNameProblem("Orders") != nil)
        #expect(AWSRules.bucketNameProblem("a..b") != nil)
    }

    @Test func cidrsMustNotOverlap() throws {
        #expect(AWSRules.overlap("10.10.0.0/16", "10.10.128.0/17"))
        #expect(!AWSRules.overlap("10.10.0.0/16", "10.20.0.0/16"))
        do {
            _ = try SpecParser.parse(yaml: minimalSpecText + "\nprimary: {vpcCidr: 10.1.0.0/16}\ndr: {vpcCidr: 10.1.0.0/20}\n")
            Issue.record("overlapping VPCs must be rejected")
        } catch {
            #expect(error.diagnostics.contains { $0.path == "dr.vpcCidr" })
        }
    }

    @Test func engineAndInstanceClass() throws {
        do {
            _ = try SpecParser.parse(yaml: minimalSpecText + "\nprimary: {instanceClass: db.r6g.huge}\n")
            Issue.record("unknown size must be rejected")
        } catch {
            #expect(error.diagnostics.contains { $0.path == "primary.instanceClass" })
        }
        let old = try SpecParser.parse(yaml: minimalSpecText.replacingOccurrences(of: "\"16\"", with: "\"13\""))
        #expect(old.warnings.contains { $0.path == "engine.version" && $0.message.contains("2026-02-28") })
        #expect(AWSRules.engineVersion(Engine(version: "16")) == "16.11")
        #expect(AWSRules.engineVersion(Engine(version: "16.4")) == "16.4")
    }
}

@Suite struct CostTests {
    @Test func theExampleCostsAboutWhatTheReferenceArchitectureDid() throws {
        // A production configuration of this architecture was estimated at 1,180 USD a month.
        let total = CostEstimate.total(try parse(fullSpecText))
        #expect(total > 1000 && total < 1400, "total \(total)")
        #expect(CostEstimate.lines(try parse(fullSpecText)).allSatisfy { $0.monthlyUSD >= 0 })
    }

    @Test func multiAZDoublesTheInstanceAndUnknownClassesSaySo() throws {
        let single = try parse(minimalSpecText + "\nprimary: {multiAZ: false}\n")
        let multi = try parse(minimalSpecText + "\nprimary: {multiAZ: true}\n")
        let instance = { (spec: Spec) in CostEstimate.lines(spec).first { $0.item.hasPrefix("primary DB instance") }!.monthlyUSD }
        #expect(instance(multi) == 2 * instance(single))
        let odd = try parse(minimalSpecText + "\nprimary: {instanceClass: db.x2g.large}\n")
        #expect(CostEstimate.lines(odd).contains { $0.basis.contains("no price") })
    }
}
