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
        /// Which of the two templates (primary or DR) this step deploys.
        public var role: RegionStack.Role
        public var why: String
        /// The outputs of earlier steps this one needs, as its parameters.
        public var inputs: [Input]
        public var command: String
    }

    /// A parameter of a step, read from an output of a stack deployed before it.
    public struct Input: Sendable, Encodable, Hashable {
        public var parameter: String
        public var stack: String
        public var region: String
        public var output: String
    }

    public var steps: [Step]

    /// The shell variable naming the Lambda code bucket of a region: Lambda
    /// takes code only from a bucket in the function's own region.
    public static func codeBucketVariable(_ region: String) -> String {
        "CODE_BUCKET_" + region.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public static func make(_ spec: Spec) -> DeployPlan {
        let primaryStack = AWSRules.stackName(spec, dr: false), drStack = AWSRules.stackName(spec, dr: true)
        /// Reads each output into a variable, refuses to go on when one is empty, then deploys.
        func deploy(_ stack: String, _ template: String, _ region: String, _ inputs: [Input]) -> String {
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
        func step(_ number: Int, _ role: RegionStack.Role, why: String, _ inputs: [Input]) -> Step {
            let (stack, region, template) = role == .primary
                ? (primaryStack, spec.primary.region, "primary.template.json") : (drStack, spec.dr.region, "dr.template.json")
            return Step(number: number, region: region, stack: stack, template: template, role: role, why: why, inputs: inputs,
                        command: deploy(stack, template, region, inputs))
        }
        return DeployPlan(steps: [
            step(1, .dr, why: "DR region first, without the replica: its VPC, key and bucket are what the primary needs", []),
            step(2, .primary, why: "the primary, with bucket replication to the DR bucket, the master secret replicated with the DR key, and the peering connection to the DR VPC", [
                Input(parameter: "DrBucketArn", stack: drStack, region: spec.dr.region, output: "BackupBucketArn"),
                Input(parameter: "DrKeyArn", stack: drStack, region: spec.dr.region, output: "DataKeyArn"),
                Input(parameter: "DrVpcId", stack: drStack, region: spec.dr.region, output: "VpcId"),
            ]),
            step(3, .dr, why: "the DR region again: the cross-region read replica (it needs the primary's ARN), its alarms, and the peering route", [
                Input(parameter: "PrimaryDBInstanceArn", stack: primaryStack, region: spec.primary.region, output: "DBInstanceArn"),
                Input(parameter: "PeeringConnectionId", stack: primaryStack, region: spec.primary.region, output: "PeeringConnectionId"),
            ]),
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
