import DRSpec
import Foundation

/// The order to deploy the two regions in, resolving every cross-region
/// dependency: the replica needs the primary's ARN; bucket replication,
/// the secret's replica and peering need both sides. Each step is a shell
/// snippet that refuses to run when an output it needs is empty: an empty
/// PrimaryDBInstanceArn would drop the replica from the DR stack.
public struct DeployPlan: Sendable, Encodable {
    public struct Step: Sendable, Encodable {
        public var number: Int
        public var region: String
        public var stack: String
        public var template: String
        public var why: String
        public var command: String
    }

    public var steps: [Step]

    /// The shell variable naming the Lambda code bucket of a region: Lambda
    /// takes code only from a bucket in the function's own region.
    public static func codeBucketVariable(_ region: String) -> String {
        "CODE_BUCKET_" + region.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public static func make(_ spec: Spec) -> DeployPlan {
        let primaryStack = spec.resourceName("\(spec.name)-primary"), drStack = spec.resourceName("\(spec.name)-dr")
        /// Reads each output into a variable, refuses to go on when one is empty, then deploys.
        func deploy(_ stack: String, _ template: String, _ region: String, _ inputs: [(parameter: String, stack: String, region: String, output: String)]) -> String {
            let bucket = codeBucketVariable(region)
            var lines = ["[ -n \"${\(bucket):-}\" ] || { echo \"set \(bucket) to the Lambda code bucket in \(region)\" >&2; exit 1; }"]
            for input in inputs {
                let variable = input.parameter.uppercased()
                lines.append("\(variable)=$(aws cloudformation describe-stacks --region \(input.region) --stack-name \(input.stack) "
                             + "--query \"Stacks[0].Outputs[?OutputKey=='\(input.output)'].OutputValue\" --output text)")
                lines.append("[ -n \"$\(variable)\" ] && [ \"$\(variable)\" != None ] || { echo \"\(input.stack) has no \(input.output) output: "
                             + "refusing to deploy \(stack) without it\" >&2; exit 1; }")
            }
            lines.append((["aws cloudformation deploy --region \(region) --stack-name \(stack) --template-file \(template)",
                           "--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset",
                           "--parameter-overrides LambdaCodeBucket=\"$\(bucket)\""]
                          + inputs.map { "\($0.parameter)=\"$\($0.parameter.uppercased())\"" }).joined(separator: " "))
            return lines.joined(separator: "\n")
        }
        return DeployPlan(steps: [
            Step(number: 1, region: spec.dr.region, stack: drStack, template: "dr.template.json",
                 why: "DR region first, without the replica: its VPC, key and bucket are what the primary needs",
                 command: deploy(drStack, "dr.template.json", spec.dr.region, [])),
            Step(number: 2, region: spec.primary.region, stack: primaryStack, template: "primary.template.json",
                 why: "the primary, with bucket replication to the DR bucket, the master secret replicated with the DR key, and the peering connection to the DR VPC",
                 command: deploy(primaryStack, "primary.template.json", spec.primary.region, [
                     ("DrBucketArn", drStack, spec.dr.region, "BackupBucketArn"),
                     ("DrKeyArn", drStack, spec.dr.region, "DataKeyArn"),
                     ("DrVpcId", drStack, spec.dr.region, "VpcId"),
                 ])),
            Step(number: 3, region: spec.dr.region, stack: drStack, template: "dr.template.json",
                 why: "the DR region again: the cross-region read replica (it needs the primary's ARN), its alarms, and the peering route",
                 command: deploy(drStack, "dr.template.json", spec.dr.region, [
                     ("PrimaryDBInstanceArn", primaryStack, spec.primary.region, "DBInstanceArn"),
                     ("PeeringConnectionId", primaryStack, spec.primary.region, "PeeringConnectionId"),
                 ])),
        ])
    }

    public func markdown(_ spec: Spec) -> String {
        var text = "# Deploy plan: \(spec.resourceName(spec.name))\n\n"
        text += "Put the Lambda bootstrap zip (`pgdr/bootstrap.zip`) in a bucket in each region (Lambda takes code only from its own region) "
        text += "and set `\(Self.codeBucketVariable(spec.primary.region))` and `\(Self.codeBucketVariable(spec.dr.region))` to them. "
        text += "Run each step as a shell script (`sh -e`): a step stops before deploying when an output it needs is empty.\n"
        text += "If your account does not accept cross-region VPC peering by itself, accept it in \(spec.dr.region) after step 2 "
        text += "(`aws ec2 accept-vpc-peering-connection`).\n\n"
        for step in steps {
            text += "## \(step.number). \(step.stack) in \(step.region)\n\n\(step.why).\n\n```sh\n\(step.command)\n```\n\n"
        }
        text += "After a failover, do not re-run these steps as they are: the stacks still describe the old roles "
        text += "(the records and the replica). The DR database is retained by its stack whatever happens to the stack.\n"
        return text
    }
}
