import DRSpec
import DRStatus
import Foundation
import Testing
@testable import DROrchestrator

/// The quorum rules, one decision at a time (the agents and etcd around
/// them are tested on real servers in QuorumTests).
@Suite struct HADecisionTests {
    func view(_ role: NodeRole?, me: String = "pg1", mode: Failover.Mode = .automatic, leader: String? = nil,
              reachable: Bool = true, leaseLeft: TimeInterval? = nil, fenced: Bool = false) -> HADecision.View {
        HADecision.View(me: me, mode: mode, role: role, fenced: fenced, dcsReachable: reachable,
                        leader: leader.map { LeaderRecord(node: $0, since: now) },
                        leaseValidUntil: leaseLeft.map { now.addingTimeInterval($0) }, now: now, margin: 0.5)
    }

    func operation(_ kind: OperationKind, from: String, to: String, state: OperationRecord.State = .approved) -> OperationRecord {
        OperationRecord(plan: OperationPlan(id: "\(kind.rawValue)-00000001", kind: kind, createdAt: now, from: from, to: to,
                                            oldPrimaryReachable: true, steps: []),
                        state: state, updatedAt: now)
    }

    @Test func primaryHoldingTheKeyRenewsAndOneWithoutTakesAFreeKey() {
        #expect(HADecision.next(view(.writablePrimary, leader: "pg1", leaseLeft: 1.5)) == .renew)
        #expect(HADecision.next(view(.writablePrimary, leader: nil)) == .acquire)
    }

    /// A weak fence (read-only through SQL) persists in the server's settings: the
    /// legitimate primary, holding the key under a live lease, lifts it; without a
    /// live lease it does not.
    @Test func aReadOnlyPrimaryHoldingTheKeyAllowsWritesAgain() {
        guard case .allowWrites = HADecision.next(view(.readOnlyPrimary, leader: "pg1", leaseLeft: 1.5)) else {
            Issue.record("the key's holder must not stay read-only"); return
        }
        #expect(HADecision.next(view(.readOnlyPrimary, leader: "pg1", leaseLeft: 0.2)) == .renew, "lease about to end: renew first")
        #expect(HADecision.next(view(.readOnlyPrimary, leader: "pg1", leaseLeft: nil)) == .renew)
        guard case .demote = HADecision.next(view(.readOnlyPrimary, leader: "pg2", leaseLeft: 1.5)) else {
            Issue.record("another holder: still demote"); return
        }
    }

    @Test func primarySeeingAnotherHolderDemotesAtOnce() {
        guard case .demote(let why) = HADecision.next(view(.writablePrimary, leader: "pg2", leaseLeft: 1.5)) else {
            Issue.record("a primary that sees pg2 holding the key must demote")
            return
        }
        #expect(why.contains("pg2 holds the leader key"))
    }

    @Test func primaryOnAStaleTimelineDoesNotTakeAFreeKey() {
        var v = view(.writablePrimary, leader: nil)
        v.newerTimelineOn = "pg2"
        guard case .demote(let why) = HADecision.next(v) else { Issue.record("expected a demotion"); return }
        #expect(why.contains("newer timeline"))
    }

    @Test func dcsUnreachableAsksThePeerWhileTheLeaseHoldsAndDemotesBeforeItEnds() {
        // Lease alive beyond the margin: ask the peer (failsafe), then wait.
        var v = view(.writablePrimary, leader: "pg1", reachable: false, leaseLeft: 1.5)
        #expect(HADecision.next(v) == .askPeer)
        v.peerAcknowledged = false
        if case .wait = HADecision.next(v) {} else { Issue.record("a live lease keeps writes going") }
        // Inside the margin, no acknowledgement: demote, without spending time on asking.
        v = view(.writablePrimary, leader: "pg1", reachable: false, leaseLeft: 0.4)
        if case .demote = HADecision.next(v) {} else { Issue.record("inside the margin the primary must demote") }
        // The peer acknowledged: writes go on (the peer holds off for a lease's length).
        v.peerAcknowledged = true
        if case .wait = HADecision.next(v) {} else { Issue.record("an acknowledged primary keeps going") }
    }

    @Test func anAgentThatJustStartedAsksThePeerBeforeDemoting() {
        var v = view(.writablePrimary, reachable: false, leaseLeft: nil)
        #expect(HADecision.next(v) == .askPeer)
        v.peerAcknowledged = false
        if case .demote = HADecision.next(v) {} else { Issue.record("no lease, no acknowledgement: demote") }
    }

    @Test func standbyPromotesOnlyWithTheKey() {
        // The DCS does not answer: never promote.
        if case .wait = HADecision.next(view(.standby, me: "pg2", reachable: false)) {} else { Issue.record("no key, no promotion") }
        // Someone holds the key: wait.
        if case .wait = HADecision.next(view(.standby, me: "pg2", leader: "pg1")) {} else { Issue.record("the key is held") }
        // Free key, automatic: try to take it.
        if case .takeOver = HADecision.next(view(.standby, me: "pg2")) {} else { Issue.record("automatic mode takes a free key") }
        // Free key, manual: wait for an approval.
        if case .wait(let why) = HADecision.next(view(.standby, me: "pg2", mode: .manual)) {
            #expect(why.contains("pgdr approve"))
        } else { Issue.record("manual mode waits for approval") }
        // I hold the key already (a takeover interrupted before promotion): promote.
        if case .promote = HADecision.next(view(.standby, me: "pg2", leader: "pg2")) {} else { Issue.record("holder promotes") }
    }

    @Test func theRPOGuardAndAFailsafeAcknowledgementHoldATakeoverBack() {
        var v = view(.standby, me: "pg2")
        v.takeoverRefusal = "estimated data loss 5m exceeds 1m"
        if case .wait(let why) = HADecision.next(v) { #expect(why.contains("5m")) } else { Issue.record("RPO guard") }
        v = view(.standby, me: "pg2")
        v.holdoffUntil = now.addingTimeInterval(1)
        if case .wait(let why) = HADecision.next(v) { #expect(why.contains("failsafe")) } else { Issue.record("holdoff") }
        v.holdoffUntil = now.addingTimeInterval(-0.1)
        if case .takeOver = HADecision.next(v) {} else { Issue.record("an expired holdoff no longer holds back") }
    }

    @Test func manualModeActsOnAnApprovedPlanAndASwitchoverWaitsForStoppedWrites() {
        var v = view(.standby, me: "pg2", mode: .manual)
        v.approved = operation(.failover, from: "pg1", to: "pg2")
        if case .takeOver = HADecision.next(v) {} else { Issue.record("an approved failover takes the free key") }
        v.approved = operation(.switchover, from: "pg1", to: "pg2")
        if case .wait = HADecision.next(v) {} else { Issue.record("a switchover waits until writes stopped") }
        v.approved = operation(.switchover, from: "pg1", to: "pg2", state: .writesStopped)
        if case .takeOver = HADecision.next(v) {} else { Issue.record("then takes the key") }
        // The old primary's side.
        var p = view(.writablePrimary, mode: .manual, leader: "pg1", leaseLeft: 1.5)
        p.approved = operation(.switchover, from: "pg1", to: "pg2")
        #expect(HADecision.next(p) == .stopWritesForSwitchover)
        p.approved = operation(.failover, from: "pg1", to: "pg2")
        if case .demote = HADecision.next(p) {} else { Issue.record("an approved failover demotes the old primary") }
    }

    @Test func aDownServerComesBackAsTheKeySays() {
        if case .start = HADecision.next(view(nil, leader: "pg1")) {} else { Issue.record("the holder starts its server") }
        if case .start = HADecision.next(view(nil, leader: nil)) {} else { Issue.record("nobody holds the key: start") }
        if case .release = HADecision.next(view(nil, leader: "pg1", fenced: true)) {} else { Issue.record("fenced holder releases") }
        if case .wait = HADecision.next(view(nil, leader: nil, fenced: true)) {} else { Issue.record("fenced, free key: wait") }
        if case .wait = HADecision.next(view(nil, reachable: false)) {} else { Issue.record("no DCS: start nothing") }
        // Another holds the key: automatic rejoins, manual fences and waits for `pgdr rejoin`.
        // Only once the leader has promoted: between taking the key and
        // promoting there is no primary to follow (a switchover failed on it).
        var promoting = view(nil, leader: "pg2", fenced: true)
        if case .wait(let why) = HADecision.next(promoting) {
            #expect(why.contains("not a primary yet"))
        } else { Issue.record("a leader that has not promoted yet is not rejoined") }
        promoting.leaderIsPrimary = true
        if case .rejoin = HADecision.next(promoting) {} else { Issue.record("automatic rejoins a promoted leader") }
        if case .demote = HADecision.next(view(nil, mode: .manual, leader: "pg2")) {} else { Issue.record("manual fences first") }
        if case .wait(let why) = HADecision.next(view(nil, mode: .manual, leader: "pg2", fenced: true)) {
            #expect(why.contains("pgdr rejoin pg1"))
        } else { Issue.record("manual waits for pgdr rejoin") }
        var v = view(nil, mode: .manual, leader: "pg2", fenced: true)
        v.approved = operation(.rejoin, from: "pg1", to: "pg2")
        v.leaderIsPrimary = true
        if case .rejoin = HADecision.next(v) {} else { Issue.record("an approved rejoin rejoins") }
    }

    /// A free key is taken only by the last primary (or by anyone before there
    /// was one): an old primary restarted while its successor's lease had
    /// lapsed took the key back and brought back its older history.
    @Test func onlyTheLastPrimaryStartsOrTakesAFreeKey() {
        var restarted = view(nil, leader: nil)
        restarted.lastPrimary = "pg2"
        if case .wait(let why) = HADecision.next(restarted) {
            #expect(why.contains("pg2 was the last primary"), "\(why)")
        } else { Issue.record("a node that was not the last primary must not start: \(HADecision.next(restarted))") }
        restarted.lastPrimary = "pg1"
        if case .start = HADecision.next(restarted) {} else { Issue.record("the last primary starts: \(HADecision.next(restarted))") }
        var running = view(.writablePrimary, leader: nil)
        running.lastPrimary = "pg2"
        if case .demote(let why) = HADecision.next(running) {
            #expect(why.contains("pg2 was the primary after this node"), "\(why)")
        } else { Issue.record("an older primary must not take the free key: \(HADecision.next(running))") }
        running.lastPrimary = "pg1"
        #expect(HADecision.next(running) == .acquire)
    }

    /// The old primary of a switchover, stopped and fenced with the key given
    /// up: it waits for the new primary to take the key (it used to take the
    /// role back at once, as the last primary, and stop writes again, in a
    /// loop whose final checkpoint ran ahead of the new primary); only past
    /// the hand-over limit does it take the role back.
    @Test func anOldPrimaryWaitsForTheHandOverBeforeTakingItsRoleBack() {
        var old = view(nil, mode: .manual, leader: nil, fenced: true)
        old.lastPrimary = "pg1"
        var handover = operation(.switchover, from: "pg1", to: "pg2", state: .writesStopped)
        handover.updatedAt = now.addingTimeInterval(-5)
        old.approved = handover
        if case .wait(let why) = HADecision.next(old) {
            #expect(why.contains("switchover-00000001: writes stopped here; pg2 takes the leader key"), "\(why)")
        } else { Issue.record("an old primary must not take its role back while the new one takes over: \(HADecision.next(old))") }
        handover.updatedAt = now.addingTimeInterval(-HADecision.handoverLimit - 1)
        old.approved = handover
        if case .reclaim(let why) = HADecision.next(old) {
            #expect(why.contains("pg2 did not take the leader key within 60 s"), "\(why)")
        } else { Issue.record("past the limit the old primary takes its role back: \(HADecision.next(old))") }
        // Once the new primary holds the key, the old one follows it as before.
        old.leader = LeaderRecord(node: "pg2", since: now)
        old.leaderIsPrimary = true
        handover.state = .promoted
        old.approved = handover
        if case .rejoin = HADecision.next(old) {} else { Issue.record("the old primary rejoins the new one: \(HADecision.next(old))") }
        // A switchover that ended failed is no longer active: the last primary reclaims as after etcd trouble.
        old.leader = nil
        old.approved = nil
        if case .reclaim = HADecision.next(old) {} else { Issue.record("\(HADecision.next(old))") }
    }
}
