import Foundation

/// The DCS as `pgdr status` shows it in quorum mode: who holds the leader
/// key and for how long yet, and what each node's agent last published.
public struct QuorumView: Sendable, Codable, Hashable {
    public var reachable: Bool
    /// Why etcd could not be read.
    public var error: String?
    /// The node named by the leader key; nil when nobody holds it.
    public var leader: String?
    public var leaderSince: Date?
    /// What etcd says is left of the holder's lease (whole seconds).
    public var leaseSecondsLeft: Double?
    public var members: [Member]

    public struct Member: Sendable, Codable, Hashable {
        public var node: String
        /// The role the node's agent saw; nil when its server did not answer it.
        public var role: NodeSample.Role?
        public var fenced: Bool
        /// The agent's latest decision, in words.
        public var decision: String?
        /// How old the record is.
        public var ageSeconds: Double
        public init(node: String, role: NodeSample.Role?, fenced: Bool, decision: String?, ageSeconds: Double) {
            self.node = node
            self.role = role
            self.fenced = fenced
            self.decision = decision
            self.ageSeconds = ageSeconds
        }
    }

    public init(reachable: Bool, error: String? = nil, leader: String? = nil, leaderSince: Date? = nil,
                leaseSecondsLeft: Double? = nil, members: [Member] = []) {
        self.reachable = reachable
        self.error = error
        self.leader = leader
        self.leaderSince = leaderSince
        self.leaseSecondsLeft = leaseSecondsLeft
        self.members = members
    }

    /// Lines for the status table.
    public var rendered: String {
        guard reachable else { return "quorum: etcd UNREACHABLE (\(error ?? "no answer"))\n" }
        var out = "quorum: leader key " + (leader.map { name in
            "held by \(name)" + (leaseSecondsLeft.map { String(format: ", lease %.0fs left", $0) } ?? "")
        } ?? "FREE (no node may take writes)") + "\n"
        for m in members {
            let role = m.role?.rawValue ?? "server not answering"
            out += "  agent \(m.node): \(role)\(m.fenced ? ", fenced" : ""), \(m.decision ?? "-")"
                + String(format: " (%.1fs ago)", m.ageSeconds) + "\n"
        }
        return out
    }
}
