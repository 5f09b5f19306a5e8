import DRDCS
import DROrchestrator
import DRSpec
import DRStatus
import Foundation

extension Quorum {
    /// What `pgdr status` shows of the DCS, and the problems it finds there:
    /// etcd unreachable, nobody holding the key, the key naming a node that
    /// is not the writable primary, an agent that stopped publishing.
    public func view(report: StatusReport, now: Date = Date()) async -> (view: QuorumView, problems: [StatusReport.Problem]) {
        do {
            let leader = try await self.leader()
            let left = try await leader?.lease.asyncMap { try await dcs.timeToLive($0) } ?? nil
            let members = try await self.members().sorted { $0.node < $1.node }
            let view = QuorumView(
                reachable: true, leader: leader?.record.node, leaderSince: leader?.record.since,
                leaseSecondsLeft: left.map { Double($0.components.seconds) },
                members: members.map {
                    .init(node: $0.node, role: $0.sample.reachable ? $0.sample.role : nil, fenced: $0.fenced,
                          decision: $0.decision, ageSeconds: max(0, now.timeIntervalSince($0.at)))
                })
            var problems: [StatusReport.Problem] = []
            let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }.map(\.name)
            if let holder = leader?.record.node {
                for name in primaries where name != holder {
                    problems.append(.init(node: name, message: "a primary, but \(holder) holds the leader key (its agent demotes it)"))
                }
            } else {
                problems.append(.init(node: nil, message: "nobody holds the leader key: no node may take writes"))
            }
            let published = Set(members.map(\.node))
            for node in report.nodes.map(\.name) where !published.contains(node) {
                problems.append(.init(node: node, message: "its agent publishes nothing in etcd (agent down, or its region cut off)"))
            }
            return (view, problems)
        } catch {
            return (QuorumView(reachable: false, error: "\(error)"), [.init(node: nil, message: "etcd unreachable: \(error)")])
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
