import DRAWS
import DRCloud
import DRSpec
import Foundation

/// `pgdr destroy`: the deploy plan undone, leaving nothing behind. The DR
/// database first (its stack retains it, so that no stack update can delete a
/// promoted database; here deleting it is the point), the backup buckets
/// emptied of every version, the primary's stack (it holds the peering
/// connection and the replication to the DR bucket), the DR stack, then what
/// RDS, Lambda and the failover function made outside the stacks: log
/// groups written after their stack deleted them, and the Parameter Store
/// records. Nothing is snapshotted: the caller has asked for everything to go.
public struct Destroyer: Sendable {
    public let spec: Spec
    public let client: AWSClient
    public let progress: any DeployProgress
    public let poll: Duration
    public let timeout: Duration

    public init(spec: Spec, client: AWSClient, progress: any DeployProgress, poll: Duration = .seconds(10),
                timeout: Duration = .seconds(2 * 3600)) {
        self.spec = spec
        self.client = client
        self.progress = progress
        self.poll = poll
        self.timeout = timeout
    }

    public func run() async throws {
        let cloudFormation = CloudFormationAPI(client: client)
        let runner = StackRunner(cloudFormation: cloudFormation, progress: progress, poll: poll, timeout: timeout)
        let primaryName = AWSRules.stackName(spec, dr: false), drName = AWSRules.stackName(spec, dr: true)
        let primary = try await runner.call("DescribeStacks \(primaryName)") { try await cloudFormation.stack(primaryName, region: spec.primary.region) }
        let dr = try await runner.call("DescribeStacks \(drName)") { try await cloudFormation.stack(drName, region: spec.dr.region) }

        try await deleteDatabase(AWSRules.instanceIdentifier(spec, dr: true), region: spec.dr.region, runner: runner)
        let primaryBucket = primary.flatMap { $0.outputs["BackupBucketArn"] }.flatMap(StackDecisions.bucketName)
        let drBucket = dr.flatMap { $0.outputs["BackupBucketArn"] }.flatMap(StackDecisions.bucketName)
        if let primaryBucket { try await empty(primaryBucket, region: spec.primary.region, runner: runner) }
        if let drBucket { try await empty(drBucket, region: spec.dr.region, runner: runner) }
        if let primary {
            progress.say("deleting \(primaryName) in \(spec.primary.region)")
            try await runner.delete(stack: primary.id, name: primaryName, region: spec.primary.region)
        } else {
            progress.say("\(primaryName) in \(spec.primary.region): no such stack")
        }
        if let dr {
            // Replication from the primary's bucket may have landed more versions meanwhile.
            if let drBucket { try await empty(drBucket, region: spec.dr.region, runner: runner) }
            progress.say("deleting \(drName) in \(spec.dr.region)")
            try await runner.delete(stack: dr.id, name: drName, region: spec.dr.region)
        } else {
            progress.say("\(drName) in \(spec.dr.region): no such stack")
        }
        try await leftovers(runner: runner)
    }

    /// Deletes the instance (no final snapshot) and waits until RDS no longer knows it.
    private func deleteDatabase(_ identifier: String, region: String, runner: StackRunner) async throws {
        let rds = RDSAPI(client: client)
        func current() async throws -> DBInstance? {
            do { return try await rds.describe(identifier, region: region) } catch let error as AWSError where error.code == "DBInstanceNotFound" {
                return nil
            }
        }
        guard let instance = try await runner.call("DescribeDBInstances \(identifier)", current) else {
            progress.say("database \(identifier) in \(region): none")
            return
        }
        if instance.status != "deleting" {
            _ = try await runner.call("DeleteDBInstance \(identifier)") { try await rds.delete(identifier, region: region) }
        }
        progress.say("database \(identifier) in \(region): deleting (no final snapshot)")
        _ = try await runner.waitFor("the deletion of \(identifier)") {
            try await runner.call("DescribeDBInstances \(identifier)", current) == nil ? true : nil
        }
        progress.say("database \(identifier) in \(region): deleted")
    }

    /// Deletes every version and delete marker, so that CloudFormation can delete the bucket.
    private func empty(_ bucket: String, region: String, runner: StackRunner) async throws {
        let s3 = S3API(client: client)
        let versions: [S3API.ObjectVersion]
        do {
            versions = try await s3.versions(bucket: bucket, region: region)
        } catch let error as AWSError where error.code == "NoSuchBucket" {
            return
        } catch let error as AWSError {
            throw DeployError.aws("ListObjectVersions s3://\(bucket)", error)
        }
        guard !versions.isEmpty else { return }
        let refused = try await runner.call("DeleteObjects s3://\(bucket)") { try await s3.delete(versions, bucket: bucket, region: region) }
        guard refused.isEmpty else { throw DeployError.bucketNotEmptied(bucket: bucket, refused.map { "\($0.0.key): \($0.1)" }) }
        progress.say("emptied s3://\(bucket): \(versions.count) object version\(versions.count == 1 ? "" : "s") and delete markers")
    }

    /// Log groups that RDS or Lambda wrote again after their stack deleted
    /// them, and the failover function's Parameter Store records.
    private func leftovers(runner: StackRunner) async throws {
        let logs = LogsAPI(client: client), ssm = SSMAPI(client: client)
        for (role, region) in [(RegionStack.Role.primary, spec.primary.region), (.dr, spec.dr.region)] {
            for group in StackDecisions.logGroups(try RegionStack.build(spec, role: role).json()) {
                let existed = try await runner.call("DeleteLogGroup \(group)") { try await logs.deleteLogGroup(group, region: region) }
                if existed { progress.say("deleted log group \(group) in \(region) (written after its stack was deleted)") }
            }
        }
        let root = AWSRules.recordsRoot(spec)
        for region in Set([spec.primary.region, spec.dr.region]).sorted() {
            let records = try await runner.call("GetParametersByPath \(root)") { try await ssm.list(path: root, region: region) }
            for record in records {
                try await runner.call("DeleteParameter \(record.name)") { try await ssm.delete(record.name, region: region) }
            }
            if !records.isEmpty { progress.say("deleted \(records.count) failover record\(records.count == 1 ? "" : "s") under \(root) in \(region)") }
        }
    }
}
