import DRSpec

/// Builds one region's template from composable units. `Role.primary` holds
/// the primary DB instance and the replicating backup bucket; `Role.dr` the
/// cross-region read replica and the replication target.
public struct RegionStack {
    public enum Role: String, Sendable, Encodable { case primary, dr }

    let spec: Spec
    let role: Role
    var template: CFTemplate

    public var site: RegionSite { role == .primary ? spec.primary : spec.dr }
    public var peer: RegionSite { role == .primary ? spec.dr : spec.primary }
    var suffix: String { spec.environment }
    func name(_ base: String) -> String { "\(spec.name)-\(base)-\(suffix)" }

    /// Tags from the spec, on every resource that takes them.
    var tags: CFValue {
        .list((spec.tags.sorted { $0.key < $1.key }.map { ["Key": .string($0.key), "Value": .string($0.value)] })
              + [["Key": "pgdr:deployment", "Value": .string(spec.resourceName(spec.name))],
                 ["Key": "pgdr:role", "Value": .string(role.rawValue)]])
    }

    public static func build(_ spec: Spec, role: Role) -> CFTemplate {
        var stack = RegionStack(spec: spec, role: role, template: CFTemplate(
            description: "pgdr \(spec.resourceName(spec.name)): \(role == .primary ? "primary" : "DR") region \(role == .primary ? spec.primary.region : spec.dr.region)"))
        stack.addParameters()
        stack.addSecurity()
        stack.addNetwork()
        stack.addDatabase()
        stack.addStorage()
        stack.addMonitoring()
        stack.addFunctions()
        stack.addDNS()
        return stack.template
    }

    mutating func addParameters() {
        template.parameters["LambdaCodeBucket"] = CFParameter("S3 bucket in this stack's region holding the pgdr Lambda bootstrap zip (provided.al2023): Lambda takes code only from its own region")
        template.parameters["LambdaCodeKey"] = CFParameter("S3 key of the bootstrap zip", default: "pgdr/bootstrap.zip")
        if role == .dr {
            template.parameters["PrimaryDBInstanceArn"] = CFParameter("ARN of the primary DB instance (output DBInstanceArn of the primary stack); empty on the first deploy", default: "")
            template.conditions["HasPrimary"] = ["Fn::Not": [["Fn::Equals": [.ref("PrimaryDBInstanceArn"), ""]]]]
            template.parameters["PeeringConnectionId"] = CFParameter("VPC peering connection id (output PeeringConnectionId of the primary stack)", default: "")
            template.conditions["HasPeering"] = ["Fn::Not": [["Fn::Equals": [.ref("PeeringConnectionId"), ""]]]]
        } else {
            template.parameters["DrBucketArn"] = CFParameter("ARN of the DR backup bucket (output BackupBucketArn of the DR stack)", default: "")
            template.parameters["DrKeyArn"] = CFParameter("ARN of the DR region's KMS key (output DataKeyArn of the DR stack)", default: "")
            template.parameters["DrVpcId"] = CFParameter("VPC id in the DR region (output VpcId of the DR stack)", default: "")
            template.conditions["HasDrBucket"] = ["Fn::Not": [["Fn::Equals": [.ref("DrBucketArn"), ""]]]]
            template.conditions["HasDrVpc"] = ["Fn::Not": [["Fn::Equals": [.ref("DrVpcId"), ""]]]]
            template.conditions["HasDrKey"] = ["Fn::Not": [["Fn::Equals": [.ref("DrKeyArn"), ""]]]]
        }
    }
}
