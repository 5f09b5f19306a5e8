import ArgumentParser
import DRAWS
import DRCloud
import DRDeploy
import DRSpec
import Foundation

/// Progress lines on standard output, as they happen.
struct PrintProgress: DeployProgress {
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// The spec checked for an AWS deployment: `target: aws`, and nothing AWS would reject (AWSRules).
private func deployableSpec(_ config: ConfigOption) throws -> Spec {
    let spec = try config.load().spec
    guard spec.target == .aws else {
        throw fail("\(try config.resolve()) does not say `target: aws`: pgdr deploys and destroys RDS deployments only", code: Exit.badInput)
    }
    let (errors, notes) = AWSRules.synthProblems(spec)
    if !errors.isEmpty {
        for error in errors { FileHandle.standardError.write(Data("pgdr: \(error.key): \(error.message); \(error.hint)\n".utf8)) }
        throw fail("nothing was changed: the spec cannot be deployed on AWS as it stands", code: Exit.badInput)
    }
    for note in notes { FileHandle.standardError.write(Data("pgdr: note: \(note)\n".utf8)) }
    return spec
}

/// How `deploy` and `destroy` wait on CloudFormation and RDS.
struct WaitOptions: ParsableArguments {
    @Option(help: "Seconds between polls of CloudFormation and RDS.")
    var poll: Double = 10

    @Option(help: "Minutes to wait for each stack or database before giving up (an RDS replica of a large database takes hours).")
    var timeout: Int = 180

    func validate() throws {
        guard poll > 0, timeout > 0 else { throw ValidationError("--poll and --timeout must be positive") }
    }

    var pollDuration: Duration { .milliseconds(Int(poll * 1000)) }
    var timeoutDuration: Duration { .seconds(timeout * 60) }
}

private func awsClient(_ spec: Spec) -> AWSClient {
    AWSClient(endpoints: AWSEndpoints(specEndpoint: spec.aws.endpoint.flatMap(URL.init(string:))))
}

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy pgdr.yaml's RDS deployment through CloudFormation: both regions, in the deploy plan's order.",
        discussion: """
            Checks the spec against AWS's rules first (as `pgdr synth` does), then uploads the functions' zip \
            (`pgdr package`) to the Lambda code bucket of each region under a key named by its SHA-256, then runs \
            the three steps of the deploy plan: the DR region without its replica, the primary region, the DR region \
            with the cross-region read replica. Each step is a CloudFormation change set, executed, with the stack's \
            events shown as they happen; each step's parameters are the outputs of the stacks before it, and a step \
            whose input is missing or empty is refused. Running it again updates what changed (a step with nothing \
            to change says so). A stack whose first creation failed (ROLLBACK_COMPLETE) is deleted and created \
            again; a stack CloudFormation is working on, or one it left FAILED, is not touched. An update's \
            changes are listed; one that would delete or replace a database, a KMS key, a backup bucket or the \
            master secret is refused (exit 3, the change set deleted, nothing changed) unless --allow-replacement.
            Credentials come from the standard AWS chain (environment, shared files, instance metadata); \
            `aws.endpoint` or AWS_ENDPOINT_URL points every call elsewhere (a VPC endpoint, moto_server).
            Exit 0 deployed; 1 AWS refused or a stack failed (the reasons are printed); 2 bad input; 3 refused \
            (a change that would lose data).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "The zip `pgdr package` wrote (pgdr-functions/pgdr-functions.zip).")
    var functions: String

    @Option(name: .customLong("code-bucket"), help: ArgumentHelp(
        "REGION=BUCKET: the Lambda code bucket of a region; once for each of the two regions (the buckets must exist).",
        valueName: "region=bucket"))
    var codeBuckets: [String] = []

    @Flag(help: "Execute a change set that deletes or replaces a database, a KMS key, a backup bucket or the master secret (refused otherwise: exit 3).")
    var allowReplacement = false

    @OptionGroup var wait: WaitOptions

    func run() async throws {
        let spec = try deployableSpec(config)
        var buckets: [String: String] = [:]
        for entry in codeBuckets {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, [spec.primary.region, spec.dr.region].contains(parts[0]) else {
                throw fail("--code-bucket \(entry): expected REGION=BUCKET with REGION \(spec.primary.region) or \(spec.dr.region)", code: Exit.badInput)
            }
            buckets[parts[0]] = parts[1]
        }
        let absent = [spec.primary.region, spec.dr.region].filter { buckets[$0] == nil }
        guard absent.isEmpty else {
            throw fail("no Lambda code bucket for \(absent.joined(separator: " and ")): pass --code-bucket REGION=BUCKET for each region "
                       + "(Lambda takes code only from a bucket in its own region)", code: Exit.badInput)
        }
        let zip: Data
        do {
            zip = try Data(contentsOf: URL(fileURLWithPath: functions))
        } catch {
            throw fail("cannot read \(functions): \(error.localizedDescription) (write it with `pgdr package`)", code: Exit.badInput)
        }
        guard zip.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
            throw fail("\(functions) is not a zip file (write it with `pgdr package`)", code: Exit.badInput)
        }
        let deployer = Deployer(spec: spec, client: awsClient(spec), functionsZip: zip, codeBuckets: buckets, progress: PrintProgress(),
                                poll: wait.pollDuration, timeout: wait.timeoutDuration, allowReplacement: allowReplacement)
        let outputs: [String: [String: String]]
        do {
            outputs = try await deployer.run()
        } catch let error as DeployError {
            if case .wouldLoseData = error { throw fail(error.description, code: Exit.refused) }
            throw fail(error.description, code: Exit.failed)
        }
        print("deployed \(spec.resourceName(spec.name)):")
        for stack in outputs.keys.sorted() {
            for (key, value) in outputs[stack, default: [:]].sorted(by: { $0.key < $1.key }) { print("  \(stack) \(key) = \(value)") }
        }
    }
}

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Delete everything `pgdr deploy` made, in reverse order, leaving nothing behind (no final snapshot).",
        discussion: """
            Deletes the DR database (its stack retains it), empties both backup buckets of every object version \
            and delete marker, deletes the primary region's stack (its database with it: no final snapshot, no \
            automated backups kept), then the DR region's stack, then what RDS, Lambda and the failover function \
            made outside the stacks: log groups written after their stack deleted them, and the failover records \
            under /pgdr/NAME-ENV/ in Parameter Store. The Lambda code buckets are yours and stay. Take a snapshot \
            first if you want one (aws rds create-db-snapshot). Safe to run again after an interruption: what is \
            already gone is skipped.
            Exit 0 everything deleted; 1 AWS refused or a stack could not be deleted (the reasons are printed); \
            2 bad input or no --yes.
            """)

    @OptionGroup var config: ConfigOption

    @Flag(help: "Really delete: the databases, their backups and the backup buckets' contents go for good.")
    var yes = false

    @OptionGroup var wait: WaitOptions

    func run() async throws {
        let spec = try deployableSpec(config)
        let name = spec.resourceName(spec.name)
        guard yes else {
            throw fail("this deletes \(name) in \(spec.primary.region) and \(spec.dr.region) for good: both databases "
                       + "(\(AWSRules.instanceIdentifier(spec, dr: false)), \(AWSRules.instanceIdentifier(spec, dr: true))) with no final snapshot, "
                       + "both backup buckets and their contents, the keys, alarms and functions; run again with --yes", code: Exit.badInput)
        }
        let destroyer = Destroyer(spec: spec, client: awsClient(spec), progress: PrintProgress(),
                                  poll: wait.pollDuration, timeout: wait.timeoutDuration)
        do {
            try await destroyer.run()
        } catch let error as DeployError {
            throw fail(error.description, code: Exit.failed)
        }
        print("destroyed \(name)")
    }
}
