import DRSpec
import DRStatus
import Foundation

/// The value of the leader key: who holds the primary role.
public struct LeaderRecord: Sendable, Hashable, Codable {
    public var node: String
    public var since: Date
    /// The operation that gave it the role, when one did.
    public var operation: String?
    public init(node: String, since: Date, operation: String? = nil) {
        self.node = node
        self.since = since
        self.operation = operation
    }
}

/// What an agent publishes about its node under `members/NAME`, with its own
/// lease: a member whose agent is gone or cut off disappears with its lease.
public struct MemberRecord: Sendable, Hashable, Codable {
    public var node: String
    /// The agent's HTTP API (for failsafe calls between agents).
    public var api: String
    public var sample: NodeSample
    public var fenced: Bool
    /// The agent's latest decision, in words ("primary: leader lease renewed").
    public var decision: String?
    public var at: Date
    public init(node: String, api: String, sample: NodeSample, fenced: Bool, decision: String? = nil, at: Date) {
        self.node = node
        self.api = api
        self.sample = sample
        self.fenced = fenced
        self.decision = decision
        self.at = at
    }
}

/// An operation requested through the DCS (manual mode, switchover, rejoin):
/// the plan, its approval, and where the agents have got to.
public struct OperationRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Planned, waiting for `pgdr approve`.
        case planned
        /// Approved: the agents act on it.
        case approved
        /// Switchover: the old primary stopped writes; its final checkpoint is known.
        case writesStopped = "writes-stopped"
        /// The new primary took the leader key and was promoted.
        case promoted
        case done
        case failed
    }
    public var plan: OperationPlan
    public var state: State
    public var approvedAt: Date?
    /// Switchover: the old primary's final checkpoint, which the new one must replay past.
    public var finalCheckpoint: LSN?
    public var outcome: OperationOutcome?
    public var detail: String?
    public var updatedAt: Date

    public init(plan: OperationPlan, state: State, approvedAt: Date? = nil, updatedAt: Date) {
        self.plan = plan
        self.state = state
        self.approvedAt = approvedAt
        self.updatedAt = updatedAt
    }
}

/// Pure: what the agent beside one node does this round, from what it sees
/// of its own server and of the DCS. The rules, in order:
///
/// - A primary writes only while it holds the leader key under a live lease.
///   It renews the lease every round; when the DCS does not answer it asks
///   its peer to acknowledge it (failsafe); with neither, it demotes itself
///   `demoteMargin` before the lease can end, so it has stopped taking writes
///   before anyone else can take the key.
/// - A primary that sees the key held by another demotes at once.
/// - A standby promotes only after it took the key (a create that succeeds
///   only when nobody holds it): in automatic mode when the key is free, in
///   manual mode when an approved, unexpired plan names it.
/// - A standby that acknowledged a primary's failsafe call holds off taking
///   the key until that acknowledgement runs out.
/// - A demoted old primary rejoins the new leader by itself in automatic
///   mode; in manual mode it waits for `pgdr rejoin`.
public enum HADecision {
    public struct View: Sendable, Hashable {
        public var me: String
        public var mode: Failover.Mode
        /// My server's role; nil when it does not answer.
        public var role: NodeRole?
        public var fenced: Bool
        public var dcsReachable: Bool
        /// The leader key (when the DCS answered).
        public var leader: LeaderRecord?
        /// Until when my own leader lease is certainly alive (local estimate).
        public var leaseValidUntil: Date?
        public var now: Date
        public var margin: TimeInterval
        /// I acknowledged another primary's failsafe call until then.
        public var holdoffUntil: Date?
        /// This round's failsafe call to the peer: nil not tried, else acknowledged or not.
        public var peerAcknowledged: Bool?
        /// An approved, unexpired operation that moves the role (manual failover, switchover).
        public var approved: OperationRecord?
        /// Automatic mode: why the RPO guard refuses a takeover now (nil: it allows it).
        public var takeoverRefusal: String?
        /// The node named by the last primary position saved in the DCS: the
        /// last one that held the key as a primary (its data is the newest).
        public var lastPrimary: String?
        /// A peer whose agent reported a newer timeline than mine: a primary
        /// that sees one must not take a free key (it would bring back a
        /// history the cluster has moved past).
        public var newerTimelineOn: String?
        /// The leader's own agent reports its server as a reachable primary:
        /// a node rejoins the leader only once the leader has promoted
        /// (between taking the key and promoting, there is nothing to follow).
        public var leaderIsPrimary: Bool

        public init(me: String, mode: Failover.Mode, role: NodeRole?, fenced: Bool, dcsReachable: Bool,
                    leader: LeaderRecord?, leaseValidUntil: Date?, now: Date, margin: TimeInterval,
                    holdoffUntil: Date? = nil, peerAcknowledged: Bool? = nil, approved: OperationRecord? = nil,
                    takeoverRefusal: String? = nil, newerTimelineOn: String? = nil, lastPrimary: String? = nil,
                    leaderIsPrimary: Bool = false) {
            self.me = me
            self.mode = mode
            self.role = role
            self.fenced = fenced
            self.dcsReachable = dcsReachable
            self.leader = leader
            self.leaseValidUntil = leaseValidUntil
            self.now = now
            self.margin = margin
            self.holdoffUntil = holdoffUntil
            self.peerAcknowledged = peerAcknowledged
            self.approved = approved
            self.takeoverRefusal = takeoverRefusal
            self.newerTimelineOn = newerTimelineOn
            self.lastPrimary = lastPrimary
            self.leaderIsPrimary = leaderIsPrimary
        }
    }

    public enum Action: Sendable, Hashable {
        /// I hold the key: renew my lease.
        case renew
        /// I am the primary and nobody holds the key: take it.
        case acquire
        /// The DCS does not answer: ask the peer to acknowledge me.
        case askPeer
        /// Stop taking writes now (fence my own server).
        case demote(String)
        /// Try to take the free key; promote if that succeeds.
        case takeOver(String)
        /// I hold the key and my server is a standby: promote it.
        case promote(String)
        /// My server is down and I hold the key: give it up (and fence).
        case release(String)
        /// Become a standby of the leader (pg_rewind), lifting my fence.
        case rejoin(String)
        /// My server is stopped and nothing stands against starting it.
        case start(String)
        /// Nobody holds the key and I was the last primary, demoted by my own
        /// lease (etcd trouble, not a failover): take the key, lift my fence, start.
        case reclaim(String)
        /// I hold the key under a live lease and my server is a read-only primary
        /// (a weak fence from an earlier demotion, kept in its settings): lift it.
        case allowWrites(String)
        /// Switchover, old primary: stop writes cleanly and hand the key over.
        case stopWritesForSwitchover
        case wait(String)
    }

    /// How long an old primary that stopped writes for a switchover waits
    /// for the new one to take the key before it takes its role back: the
    /// new primary's wait to replay the final checkpoint (30 s), and margin.
    public static let handoverLimit: TimeInterval = 60

    public static func next(_ v: View) -> Action {
        switch v.role {
        case .writablePrimary?, .readOnlyPrimary?:
            return primary(v)
        case .standby?:
            return standby(v)
        case nil:
            return down(v)
        }
    }

    static func primary(_ v: View) -> Action {
        if let approved = v.approved, approved.plan.from == v.me {
            if approved.plan.kind == .switchover { return .stopWritesForSwitchover }
            return .demote("operation \(approved.plan.id) moves the primary role to \(approved.plan.to)")
        }
        if v.dcsReachable {
            guard let leader = v.leader else {
                if let newer = v.newerTimelineOn { return .demote("the leader key is free, but \(newer) is on a newer timeline") }
                // Another node took the key after this one and was the primary last: its
                // history is newer even when its agent cannot say so now (its server down).
                if let last = v.lastPrimary, last != v.me {
                    return .demote("the leader key is free, but \(last) was the primary after this node")
                }
                return .acquire
            }
            if leader.node == v.me {
                if v.role == .readOnlyPrimary, let valid = v.leaseValidUntil, v.now < valid.addingTimeInterval(-v.margin) {
                    return .allowWrites("this node holds the leader key under a live lease but refuses writes (an earlier weak fence)")
                }
                return .renew
            }
            return .demote("\(leader.node) holds the leader key")
        }
        // The DCS does not answer: only a live lease (or the peer's word) keeps writes going.
        let deadline = v.leaseValidUntil.map { $0.addingTimeInterval(-v.margin) }
        guard let deadline, v.now < deadline else {
            if v.peerAcknowledged == true { return .wait("the DCS does not answer; the peer acknowledges this primary (failsafe)") }
            // An agent that just started knows no lease of its own: the peer's word may keep the primary up.
            // Past a known deadline there is no time to ask: the peer may take the key when the lease ends.
            if v.leaseValidUntil == nil && v.peerAcknowledged == nil { return .askPeer }
            return .demote("the leader lease could not be renewed (the DCS does not answer) and the peer did not acknowledge this primary")
        }
        if v.peerAcknowledged == nil { return .askPeer }
        return .wait("the DCS does not answer; the lease holds until \(deadline.formatted(.iso8601))")
    }

    static func standby(_ v: View) -> Action {
        if let leader = v.leader, leader.node == v.me {
            return .promote("this node holds the leader key")
        }
        guard v.dcsReachable else { return .wait("the DCS does not answer: no promotion without the key") }
        guard v.leader == nil else {
            return .wait("\(v.leader?.node ?? "?") holds the leader key")
        }
        if let holdoff = v.holdoffUntil, v.now < holdoff {
            return .wait("acknowledged the primary's failsafe call until \(holdoff.formatted(.iso8601))")
        }
        if let approved = v.approved, approved.plan.to == v.me {
            // A switchover takes the key only once the old primary has stopped writes and published its final checkpoint.
            if approved.plan.kind == .switchover && approved.state != .writesStopped {
                return .wait("switchover \(approved.plan.id): waiting for the primary to stop writes")
            }
            return .takeOver("operation \(approved.plan.id) was approved")
        }
        guard v.mode == .automatic else {
            return .wait("manual mode: the leader key is free; a failover waits for `pgdr failover` and `pgdr approve`")
        }
        if let refusal = v.takeoverRefusal { return .wait("automatic failover refused: \(refusal)") }
        return .takeOver("the leader key is free: its holder's lease ended")
    }

    /// My server does not answer. Its agent decides how it comes back: as
    /// the primary only while it holds the key (or nobody does), else fenced
    /// and, in automatic mode, rejoined as a standby of the leader.
    static func down(_ v: View) -> Action {
        guard v.dcsReachable else { return .wait("the server does not answer, and neither does the DCS: nothing is started") }
        if let holdoff = v.holdoffUntil, v.now < holdoff {
            return .wait("acknowledged the primary's failsafe call until \(holdoff.formatted(.iso8601)): nothing is started")
        }
        guard let leader = v.leader else {
            // A switchover this node handed over: the new primary takes the key once it has
            // replayed the final checkpoint. Until the hand-over limit, nothing starts here
            // (taking the role back at once made a loop: stop, reclaim, stop, ... and the
            // final checkpoint moved on each time, out of the new primary's reach).
            if let handover = v.approved, handover.plan.kind == .switchover, handover.plan.from == v.me,
               handover.state == .writesStopped {
                let limit = handover.updatedAt.addingTimeInterval(Self.handoverLimit)
                if v.now < limit {
                    return .wait("switchover \(handover.plan.id): writes stopped here; \(handover.plan.to) takes the leader key "
                                 + "once it has replayed them (until \(limit.formatted(.iso8601)))")
                }
                return .reclaim("switchover \(handover.plan.id): \(handover.plan.to) did not take the leader key within "
                                + "\(Int(Self.handoverLimit)) s of the writes stopping here; this node takes the primary role back")
            }
            if v.fenced {
                if v.lastPrimary == v.me && v.newerTimelineOn == nil {
                    return .reclaim("nobody holds the leader key and this node was the last primary (it demoted itself when its lease could not be renewed)")
                }
                return .wait("fenced, and nobody holds the leader key: waiting for an operator (`pgdr rejoin` or `pgdr approve`)")
            }
            // Only the last primary (or any node, before there was one) may start when the key
            // is free: an older primary started here would take the key and bring back a
            // history the cluster moved past (seen: a lost primary restarted while its
            // successor's lease had lapsed under load took the key back).
            if let last = v.lastPrimary, last != v.me {
                return .wait("nobody holds the leader key, but \(last) was the last primary: nothing is started here "
                             + "(\(last)'s agent takes the key back, or an operator decides)")
            }
            return .start("nobody holds the leader key")
        }
        if leader.node == v.me {
            if v.fenced { return .release("this node holds the key but is fenced") }
            return .start("this node holds the leader key")
        }
        if v.mode == .automatic || (v.approved?.plan.from == v.me && v.approved?.plan.kind != .failover) {
            guard v.leaderIsPrimary else {
                if !v.fenced { return .demote("\(leader.node) holds the leader key: this node must not start writable") }
                return .wait("\(leader.node) holds the leader key but is not a primary yet: rejoining it once it is")
            }
            return .rejoin("\(leader.node) holds the leader key")
        }
        if !v.fenced { return .demote("\(leader.node) holds the leader key: this node must not start writable") }
        return .wait("fenced; `pgdr rejoin \(v.me)` makes it a standby of \(leader.node)")
    }
}
