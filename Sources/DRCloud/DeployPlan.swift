import DRSpec
import Foundation

/// The order to deploy the two regions in, resolving every cross-region
/// dependency: the replica needs the primary's ARN; bucket replication and
/// peering need both sides.
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

    public static func make(_ spec: Spec) -> DeployPlan {
        let primaryStack = spec.resourceName("\(spec.name)-primary"), drStack = spec.resourceName("\(spec.name)-dr")
        func deploy(_ stack: String, _ template: String, _ region: String, _ overrides: [String]) -> String {
            (["aws cloudformation deploy --region \(region) --stack-name \(stack) --template-file \(template)",
              "--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset",
              "--parameter-overrides LambdaCodeBucket=$CODE_BUCKET"] + overrides).joined(separator: " ")
        }
        func output(_ stack: String, _ region: String, _ key: String) -> String {
            "$(aws cloudformation describe-stacks --region \(region) --stack-name \(stack) --query \"Stacks[0].Outputs[?OutputKey=='\(key)'].OutputValue\" --output text)"
        }
        return DeployPlan(steps: [
            Step(number: 1, region: spec.dr.region, stack: drStack, template: "dr.template.json",
                 why: "DR region first, without the replica: its VPC, key and bucket are what the primary needs",
                 command: deploy(drStack, "dr.template.json", spec.dr.region, [])),
            Step(number: 2, region: spec.primary.region, stack: primaryStack, template: "primary.template.json",
                 why: "the primary, with bucket replication to the DR bucket and the peering connection to the DR VPC",
                 command: deploy(primaryStack, "primary.template.json", spec.primary.region, [
                     "DrBucketArn=\(output(drStack, spec.dr.region, "BackupBucketArn"))",
                     "DrKeyArn=\(output(drStack, spec.dr.region, "DataKeyArn"))",
                     "DrVpcId=\(output(drStack, spec.dr.region, "VpcId"))",
                 ])),
            Step(number: 3, region: spec.dr.region, stack: drStack, template: "dr.template.json",
                 why: "the DR region again: the cross-region read replica (it needs the primary's ARN), its alarms, and the peering route",
                 command: deploy(drStack, "dr.template.json", spec.dr.region, [
                     "PrimaryDBInstanceArn=\(output(primaryStack, spec.primary.region, "DBInstanceArn"))",
                     "PeeringConnectionId=\(output(primaryStack, spec.primary.region, "PeeringConnectionId"))",
                 ])),
        ])
    }

    public func markdown(_ spec: Spec) -> String {
        var text = "# Deploy plan: \(spec.resourceName(spec.name))\n\n"
        text += "Set `CODE_BUCKET` to the S3 bucket holding `pgdr/bootstrap.zip` (the Lambda bootstrap), then run the steps in order.\n"
        text += "If your account does not accept cross-region VPC peering by itself, accept it in \(spec.dr.region) after step 2 "
        text += "(`aws ec2 accept-vpc-peering-connection`).\n\n"
        for step in steps {
            text += "## \(step.number). \(step.stack) in \(step.region)\n\n\(step.why).\n\n```sh\n\(step.command)\n```\n\n"
        }
        return text
    }
}
