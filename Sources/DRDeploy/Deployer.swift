import Crypto
import DRAWS
import DRCloud
import DRSpec
import Foundation

/// `pgdr deploy`: the functions' zip into each region's code bucket, then the
/// deploy plan's three steps through CloudFormation change sets, each step's
/// parameters read from the outputs of the stacks before it.
public struct Deployer: Sendable {
    public let spec: Spec
    public let client: AWSClient
    /// The zip `pgdr package` wrote.
    public let functionsZip: Data
    /// The Lambda code bucket of each region (Lambda takes code only from its own region).
    public let codeBuckets: [String: String]
    public let progress: any DeployProgress
    public let poll: Duration
    public let timeout: Duration
    public let allowReplacement: Bool

    public init(spec: Spec, client: AWSClient, functionsZip: Data, codeBuckets: [String: String], progress: any DeployProgress,
                poll: Duration = .seconds(10), timeout: Duration = .seconds(3 * 3600), allowReplacement: Bool = false) {
        self.allowReplacement = allowReplacement
        self.spec = spec
        self.client = client
        self.functionsZip = functionsZip
        self.codeBuckets = codeBuckets
        self.progress = progress
        self.poll = poll
        self.timeout = timeout
    }

    /// Every stack's outputs, by stack name.
    public func run() async throws -> [String: [String: String]] {
        let cloudFormation = CloudFormationAPI(client: client)
        let runner = StackRunner(cloudFormation: cloudFormation, progress: progress, poll: poll, timeout: timeout,
                                 allowReplacement: allowReplacement)
        let key = try await upload(runner)
        let plan = DeployPlan.make(spec)
        var templates: [RegionStack.Role: String] = [:]
        for role in [RegionStack.Role.primary, .dr] {
            let body = try StackDecisions.compact(try RegionStack.build(spec, role: role).json())
            guard body.utf8.count <= StackDecisions.templateBodyLimit else {
                throw DeployError.templateTooLarge("\(role.rawValue).template.json", bytes: body.utf8.count)
            }
            templates[role] = body
        }
        var outputs: [String: [String: String]] = [:]
        let tags = [("pgdr:deployment", spec.resourceName(spec.name))]
        for step in plan.steps {
            progress.say("step \(step.number)/\(plan.steps.count): \(step.stack) in \(step.region): \(step.why)")
            for input in step.inputs where outputs[input.stack] == nil {
                outputs[input.stack] = try await runner.call("DescribeStacks \(input.stack)") {
                    try await cloudFormation.stack(input.stack, region: input.region)?.outputs ?? [:]
                }
            }
            let (inputs, missing) = StackDecisions.parameters(step, outputs: outputs)
            guard missing.isEmpty else { throw DeployError.missingOutputs(stack: step.stack, missing) }
            let parameters = [("LambdaCodeBucket", codeBuckets[step.region] ?? ""), ("LambdaCodeKey", key)] + inputs
            outputs[step.stack] = try await runner.deploy(stack: step.stack, region: step.region, step: step.number,
                                                          template: templates[step.role] ?? "", parameters: parameters, tags: tags)
        }
        return outputs
    }

    /// Puts the zip under its content-addressed key in each region's bucket, unless it is there already.
    private func upload(_ runner: StackRunner) async throws -> String {
        let digest = SHA256.hash(data: functionsZip).map { String(format: "%02x", $0) }.joined()
        let key = StackDecisions.functionCodeKey(sha256: digest)
        let s3 = S3API(client: client)
        for region in [spec.primary.region, spec.dr.region] {
            let bucket = codeBuckets[region] ?? ""
            let there = try await runner.call("HeadObject s3://\(bucket)/\(key)") { try await s3.exists(bucket: bucket, key: key, region: region) }
            if there {
                progress.say("code: s3://\(bucket)/\(key) is already there")
            } else {
                try await runner.call("PutObject s3://\(bucket)/\(key)") { try await s3.put(bucket: bucket, key: key, region: region, data: functionsZip) }
                progress.say("code: uploaded s3://\(bucket)/\(key) (\(functionsZip.count / 1024) KiB)")
            }
        }
        return key
    }
}
