import DRControl
import DRStatus
import Foundation

/// `ClusterObserver` on the RDS API: a status report from both instances,
/// and roles from DescribeDBInstances (a replica is a standby; a standalone
/// instance whose parameter group is pgdr's fence is a read-only primary).
public struct RDSObserver: ClusterObserver {
    public let deployment: RDSDeployment

    public init(deployment: RDSDeployment) { self.deployment = deployment }

    public func observe() async -> StatusReport {
        RDSEvaluator.evaluate(await deployment.samples(), thresholds: deployment.spec.monitoring.thresholds)
    }

    public func roles(of nodes: [String], timeout: Duration) async -> [String: NodeRole?] {
        await withTaskGroup(of: (String, NodeRole?).self) { group in
            for name in nodes {
                group.addTask {
                    guard let instance = try? await deployment.describe(name) else { return (name, nil) }
                    let fenced = deployment.spec.aws.fenceParameterGroup.map { $0 == instance.parameterGroup } ?? false
                    guard deployment.details(instance).serving else { return (name, nil) }
                    return (name, instance.isReplica ? .standby : fenced ? .readOnlyPrimary : .writablePrimary)
                }
            }
            var out: [String: NodeRole?] = [:]
            for await (name, role) in group { out[name] = role }
            return out
        }
    }
}
