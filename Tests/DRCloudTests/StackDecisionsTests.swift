@testable import DRCloud
import DRSpec
import Foundation
import Testing

@Suite struct StackDecisionsTests {
    @Test func statesFromStackStatus() {
        #expect(StackDecisions.state(nil) == .missing)
        #expect(StackDecisions.state("DELETE_COMPLETE") == .missing)
        #expect(StackDecisions.state("REVIEW_IN_PROGRESS") == .reviewOnly)
        #expect(StackDecisions.state("CREATE_COMPLETE") == .stable)
        #expect(StackDecisions.state("UPDATE_COMPLETE") == .stable)
        #expect(StackDecisions.state("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == .busy)
        #expect(StackDecisions.state("UPDATE_ROLLBACK_IN_PROGRESS") == .busy)
        #expect(StackDecisions.state("ROLLBACK_COMPLETE") == .failedCreate)
        #expect(StackDecisions.state("UPDATE_ROLLBACK_COMPLETE") == .rolledBack)
        #expect(StackDecisions.state("DELETE_FAILED") == .failed)
        #expect(StackDecisions.state("UPDATE_ROLLBACK_FAILED") == .failed)
    }

    @Test func anEmptyChangeSetIsNotAnError() {
        #expect(StackDecisions.noChanges("The submitted information didn't contain changes. Submit different information to create a change set."))
        #expect(StackDecisions.noChanges("No updates are to be performed."))
        #expect(!StackDecisions.noChanges("Template format error: Unresolved resource dependencies [Vpc]"))
        #expect(!StackDecisions.noChanges(nil))
    }

    /// Step 3 must not run with an empty PrimaryDBInstanceArn: it would drop the replica.
    @Test func aStepWithAnEmptyOrMissingInputIsRefused() throws {
        let spec = try parse(minimalSpecText)
        let step = DeployPlan.make(spec).steps[2]
        let full = ["tiny-primary-dev": ["DBInstanceArn": "arn:aws:rds:us-east-1:1:db:tiny-db-dev", "PeeringConnectionId": "pcx-1"]]
        let ok = StackDecisions.parameters(step, outputs: full)
        #expect(ok.missing.isEmpty && ok.parameters.map(\.0) == ["PrimaryDBInstanceArn", "PeeringConnectionId"])
        let empty = StackDecisions.parameters(step, outputs: ["tiny-primary-dev": ["DBInstanceArn": "", "PeeringConnectionId": "None"]])
        #expect(empty.missing.map(\.parameter) == ["PrimaryDBInstanceArn", "PeeringConnectionId"])
        #expect(StackDecisions.parameters(step, outputs: [:]).missing.count == 2)
        #expect(DeployPlan.make(spec).steps[0].inputs.isEmpty)
    }

    @Test func namesAndSizes() throws {
        #expect(StackDecisions.functionCodeKey(sha256: String(repeating: "ab", count: 32)) == "pgdr-functions-abababababababab.zip")
        let name = StackDecisions.changeSetName(step: 3, date: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(name.range(of: "^[a-zA-Z][-a-zA-Z0-9]{0,127}$", options: .regularExpression) != nil)
        #expect(StackDecisions.bucketName(arn: "arn:aws:s3:::orders-backup-us-east-1-prod") == "orders-backup-us-east-1-prod")
        #expect(StackDecisions.bucketName(arn: "orders") == nil)
        // The largest templates fit TemplateBody once compact (the pretty form does not).
        for role in [RegionStack.Role.primary, .dr] {
            let pretty = try RegionStack.build(try parse(fullSpecText), role: role).json()
            let compact = try StackDecisions.compact(pretty)
            #expect(compact.utf8.count <= StackDecisions.templateBodyLimit, "\(role): \(compact.utf8.count)")
            #expect(try JSONSerialization.jsonObject(with: Data(compact.utf8)) as? NSDictionary
                    == JSONSerialization.jsonObject(with: Data(pretty.utf8)) as? NSDictionary)
        }
    }

    @Test func theLogGroupsToDeleteAgainAreTheTemplatesOwn() throws {
        let spec = try parse(minimalSpecText)
        let dr = StackDecisions.logGroups(try RegionStack.build(spec, role: .dr).json())
        #expect(dr.contains("/aws/rds/instance/tiny-replica-dev/postgresql"))
        #expect(dr.contains { $0.hasPrefix("/aws/lambda/") })
        #expect(StackDecisions.logGroups("not json").isEmpty)
    }
}

@Suite struct UpdateParameterTests {
    /// Step 1 again on a deployed DR stack keeps the replica's parameters.
    @Test func anUpdateKeepsTheParametersItIsNotGiven() {
        let given = [("LambdaCodeBucket", "code"), ("LambdaCodeKey", "new.zip")]
        let current = ["LambdaCodeBucket": "old", "LambdaCodeKey": "old.zip", "PrimaryDBInstanceArn": "arn:aws:rds:us-east-1:1:db:x",
                       "PeeringConnectionId": "pcx-1"]
        let merged = StackDecisions.updateParameters(given, current: current)
        #expect(merged.map(\.0) == ["LambdaCodeBucket", "LambdaCodeKey", "PeeringConnectionId", "PrimaryDBInstanceArn"])
        #expect(merged.first { $0.0 == "LambdaCodeKey" }?.1 == "new.zip")
        #expect(merged.first { $0.0 == "PrimaryDBInstanceArn" }?.1 == "arn:aws:rds:us-east-1:1:db:x")
    }
}

/// What AWS would refuse at deploy time and pgdr can know offline.
@Suite struct DeployValidationTests {
    /// Every Lambda function, EventBridge rule and SQS queue name in the templates is one AWSRules bounds.
    @Test func everyCappedNameInTheTemplatesIsChecked() throws {
        let spec = try parse(fullSpecText)
        let checked = Set(AWSRules.cappedNames(spec).map(\.name))
        for role in [RegionStack.Role.primary, .dr] {
            for (_, resource) in try resources(RegionStack.build(spec, role: role)) {
                let properties = resource["Properties"] as? [String: Any] ?? [:]
                let name: String? = switch resource["Type"] as? String {
                case "AWS::Lambda::Function": properties["FunctionName"] as? String
                case "AWS::Events::Rule": properties["Name"] as? String
                case "AWS::SQS::Queue": properties["QueueName"] as? String
                default: nil
                }
                if let name { #expect(checked.contains(name), "\(role): \(name) is not bounded by AWSRules.cappedNames") }
            }
        }
    }

    /// The backup bucket (`NAME-backup-REGION-ENV`, at most 63) is the tightest bound on
    /// `name` and `environment`: whenever it passes, every capped name fits too.
    @Test func theBucketNameBoundsEveryCappedName() throws {
        let environment = "stagingbluegreen"  // 16, the longest an environment may be
        func yaml(_ name: String) -> String {
            minimalSpecText.replacingOccurrences(of: "name: tiny", with: "name: \(name)")
                .replacingOccurrences(of: "environment: dev", with: "environment: \(environment)")
        }
        let longest = String(repeating: "a", count: 29)
        let spec = try SpecParser.parse(yaml: yaml(longest)).spec
        #expect(AWSRules.bucketName(spec, region: spec.primary.region).count == 63)
        for capped in AWSRules.cappedNames(spec) { #expect(capped.name.count <= capped.limit, "\(capped)") }
        do {
            _ = try SpecParser.parse(yaml: yaml(longest + "a"))
            Issue.record("a 64-character bucket name must be rejected")
        } catch {
            #expect(error.diagnostics.contains { $0.path == "name" && $0.message.contains("S3 allows 3 to 63") })
        }
    }

    @Test func route53ZoneAndRecord() throws {
        #expect(AWSRules.hostedZoneProblem("Z0123456789ABCDEFGHIJ") == nil)
        #expect(AWSRules.hostedZoneProblem("/hostedzone/Z0123456789ABC")?.contains("/hostedzone/") == true)
        #expect(AWSRules.hostedZoneProblem("z012") != nil && AWSRules.hostedZoneProblem("Z01 23") != nil)
        #expect(AWSRules.recordNameProblem("db.example.com") == nil && AWSRules.recordNameProblem("db.example.com.") == nil)
        #expect(AWSRules.recordNameProblem("db") != nil)
        #expect(AWSRules.recordNameProblem("db_primary.example.com") != nil)
        #expect(AWSRules.recordNameProblem("-db.example.com") != nil)
        do {
            _ = try SpecParser.parse(yaml: minimalSpecText + "\ndns: {hostedZoneId: /hostedzone/Z0123456789ABC, recordName: db}\n")
            Issue.record("a bad zone id and record name must be rejected")
        } catch {
            #expect(Set(error.diagnostics.map(\.path)).isSuperset(of: ["dns.hostedZoneId", "dns.recordName"]), "\(error.diagnostics.map(\.path))")
        }
    }
}

@Suite struct DataLossChangeTests {
    /// A change set that would delete or replace what holds data is refused; others go on.
    @Test func changesThatLoseDataAreNamed() {
        #expect(StackDecisions.losesData(action: "Modify", type: "AWS::RDS::DBInstance", replacement: "True"))
        #expect(StackDecisions.losesData(action: "Modify", type: "AWS::RDS::DBInstance", replacement: "Conditional"))
        #expect(StackDecisions.losesData(action: "Remove", type: "AWS::S3::Bucket", replacement: nil))
        #expect(StackDecisions.losesData(action: "Modify", type: "AWS::KMS::Key", replacement: "True"))
        #expect(StackDecisions.losesData(action: "Remove", type: "AWS::SecretsManager::Secret", replacement: nil))
        #expect(!StackDecisions.losesData(action: "Modify", type: "AWS::RDS::DBInstance", replacement: "False"))
        #expect(!StackDecisions.losesData(action: "Add", type: "AWS::RDS::DBInstance", replacement: nil))
        #expect(!StackDecisions.losesData(action: "Remove", type: "AWS::CloudWatch::Alarm", replacement: nil))
        #expect(!StackDecisions.losesData(action: "Modify", type: "AWS::Lambda::Function", replacement: "True"))
    }

    /// Every data-holding type is one the templates make.
    @Test func theDataHoldingTypesAreTheTemplatesOwn() throws {
        let spec = try parse(fullSpecText)
        var made: Set<String> = []
        for role in [RegionStack.Role.primary, .dr] {
            for (_, resource) in try resources(RegionStack.build(spec, role: role)) { made.insert(resource["Type"] as? String ?? "") }
        }
        #expect(StackDecisions.dataHolding.isSubset(of: made), "\(StackDecisions.dataHolding.subtracting(made))")
    }
}
