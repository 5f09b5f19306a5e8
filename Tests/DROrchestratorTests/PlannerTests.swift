import DRSpec
import DRStatus
import Foundation
import Testing
@testable import DROrchestrator

let now = Date(timeIntervalSince1970: 1_800_000_000)

/// An LSN written as PostgreSQL writes it (tests only use valid ones).
func lsn(_ text: String) -> LSN { LSN(text) ?? LSN(UInt64.max) }

func spec(maxDataLoss: DataLossLimit = DataLossLimit(bytes: nil, time: .minutes(1))) throws -> Spec {
    var spec = try SpecParser.parse(yaml: """
        name: orders
        environment: prod
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "15"}
        nodes:
          - {name: pg1, region: us-east-1, host: 127.0.0.1, port: 1, passwordFile: p}
          - {name: pg2, region: us-east-2, host: 127.0.0.1, port: 2, passwordFile: p}
        """).spec
    spec.failover.maxDataLoss = maxDataLoss
    return spec
}

func primary(_ name: String = "pg1", flush: String = "0/5000000") -> NodeSample {
    var s = NodeSample(name: name, region: "us-east-1", host: "127.0.0.1", port: 1, reachable: true)
    s.role = .primary
    s.flushLSN = LSN(flush)
    s.serverTime = now
    return s
}

func standby(_ name: String = "pg2", replay: String = "0/5000000", heartbeatAge: Double? = 1, streaming: Bool = true,
             paused: Bool = false) -> NodeSample {
    var s = NodeSample(name: name, region: "us-east-2", host: "127.0.0.1", port: 2, reachable: true)
    s.role = .standby
    s.replayLSN = LSN(replay)
    s.serverTime = now
    s.heartbeatAt = heartbeatAge.map { now - $0 }
    s.replayPaused = paused
    s.walReceiver = .init(status: streaming ? .streaming : .waiting, senderHost: nil, senderPort: nil, slotName: nil, lastMessageAt: nil)
    return s
}

func down(_ name: String) -> NodeSample {
    NodeSample(name: name, region: name == "pg1" ? "us-east-1" : "us-east-2", host: "127.0.0.1", port: 1,
               reachable: false, error: "connection refused")
}

func report(_ nodes: NodeSample...) -> StatusReport {
    StatusEvaluator.evaluate(nodes, thresholds: SpecThresholds.value, at: now)
}

enum SpecThresholds {
    static let value = Thresholds(replicationLag: .seconds(300), cpuPercent: 80, freeStorage: .gigabytes(10),
                                  connectionsPercent: 80, latency: TimeSpan(milliseconds: 200))
}

@Suite struct FailoverPlannerTests {
    @Test func primaryLostStandbyHealthyIsPlannedWithWarning() throws {
        let seen = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 1)
        let plan = try FailoverPlanner.plan(report: report(down("pg1"), standby()), spec: spec(), id: "f1", now: now,
                                            acceptDataLoss: false, lastKnownPrimary: seen).get()
        #expect(plan.from == "pg1" && plan.to == "pg2")
        #expect(plan.steps == [.fence, .promote, .verify, .repoint, .notify])
        #expect(!plan.oldPrimaryReachable)
        #expect(plan.warnings.contains { $0.contains("NOT fenced") && $0.contains("fenceTimeout") })
        #expect(plan.expiresAt == now.addingTimeInterval(15 * 60))
        #expect(!plan.acceptedDataLoss)
    }

    @Test func reachablePrimaryIsMeasuredAndFenced() throws {
        let plan = try FailoverPlanner.plan(report: report(primary(flush: "0/5001000"), standby(replay: "0/5000000")),
                                            spec: spec(), id: "f2", now: now, acceptDataLoss: false).get()
        #expect(plan.estimatedLossBytes == 4096)
        #expect(plan.oldPrimaryReachable)
        #expect(plan.warnings.contains { $0.contains("switchover") })
    }

    @Test func refusedWhenTheReplicaIsDownOrNotAStandby() throws {
        if case .failure(let refusal) = FailoverPlanner.plan(report: report(primary(), down("pg2")), spec: try spec(), id: "x", now: now, acceptDataLoss: true) {
            #expect(refusal.reason.contains("pg2 is unreachable"))
        } else { Issue.record("a failover to a dead replica must be refused") }
        if case .failure(let refusal) = FailoverPlanner.plan(report: report(primary(), primary("pg2")), spec: try spec(), id: "x", now: now, acceptDataLoss: true) {
            #expect(refusal.reason.contains("not a standby") || refusal.reason.contains("no node"))
        } else { Issue.record("two primaries: nothing to promote") }
    }

    @Test func rpoGuardRefusesUnlessAccepted() throws {
        let tight = try spec(maxDataLoss: DataLossLimit(bytes: .megabytes(1), time: nil))
        let lagging = report(primary(flush: "0/9000000"), standby(replay: "0/5000000"))
        guard case .failure(let refusal) = FailoverPlanner.plan(report: lagging, spec: tight, id: "x", now: now, acceptDataLoss: false) else {
            Issue.record("64 MB behind with a 1 MB limit must be refused")
            return
        }
        #expect(refusal.reason.contains("exceeds failover.maxDataLoss"))
        #expect(refusal.hint.contains("--accept-data-loss"))
        let accepted = try FailoverPlanner.plan(report: lagging, spec: tight, id: "x", now: now, acceptDataLoss: true).get()
        #expect(accepted.acceptedDataLoss, "the acceptance is recorded in the plan")
    }

    @Test func primaryGoneWithoutEvidenceIsUnknownAndRefused() throws {
        let gone = report(down("pg1"), standby())
        guard case .failure(let refusal) = FailoverPlanner.plan(report: gone, spec: try spec(), id: "x", now: now, acceptDataLoss: false) else {
            Issue.record("unknown loss must be refused without --accept-data-loss")
            return
        }
        #expect(refusal.reason.contains("unknown"))
        #expect(try FailoverPlanner.plan(report: gone, spec: spec(), id: "x", now: now, acceptDataLoss: true).get().acceptedDataLoss)
    }

    @Test func primaryGoneUsesTheAgentsLastSightOfIt() throws {
        var replica = standby(replay: "0/5000000")
        replica.receiveLSN = LSN("0/5000000")
        let gone = report(down("pg1"), replica)
        let caughtUp = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 2)
        let plan = try FailoverPlanner.plan(report: gone, spec: spec(), id: "x", now: now, acceptDataLoss: false,
                                            lastKnownPrimary: caughtUp).get()
        #expect(plan.estimatedLossBytes == 0)
        // What the primary wrote after the last sight is unknown: the time is an upper bound, the sight's age.
        #expect(plan.estimatedLossSeconds == 2)
        #expect(plan.evidenceAt == now - 2)
        #expect(plan.warnings.contains { $0.contains("last sight of pg1") })
        let ahead = PrimaryPosition(node: "pg1", flushLSN: lsn("0/9000000"), at: now - 2)
        let tight = try spec(maxDataLoss: DataLossLimit(bytes: .megabytes(1), time: nil))
        guard case .failure(let refusal) = FailoverPlanner.plan(report: gone, spec: tight, id: "x", now: now, acceptDataLoss: false,
                                                                lastKnownPrimary: ahead) else {
            Issue.record("64 MB the replica never received, with a 1 MB limit, must be refused")
            return
        }
        #expect(refusal.reason.contains("64 MB"))
    }
}

@Suite struct StaleEvidenceTests {
    /// The fault suite's case: the agent was down, replication was cut, writes
    /// went on for 20 s, then the primary was lost. The last sight of the
    /// primary says 0 B behind; it is 20 s old and must not be believed.
    @Test func aLastSightOlderThanTheFreshnessWindowMakesTheLossUnknown() throws {
        var replica = standby(replay: "0/5000000")
        replica.receiveLSN = LSN("0/5000000")
        let gone = report(down("pg1"), replica)
        let old = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 20)
        var fiveSeconds = try spec(maxDataLoss: DataLossLimit(bytes: nil, time: .seconds(5)))
        fiveSeconds.monitoring.interval = .seconds(2)
        #expect(FailoverPlanner.evidenceFreshness(fiveSeconds) == 6)
        guard case .failure(let refusal) = FailoverPlanner.plan(report: gone, spec: fiveSeconds, id: "x", now: now,
                                                                acceptDataLoss: false, lastKnownPrimary: old) else {
            Issue.record("a 20 s old sight must not estimate 0 B")
            return
        }
        #expect(refusal.reason.contains("unknown"))
        let accepted = try FailoverPlanner.plan(report: gone, spec: fiveSeconds, id: "x", now: now, acceptDataLoss: true,
                                                lastKnownPrimary: old).get()
        #expect(accepted.estimatedLossBytes == nil && accepted.estimatedLossSeconds == nil)
        #expect(accepted.warnings.contains { $0.contains("20s old") })
        #expect(accepted.evidenceAt == now - 20, "the plan shows how old its evidence is")
    }

    /// The agent kept watching after the primary went silent (each round moves
    /// `checkedAt`): the last sight stays evidence, its age an upper bound.
    @Test func aSightKeptCurrentByTheAgentStaysEvidence() throws {
        var replica = standby(replay: "0/5000000")
        replica.receiveLSN = LSN("0/5000000")
        var spec = try spec(maxDataLoss: DataLossLimit(bytes: nil, time: .seconds(30)))
        spec.monitoring.interval = .seconds(1)
        let watched = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 12, checkedAt: now - 1)
        let plan = try FailoverPlanner.plan(report: report(down("pg1"), replica), spec: spec, id: "x", now: now,
                                            acceptDataLoss: false, lastKnownPrimary: watched).get()
        #expect(plan.estimatedLossBytes == 0)
        #expect(plan.estimatedLossSeconds == 12)
        let abandoned = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 12, checkedAt: now - 10)
        guard case .failure = FailoverPlanner.plan(report: report(down("pg1"), replica), spec: spec, id: "x", now: now,
                                                   acceptDataLoss: false, lastKnownPrimary: abandoned) else {
            Issue.record("an agent that stopped looking 10 s ago is no witness: unknown, refused")
            return
        }
    }

    /// Quorum mode: the primary's record bounds its writes (its lease ends by
    /// `writesEndBy`). Past that bound the record is final however old; before
    /// it, and stale, the loss is not known yet and the refusal says when to retry.
    @Test func aQuorumRecordIsFinalOnceTheLeaseHasEnded() throws {
        var replica = standby(replay: "0/5000000")
        replica.receiveLSN = LSN("0/5000000")
        var spec = try spec(maxDataLoss: DataLossLimit(bytes: nil, time: .seconds(30)))
        spec.monitoring.interval = .seconds(1)
        let final = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 600, writesEndBy: now - 597)
        let plan = try FailoverPlanner.plan(report: report(down("pg1"), replica), spec: spec, id: "x", now: now,
                                            acceptDataLoss: false, lastKnownPrimary: final).get()
        #expect(plan.estimatedLossBytes == 0)
        #expect(plan.estimatedLossSeconds == 3, "the unseen time is the lease's bound, not the record's age")
        let alive = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 10, writesEndBy: now + 2)
        guard case .failure(let refusal) = FailoverPlanner.plan(report: report(down("pg1"), replica), spec: spec, id: "x", now: now,
                                                                acceptDataLoss: false, lastKnownPrimary: alive) else {
            Issue.record("a stale record whose lease may still be alive is no final evidence")
            return
        }
        #expect(refusal.reason.contains("plan again then"))
    }

    @Test func aFreshSightCountsItsAgeAgainstTheLimit() throws {
        var replica = standby(replay: "0/5000000")
        replica.receiveLSN = LSN("0/5000000")
        var spec = try spec(maxDataLoss: DataLossLimit(bytes: nil, time: .seconds(3)))
        spec.monitoring.interval = .seconds(2)
        let sight = PrimaryPosition(node: "pg1", flushLSN: lsn("0/5000000"), at: now - 4)
        guard case .failure = FailoverPlanner.plan(report: report(down("pg1"), replica), spec: spec, id: "x", now: now,
                                                   acceptDataLoss: false, lastKnownPrimary: sight) else {
            Issue.record("4 s since the last sight may hide 4 s of writes: over a 3 s limit")
            return
        }
    }
}

@Suite struct SwitchoverAndRejoinPlannerTests {
    @Test func switchoverNeedsAStreamingCaughtUpStandby() throws {
        let plan = try SwitchoverPlanner.plan(report: report(primary(), standby()), spec: spec(), id: "s", now: now).get()
        #expect(plan.steps.first == .stopWrites)
        #expect(plan.steps.contains(.waitCatchUp))
        for (bad, expected) in [
            (report(primary(), standby(streaming: false)), "not streaming"),
            (report(primary(), standby(paused: true)), "paused"),
            (report(primary(flush: "0/9000000"), standby(replay: "0/5000000")), "lags"),
            (report(down("pg1"), standby()), "exactly one reachable primary"),
            (report(primary(), down("pg2")), "no reachable standby"),
        ] {
            guard case .failure(let refusal) = SwitchoverPlanner.plan(report: bad, spec: try spec(), id: "s", now: now) else {
                Issue.record("expected a refusal: \(expected)")
                continue
            }
            #expect(refusal.reason.contains(expected), "\(refusal.reason)")
        }
    }

    @Test func rejoinRefusesAWritablePrimary() throws {
        guard case .failure(let refusal) = RejoinPlanner.plan(node: "pg1", report: report(primary(), primary("pg2")), spec: try spec(), id: "r", now: now) else {
            Issue.record("rejoin of a writable primary must be refused")
            return
        }
        #expect(refusal.reason.contains("still a writable primary"))
        let plan = try RejoinPlanner.plan(node: "pg1", report: report(down("pg1"), primary("pg2")), spec: spec(), id: "r", now: now).get()
        #expect(plan.from == "pg1" && plan.to == "pg2")
        #expect(plan.steps == [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming])
        guard case .failure = RejoinPlanner.plan(node: "pg9", report: report(down("pg1"), primary("pg2")), spec: try spec(), id: "r", now: now) else {
            Issue.record("unknown node must be refused")
            return
        }
        guard case .failure = RejoinPlanner.plan(node: "pg1", report: report(down("pg1"), down("pg2")), spec: try spec(), id: "r", now: now) else {
            Issue.record("no primary to follow must be refused")
            return
        }
    }
}

@Suite struct StepMachineTests {
    let failover = OperationPlan(id: "f", kind: .failover, createdAt: now, from: "pg1", to: "pg2", oldPrimaryReachable: false,
                                 steps: [.fence, .promote, .verify, .repoint, .notify])
    let calm = StepMachine.Observation(oldPrimaryWritable: false, candidateReachable: true, candidateIsPrimary: false)

    /// A controller killed after any number of finished steps resumes with the next one.
    @Test(arguments: 0...5)
    func resumesAfterACrashBetweenAnyTwoSteps(finishedCount: Int) {
        let finished = Set(failover.steps.prefix(finishedCount))
        var observed = calm
        if finished.contains(.promote) { observed.candidateIsPrimary = true }
        let decision = StepMachine.next(plan: failover, finished: finished, observed: observed)
        if finishedCount == failover.steps.count {
            #expect(decision == .done)
        } else {
            #expect(decision == .run(failover.steps[finishedCount]))
        }
    }

    @Test func aPromotionThatHappenedButWasNotJournaledIsRecognised() {
        let observed = StepMachine.Observation(oldPrimaryWritable: false, candidateReachable: true, candidateIsPrimary: true)
        #expect(StepMachine.next(plan: failover, finished: [.fence], observed: observed)
            == .markDone(.promote, because: "pg2 is already a primary"))
    }

    @Test func thePrimaryComingBackIsFencedAgain() {
        let back = StepMachine.Observation(oldPrimaryWritable: true, candidateReachable: true, candidateIsPrimary: false)
        #expect(StepMachine.next(plan: failover, finished: [.fence], observed: back) == .run(.fence),
                "never promote beside a live primary")
        var afterPromotion = back
        afterPromotion.candidateIsPrimary = true
        #expect(StepMachine.next(plan: failover, finished: [.fence, .promote], observed: afterPromotion) == .run(.fence),
                "two writable primaries: fence the old one before anything else")
    }

    @Test func anUnreachableCandidateBlocksPromotion() {
        let gone = StepMachine.Observation(oldPrimaryWritable: false, candidateReachable: false, candidateIsPrimary: false)
        guard case .blocked(let reason) = StepMachine.next(plan: failover, finished: [.fence], observed: gone) else {
            Issue.record("promotion of an unreachable node must block")
            return
        }
        #expect(reason.contains("nothing was promoted"))
    }

    @Test func switchoverAndRejoinRunInOrder() {
        let switchover = OperationPlan(id: "s", kind: .switchover, createdAt: now, from: "pg1", to: "pg2", oldPrimaryReachable: true,
                                       steps: [.stopWrites, .waitCatchUp, .promote, .verify, .restartOldAsStandby, .repoint, .notify])
        #expect(StepMachine.next(plan: switchover, finished: [], observed: calm) == .run(.stopWrites))
        #expect(StepMachine.next(plan: switchover, finished: [.stopWrites], observed: calm) == .run(.waitCatchUp))
        let promoted = StepMachine.Observation(oldPrimaryWritable: false, candidateReachable: true, candidateIsPrimary: true)
        #expect(StepMachine.next(plan: switchover, finished: [.stopWrites, .waitCatchUp], observed: promoted)
            == .markDone(.promote, because: "pg2 is already a primary"))
        let rejoin = OperationPlan(id: "r", kind: .rejoin, createdAt: now, from: "pg1", to: "pg2", oldPrimaryReachable: false,
                                   steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming])
        #expect(StepMachine.next(plan: rejoin, finished: [.stopNode, .resync], observed: calm) == .run(.configureStandby))
        #expect(StepMachine.next(plan: rejoin, finished: Set(rejoin.steps), observed: calm) == .done)
    }

    let switchover = OperationPlan(id: "s", kind: .switchover, createdAt: now, from: "pg1", to: "pg2", oldPrimaryReachable: true,
                                   steps: [.stopWrites, .waitCatchUp, .promote, .verify, .restartOldAsStandby, .repoint, .notify])

    @Test func aSwitchoverWhoseStandbyVanishesBeforePromotionRollsBack() {
        let gone = StepMachine.Observation(oldPrimaryWritable: false, candidateReachable: false, candidateIsPrimary: false)
        guard case .rollBack(let reason) = StepMachine.next(plan: switchover, finished: [.stopWrites], observed: gone) else {
            Issue.record("no standby to promote: give the primary back")
            return
        }
        #expect(reason.contains("pg2 became unreachable"))
        // Before writes stopped nothing changed: the first step runs (and fails on its own).
        #expect(StepMachine.next(plan: switchover, finished: [], observed: gone) == .run(.stopWrites))
    }

    @Test func aSwitchoverNeverPromotesBesideAWritableOldPrimary() {
        let back = StepMachine.Observation(oldPrimaryWritable: true, candidateReachable: true, candidateIsPrimary: false)
        guard case .rollBack = StepMachine.next(plan: switchover, finished: [.stopWrites, .waitCatchUp], observed: back) else {
            Issue.record("the old primary takes writes again before promotion: roll back, do not promote")
            return
        }
        let both = StepMachine.Observation(oldPrimaryWritable: true, candidateReachable: true, candidateIsPrimary: true)
        #expect(StepMachine.next(plan: switchover, finished: [.stopWrites, .waitCatchUp, .promote, .verify], observed: both)
            == .run(.fence), "after promotion a writable old primary is fenced at once")
    }

    @Test func aRejoinOfAWritableNodeOrWithoutAPrimaryIsBlocked() {
        let rejoin = OperationPlan(id: "r", kind: .rejoin, createdAt: now, from: "pg1", to: "pg2", oldPrimaryReachable: false,
                                   steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming])
        let writable = StepMachine.Observation(oldPrimaryWritable: true, candidateReachable: true, candidateIsPrimary: true)
        guard case .blocked = StepMachine.next(plan: rejoin, finished: [], observed: writable) else {
            Issue.record("rejoining a writable primary throws its writes away")
            return
        }
        guard case .blocked = StepMachine.next(plan: rejoin, finished: [.stopNode], observed: calm) else {
            Issue.record("rewinding from a node that is not a primary must wait")
            return
        }
    }
}
