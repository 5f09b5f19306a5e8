import DRSpec
import DRStatus
import Foundation

/// Pure: a node may rejoin as a standby only when another node is the
/// primary and the rejoining node is not itself taking writes.
public enum RejoinPlanner {
    /// `demotedBy`: the last promotion, when the journal says `name` gave the
    /// primary role up; then a node that still takes writes (a split brain)
    /// may be rejoined, its writes since being discarded, and the plan says so.
    public static func plan(node name: String, report: StatusReport, spec: Spec, id: String, now: Date,
                            demotedBy: Promotion? = nil) -> Result<OperationPlan, Refusal> {
        guard spec.nodes.contains(where: { $0.name == name }) else {
            return .failure(Refusal("no node named \(name) in the spec",
                                    hint: "choose one of \(spec.nodes.map(\.name).joined(separator: ", "))"))
        }
        let sample = report.nodes.first { $0.name == name }
        var warnings: [String] = []
        var discards = false
        if let sample, sample.reachable, sample.role == .primary {
            guard let demoted = demotedBy, demoted.from == name,
                  report.nodes.contains(where: { $0.name == demoted.to && $0.reachable && $0.role == .primary }) else {
                return .failure(Refusal("\(name) is still a writable primary",
                                        hint: "rejoining it would throw away writes it takes; fail over or switch over first"))
            }
            discards = true
            warnings.append("\(name) was demoted by \(demoted.operation) and still takes writes (split brain): it is fenced first, "
                            + "and pg_rewind discards what it wrote since")
        }
        if let sample, sample.reachable, sample.role == .standby, sample.isStreaming {
            return .failure(Refusal("\(name) already streams as a standby", hint: "nothing to do"))
        }
        guard let primary = report.nodes.first(where: { $0.reachable && $0.role == .primary && $0.name != name }) else {
            return .failure(Refusal("no reachable primary for \(name) to follow", hint: "check `pgdr status`"))
        }
        return .success(OperationPlan(
            id: id, kind: .rejoin, createdAt: now, from: name, to: primary.name, acceptedDataLoss: discards,
            oldPrimaryReachable: false, warnings: warnings,
            steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming]))
    }
}
