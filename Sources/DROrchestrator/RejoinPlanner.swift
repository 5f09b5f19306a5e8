import DRSpec
import DRStatus
import Foundation

/// Pure: a node may rejoin as a standby only when another node is the
/// primary and the rejoining node is not itself taking writes.
public enum RejoinPlanner {
    public static func plan(node name: String, report: StatusReport, spec: Spec, id: String, now: Date) -> Result<OperationPlan, Refusal> {
        guard spec.nodes.contains(where: { $0.name == name }) else {
            return .failure(Refusal("no node named \(name) in the spec",
                                    hint: "choose one of \(spec.nodes.map(\.name).joined(separator: ", "))"))
        }
        let sample = report.nodes.first { $0.name == name }
        if let sample, sample.reachable, sample.role == .primary {
            return .failure(Refusal("\(name) is still a writable primary",
                                    hint: "rejoining it would throw away writes it takes; fail over or switch over first"))
        }
        if let sample, sample.reachable, sample.role == .standby, sample.isStreaming {
            return .failure(Refusal("\(name) already streams as a standby", hint: "nothing to do"))
        }
        guard let primary = report.nodes.first(where: { $0.reachable && $0.role == .primary && $0.name != name }) else {
            return .failure(Refusal("no reachable primary for \(name) to follow", hint: "check `pgdr status`"))
        }
        return .success(OperationPlan(
            id: id, kind: .rejoin, createdAt: now, from: name, to: primary.name, oldPrimaryReachable: false,
            steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming]))
    }
}
